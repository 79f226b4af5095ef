import 'reflect-metadata';

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ClassConstructor } from 'class-transformer';
import { AppError } from '../common/errors/app-error';
import { validateBody } from '../common/validation/validate-body';
import { DialogflowCxWebhookRequest } from './dialogflow-cx/dialogflow-cx.request';
import { DialogflowEsWebhookRequest } from './dialogflow-es/dialogflow-es.request';
import { GenericWebhookRequest } from './generic/generic.request';
import { LexV2Event } from './lex-v2/lex-v2.request';
import { RasaActionCall } from './rasa/rasa.request';

/**
 * Every bounded string and list field the service reads: at its bound the request passes, one past it the
 * request is refused with VALIDATION_FAILED naming the field.
 */
const FIXTURES = join(__dirname, '..', '..', 'test', 'fixtures');
const fixture = (name: string): Record<string, unknown> =>
  JSON.parse(readFileSync(join(FIXTURES, name), 'utf8')) as Record<string, unknown>;

type Path = readonly (string | number)[];

interface Bound {
  /** Where the field is, as the error names it (`queryResult.outputContexts.0.name`). */
  readonly path: Path;
  readonly max: number;
  /** A value of `length` characters or items that passes every other rule of the field. */
  readonly make: (length: number) => unknown;
}

interface PlatformBounds {
  readonly dto: ClassConstructor<object>;
  readonly fixture: string;
  readonly bounds: readonly Bound[];
}

const text = (length: number) => 'x'.repeat(length);
const suffixed = (prefix: string) => (length: number) => prefix + 'x'.repeat(length - prefix.length);
const list = (item: unknown) => (length: number) => Array.from({ length }, () => structuredClone(item));

const ES_CONTEXT = 'projects/project-id/agent/sessions/session-id/contexts/';
const CX_PARAMETER = { displayName: 'user_id', state: 'FILLED', value: '1' };

const PLATFORMS: Record<string, PlatformBounds> = {
  'dialogflow-es': {
    dto: DialogflowEsWebhookRequest,
    fixture: 'dialogflow-es-readme-request.json',
    bounds: [
      { path: ['responseId'], max: 512, make: text },
      { path: ['queryResult', 'queryText'], max: 1024, make: text },
      { path: ['queryResult', 'languageCode'], max: 35, make: text },
      { path: ['queryResult', 'intent', 'displayName'], max: 512, make: text },
      { path: ['queryResult', 'outputContexts'], max: 100, make: list({ name: `${ES_CONTEXT}c` }) },
      { path: ['queryResult', 'outputContexts', 0, 'name'], max: 1024, make: suffixed(ES_CONTEXT) },
    ],
  },
  'dialogflow-cx': {
    dto: DialogflowCxWebhookRequest,
    fixture: 'dialogflow-cx/form-parameter-invalid.json',
    bounds: [
      { path: ['detectIntentResponseId'], max: 512, make: text },
      { path: ['languageCode'], max: 35, make: text },
      { path: ['fulfillmentInfo', 'tag'], max: 512, make: text },
      { path: ['intentInfo', 'displayName'], max: 512, make: text },
      { path: ['pageInfo', 'currentPage'], max: 1024, make: text },
      { path: ['pageInfo', 'formInfo', 'parameterInfo'], max: 100, make: list(CX_PARAMETER) },
      { path: ['pageInfo', 'formInfo', 'parameterInfo', 0, 'displayName'], max: 512, make: text },
      { path: ['text'], max: 1024, make: text },
      { path: ['transcript'], max: 1024, make: text },
      { path: ['dtmfDigits'], max: 1024, make: (length) => '1'.repeat(length) },
    ],
  },
  'lex-v2': {
    dto: LexV2Event,
    fixture: 'lex-v2/get-account-balance-fulfillment.json',
    bounds: [
      { path: ['inputTranscript'], max: 4096, make: text },
      { path: ['sessionState', 'intent', 'name'], max: 512, make: text },
      { path: ['sessionState', 'activeContexts'], max: 20, make: list({ name: 'ctx' }) },
      { path: ['sessionState', 'activeContexts', 0, 'name'], max: 100, make: text },
      { path: ['sessionState', 'originatingRequestId'], max: 512, make: text },
    ],
  },
  rasa: {
    dto: RasaActionCall,
    fixture: 'rasa/action_get_account_balance.json',
    bounds: [
      { path: ['next_action'], max: 512, make: text },
      { path: ['tracker', 'latest_message', 'text'], max: 16_384, make: text },
      { path: ['tracker', 'latest_message', 'message_id'], max: 512, make: text },
      { path: ['tracker', 'latest_message', 'entities'], max: 100, make: list({ entity: 'e', value: 1 }) },
      { path: ['tracker', 'latest_message', 'entities', 0, 'entity'], max: 512, make: text },
      { path: ['tracker', 'events'], max: 10_000, make: list({ event: 'action', timestamp: 1 }) },
      { path: ['tracker', 'active_loop', 'name'], max: 512, make: text },
    ],
  },
  generic: {
    dto: GenericWebhookRequest,
    fixture: 'generic/get-account-balance.json',
    bounds: [
      { path: ['intent'], max: 512, make: text },
      { path: ['languageCode'], max: 35, make: (length) => `en${'-abcdefgh'.repeat(4)}`.slice(0, length) },
      { path: ['text'], max: 16_384, make: text },
      { path: ['contexts'], max: 100, make: list({ name: 'c' }) },
    ],
  },
};

/** The fixture with `value` at `path`, creating objects and one-element arrays on the way. */
function withValue(body: Record<string, unknown>, path: Path, value: unknown): Record<string, unknown> {
  const copy = structuredClone(body);
  let parent = copy as Record<string | number, unknown>;
  for (const [index, step] of path.slice(0, -1).entries()) {
    if (parent[step] === undefined || parent[step] === null) {
      parent[step] = typeof path[index + 1] === 'number' ? [{}] : {};
    }
    parent = parent[step] as Record<string | number, unknown>;
  }
  parent[path.at(-1)!] = value;
  return copy;
}

function refusal(dto: ClassConstructor<object>, body: unknown): AppError | undefined {
  try {
    validateBody(dto, body, 'Request');
    return undefined;
  } catch (error: unknown) {
    if (error instanceof AppError) return error;
    throw error;
  }
}

describe.each(Object.entries(PLATFORMS))('bounded fields of %s requests', (_name, platform) => {
  const base = fixture(platform.fixture);

  it.each(platform.bounds.map((bound) => [bound.path.join('.'), bound] as const))(
    '%s: accepted at its bound, refused past it with 400 naming the field',
    (field, bound) => {
      expect(refusal(platform.dto, withValue(base, bound.path, bound.make(bound.max)))).toBeUndefined();
      const error = refusal(platform.dto, withValue(base, bound.path, bound.make(bound.max + 1)));
      expect(error?.code).toBe('VALIDATION_FAILED');
      expect(error?.details.map((detail) => detail.field)).toEqual([field]);
      expect(error?.details[0].problem).toContain(String(bound.max));
    },
  );
});
