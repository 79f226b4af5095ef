import 'reflect-metadata';

import { AppError } from '../common/errors/app-error';
import { SESSION_ID_MAX_LENGTH } from '../common/limits';
import { validateBody } from '../common/validation/validate-body';
import cxFixture from '../../test/fixtures/dialogflow-cx/get-account-balance.json';
import esFixture from '../../test/fixtures/dialogflow-es-readme-request.json';
import lexFixture from '../../test/fixtures/lex-v2/get-account-balance-fulfillment.json';
import rasaFixture from '../../test/fixtures/rasa/action_get_account_balance.json';
import { DialogflowCxWebhookRequest } from './dialogflow-cx/dialogflow-cx.request';
import { DialogflowEsWebhookRequest } from './dialogflow-es/dialogflow-es.request';
import { GenericWebhookRequest } from './generic/generic.request';
import { LexV2Event } from './lex-v2/lex-v2.request';
import { RasaActionCall } from './rasa/rasa.request';

/** Each platform's session id, `length` characters long, in an otherwise valid request. */
const cases = [
  [
    'Dialogflow ES',
    DialogflowEsWebhookRequest,
    (n: number) => ({ ...esFixture, session: `projects/p/agent/sessions/${'s'.repeat(n - 26)}` }),
  ],
  [
    'Dialogflow CX',
    DialogflowCxWebhookRequest,
    (n: number) => ({
      ...cxFixture,
      sessionInfo: {
        ...cxFixture.sessionInfo,
        session: `projects/p/locations/l/agents/a/sessions/${'s'.repeat(n - 41)}`,
      },
    }),
  ],
  ['Lex V2', LexV2Event, (n: number) => ({ ...lexFixture, sessionId: 's'.repeat(n) })],
  ['Rasa', RasaActionCall, (n: number) => ({ ...rasaFixture, sender_id: 's'.repeat(n) })],
  ['generic', GenericWebhookRequest, (n: number) => ({ sessionId: 's'.repeat(n), intent: 'GetAccountBalance' })],
] as const;

describe(`one session id limit (${SESSION_ID_MAX_LENGTH} characters) on every platform`, () => {
  it.each(cases)('%s accepts it and refuses one more', (_platform, dto, body) => {
    expect(() => validateBody(dto as never, body(SESSION_ID_MAX_LENGTH), 'request')).not.toThrow();
    let refused: unknown;
    try {
      validateBody(dto as never, body(SESSION_ID_MAX_LENGTH + 1), 'request');
    } catch (error: unknown) {
      refused = error;
    }
    expect(refused).toBeInstanceOf(AppError);
    expect((refused as AppError).code).toBe('VALIDATION_FAILED');
  });
});
