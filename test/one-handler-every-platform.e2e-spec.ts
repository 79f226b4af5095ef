import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import request from 'supertest';
import type { FulfillmentRequest } from '../src/fulfillment';
import { AccountBalanceHandler } from '../src/intents/banking/handlers/account-balance.intent-handler';
import { LOCAL_DEV_AUTH, README_REQUEST } from './support/dialogflow-es.fixtures';
import { startTestApp, TestApp } from './support/test-app';

const fixture = (path: string): unknown => JSON.parse(readFileSync(join(__dirname, 'fixtures', path), 'utf8'));

/** The point of the product: one @IntentHandler instance answers every platform, unchanged. */
describe('one handler, every platform (real HTTP, real PostgreSQL)', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(() => t.close());

  it('the same AccountBalanceHandler object answers ES, CX, Lex V2, Rasa and generic requests', async () => {
    const handler = t.app.get(AccountBalanceHandler);
    const seen: FulfillmentRequest[] = [];
    const original = handler.handle.bind(handler);
    const spy = jest.spyOn(handler, 'handle').mockImplementation((req) => {
      seen.push(req);
      return original(req);
    });
    try {
      const calls: [string, unknown, (body: Record<string, unknown>) => string][] = [
        ['dialogflow-es', README_REQUEST, (b) => String(b.fulfillmentText)],
        [
          'dialogflow-cx',
          fixture('dialogflow-cx/get-account-balance.json'),
          (b) => JSON.stringify(b.fulfillmentResponse),
        ],
        ['lex-v2', fixture('lex-v2/get-account-balance-fulfillment.json'), (b) => JSON.stringify(b.messages)],
        ['rasa', fixture('rasa/action_get_account_balance.json'), (b) => JSON.stringify(b.responses)],
        ['generic', fixture('generic/get-account-balance.json'), (b) => String(b.text)],
      ];
      for (const [platform, body, textOf] of calls) {
        const response = await request(t.baseUrl)
          .post(`/v1/webhooks/${platform}`)
          .set(LOCAL_DEV_AUTH)
          .send(body as object)
          .expect(200);
        expect(textOf(response.body as Record<string, unknown>)).toContain('$3,247.82');
      }
      expect(spy).toHaveBeenCalledTimes(5);
      expect(seen.map((req) => req.platform)).toEqual(['dialogflow-es', 'dialogflow-cx', 'lex-v2', 'rasa', 'generic']);
      for (const req of seen) {
        expect(req.intent).toBe('GetAccountBalance');
        expect(req.parameters).toMatchObject({ user_id: '12345', account_type: 'checking' });
      }
    } finally {
      spy.mockRestore();
    }
  });
});
