import request from 'supertest';
import { declinedTransfer, esRequest, LOCAL_DEV_AUTH } from './support/dialogflow-es.fixtures';
import { eventually } from './support/eventually';
import { queryTestDatabase } from './support/test-database';
import { startTestApp, TestApp } from './support/test-app';

type Row = {
  request_id: string;
  platform: string;
  intent: string;
  caller_id: string;
  outcome: string;
  duration_ms: number;
  budget_ms: number;
};

/** The turn log the operator console lists: every turn of the real app, written off the request path. */
describe('turn log (real HTTP, real PostgreSQL)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ env: { TURN_LOG_FLUSH_MS: '100' } });
  });
  afterAll(() => t.close());

  const rows = (requestId: string) =>
    queryTestDatabase<Row>(
      t.database.url,
      `SELECT request_id, platform, intent, caller_id, outcome, duration_ms, budget_ms
         FROM turn_log WHERE request_id = $1 ORDER BY id`,
      [requestId],
    );

  it('keeps a row per turn: platform, intent, caller, outcome, duration and budget', async () => {
    const body = esRequest('GetAccountBalance', { user_id: '12345', account_type: 'checking' });
    await request(t.baseUrl).post('/v1/webhooks/dialogflow-es').set(LOCAL_DEV_AUTH).send(body).expect(200);
    await request(t.baseUrl)
      .post('/v1/webhooks/generic')
      .set(LOCAL_DEV_AUTH)
      .send({ requestId: 'generic-turn-log-1', sessionId: 's-1', intent: 'NoSuchIntent' })
      .expect(200);
    await eventually(async () => {
      const [es] = await rows(String(body.responseId));
      expect(es).toMatchObject({
        platform: 'dialogflow-es',
        intent: 'GetAccountBalance',
        caller_id: 'local-dev',
        outcome: 'fulfilled',
      });
      expect(es.duration_ms).toBeGreaterThan(0);
      // Dialogflow's 5 s, less the margin kept for the reply to travel back.
      expect(es.budget_ms).toBeGreaterThan(4000);
      expect(es.budget_ms).toBeLessThan(5000);
      expect(await rows('generic-turn-log-1')).toEqual([
        expect.objectContaining({ platform: 'generic', intent: 'unknown', outcome: 'fallback' }),
      ]);
    });
  });

  it('shows a retried state-changing turn once as run and once as replayed', async () => {
    const transfer = declinedTransfer();
    for (let i = 0; i < 2; i++) {
      await request(t.baseUrl).post('/v1/webhooks/dialogflow-es').set(LOCAL_DEV_AUTH).send(transfer).expect(200);
    }
    await eventually(async () =>
      expect((await rows(String(transfer.responseId))).map((row) => row.outcome)).toEqual(['fulfilled', 'replayed']),
    );
  });
});
