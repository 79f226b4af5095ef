import request from 'supertest';
import { LOCAL_DEV_AUTH } from './support/dialogflow-es.fixtures';
import { eventually } from './support/eventually';
import { genericTurnKey } from './support/generic-turns';
import { startTestApp, TestApp } from './support/test-app';
import { queryTestDatabase } from './support/test-database';

type Json = Record<string, unknown>;

/**
 * A request id used again once its idempotency record has expired (IDEMPOTENCY_TTL_HOURS): by a bot that reuses ids,
 * or for another customer of the same bot. What the handlers stored under the turn's key belongs to the first request.
 */
describe('a request id reused for another request after its idempotency record expired (real HTTP, real PostgreSQL)', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp({ env: { ASYNC_POLL_INTERVAL_MS: '500' } });
  });
  afterAll(() => t.close());

  const post = async (body: Json): Promise<Json> =>
    (await request(t.baseUrl).post('/v1/webhooks/generic').set(LOCAL_DEV_AUTH).send(body).expect(200)).body as Json;

  /** As after IDEMPOTENCY_TTL_HOURS (and FULFILLMENT_RESULT_TTL_HOURS): the turn's records are out of date. */
  async function expire(requestId: string): Promise<void> {
    const key = genericTurnKey(requestId);
    await queryTestDatabase(
      t.database.url,
      `UPDATE idempotency_records SET expires_at = now() - interval '1 second' WHERE key = $1`,
      [key],
    );
    await queryTestDatabase(
      t.database.url,
      `UPDATE fulfillments SET expires_at = now() - interval '1 second' WHERE idempotency_key = $1`,
      [key],
    );
  }

  describe('RequestStatement', () => {
    const statementTurn = (requestId: string, parameters: Json): Json => ({
      requestId,
      sessionId: `statement-${requestId}`,
      intent: 'RequestStatement',
      parameters,
    });

    /** Sends the turn and waits for the result of its background job. */
    async function statement(requestId: string, parameters: Json): Promise<Json> {
      const acknowledged = await post(statementTurn(requestId, parameters));
      const id = (acknowledged.sessionParameters as Json).pendingFulfillmentId as string;
      return eventually(async () => {
        const polled = await request(t.baseUrl).get(`/v1/fulfillments/${id}`).set(LOCAL_DEV_AUTH).expect(200);
        expect(polled.body.status).toBe('completed');
        return polled.body.result as Json;
      });
    }

    const statementsUnder = (requestId: string) =>
      queryTestDatabase(
        t.database.url,
        `SELECT c.customer_number, s.archive_reference FROM statements s
           JOIN accounts a ON a.id = s.account_id JOIN customers c ON c.id = a.customer_id
          WHERE s.idempotency_key = $1`,
        [genericTurnKey(requestId)],
      );

    it("refuses another customer's request under the id, instead of answering with the first customer's statement", async () => {
      const requestId = 'statement-reused-by-another-customer';
      const first = await statement(requestId, { user_id: '12345', account_type: 'checking' });
      expect(first.text).toMatch(/^Your checking statement for the last 30 days is ready: .* Reference \S+\.$/);
      const reference = (first.payload as Json).statementReference as string;
      await expire(requestId);

      const reused = await statement(requestId, { user_id: '67890', account_type: 'checking' });
      // Before: customer 12345's figures (shown in euros) and statement reference, to customer 67890.
      expect(reused).toEqual({
        text: 'That request was already used for a different statement, so I did not make this one. Please ask me again.',
        failed: true,
        source: 'banking-api',
      });
      expect(JSON.stringify(reused)).not.toContain(reference);
      expect(await statementsUnder(requestId)).toEqual([{ customer_number: '12345', archive_reference: reference }]);
    });

    it('refuses the same account over another period; the same request run again gets its own statement', async () => {
      const requestId = 'statement-reused-for-another-period';
      const first = await statement(requestId, { user_id: '12345', account_type: 'savings', days: 30 });
      const reference = (first.payload as Json).statementReference;
      await expire(requestId);

      const longer = await statement(requestId, { user_id: '12345', account_type: 'savings', days: 90 });
      expect(longer).toMatchObject({ text: expect.stringMatching(/^That request was already used/), failed: true });
      await expire(requestId);
      const otherAccount = await statement(requestId, { user_id: '12345', account_type: 'checking', days: 30 });
      expect(otherAccount).toMatchObject({ text: expect.stringMatching(/^That request was already used/) });

      // The same request again (a job run again after a crash) is answered from what it recorded.
      await expire(requestId);
      const again = await statement(requestId, { user_id: '12345', account_type: 'savings', days: 30 });
      expect(again).toEqual(first);
      expect(await statementsUnder(requestId)).toEqual([{ customer_number: '12345', archive_reference: reference }]);
    });
  });

  describe('BookAppointment', () => {
    async function freeSlots(provider: string, count: number): Promise<{ date: string; time: string }[]> {
      const rows = await queryTestDatabase<{ starts_at: Date }>(
        t.database.url,
        `SELECT s.starts_at FROM appointment_slots s JOIN providers p ON p.id = s.provider_id
          WHERE p.slug = $1 AND s.starts_at > now() + interval '1 hour'
            AND NOT EXISTS (SELECT 1 FROM appointments a WHERE a.slot_id = s.id AND a.status = 'booked')
          ORDER BY s.starts_at LIMIT $2`,
        [provider, count],
      );
      return rows.map((row) => {
        const iso = row.starts_at.toISOString();
        return { date: iso.slice(0, 10), time: iso.slice(11, 16) };
      });
    }

    const booking = (requestId: string, slot: { date: string; time: string }, patient: string): Json => ({
      requestId,
      sessionId: `booking-${requestId}`,
      intent: 'BookAppointment',
      confirmation: 'confirmed',
      parameters: { provider: 'dr-lee', ...slot, patient_id: patient },
    });

    const bookedUnder = (requestId: string) =>
      queryTestDatabase(
        t.database.url,
        `SELECT a.patient_ref, a.reference, a.status FROM appointments a WHERE a.idempotency_key = $1`,
        [genericTurnKey(requestId)],
      );

    it("refuses another patient's booking of another slot under the id, instead of answering with the first booking", async () => {
      const requestId = 'booking-reused-by-another-patient';
      const [slot, other] = await freeSlots('dr-lee', 2);
      const first = await post(booking(requestId, slot, 'P-1001'));
      const reference = /Your reference is ([A-Z2-9]{6})\.$/.exec(String(first.text))?.[1];
      expect(reference).toMatch(/^[A-Z2-9]{6}$/);
      await expire(requestId);

      const reused = await post(booking(requestId, other, 'P-2002'));
      // Before: "You're booked with Dr. Ada Lee on … Your reference is <P-1001's reference>.", and nothing was booked.
      expect(reused).toMatchObject({
        text: 'That request was already used for a different booking, so I did not book this one. Please ask me again.',
        failed: true,
      });
      expect(JSON.stringify(reused)).not.toContain(reference);
      expect(await bookedUnder(requestId)).toEqual([{ patient_ref: 'P-1001', reference, status: 'booked' }]);
      // The other slot is still free: the refusal booked nothing.
      expect(await freeSlots('dr-lee', 50)).toContainEqual(other);
    });

    it('refuses the same patient on another slot, and another patient on the same slot', async () => {
      const requestId = 'booking-reused-for-another-slot';
      const [slot, other] = await freeSlots('dr-lee', 2);
      const first = await post(booking(requestId, slot, 'P-1001'));
      expect(first.text).toMatch(/^You're booked with Dr. Ada Lee/);
      await expire(requestId);

      expect(await post(booking(requestId, other, 'P-1001'))).toMatchObject({
        text: expect.stringMatching(/^That request was already used for a different booking/),
        failed: true,
      });
      await expire(requestId);
      expect(await post(booking(requestId, slot, 'P-2002'))).toMatchObject({
        text: expect.stringMatching(/^That request was already used for a different booking/),
        failed: true,
      });
      // The same booking again (a run whose reply was lost) still answers with the appointment it made.
      await expire(requestId);
      const again = await post(booking(requestId, slot, 'P-1001'));
      expect(again.text).toBe(first.text);
    });
  });
});
