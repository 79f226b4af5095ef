import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import request from 'supertest';
import { startTestApp, TestApp } from './support/test-app';
import { queryTestDatabase } from './support/test-database';
import { SLOT_TIME } from './support/slot-time';

/**
 * Every built-in intent, sent as Dialogflow ES sends it (test/fixtures/dialogflow-es/intents/<Intent>.json),
 * answered by the real app on real PostgreSQL and checked field by field.
 */
const PATH = '/v1/webhooks/dialogflow-es';
const AUTH = { Authorization: 'Bearer local-dev-token' };
const SESSION = 'projects/acme-assistant-7f3a1/agent/sessions/4f8c2d1a-9b7e-4c3d-8a2f-1e6b5d9c0a7f';
const CONTEXT = (name: string) => `${SESSION}/contexts/${name}`;
const YES_NO = { quickReplies: { quickReplies: ['Yes', 'No'] } };

type Body = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/**
 * The fixture with `__PLACEHOLDER__`s replaced, e.g. `{ DATE: '2026-07-01' }`, as a turn of its own: ES sends a
 * fresh `responseId` with every turn (a repeated one is a retry of the same turn, answered from the idempotency store).
 */
function fixture(intent: string, values: Record<string, string> = {}): Body {
  const text = readFileSync(join(__dirname, 'fixtures', 'dialogflow-es', 'intents', `${intent}.json`), 'utf8');
  const body = JSON.parse(text.replace(/__([A-Z]+)__/g, (match, name: string) => values[name] ?? match)) as Body;
  body.responseId = randomUUID();
  return body;
}

/** The next turn of a slot-filling conversation: the same intent with more parameters, and its own `responseId`. */
function nextTurn(body: Body, queryText: string, parameters: Record<string, unknown>): Body {
  const next = structuredClone(body);
  next.responseId = randomUUID();
  next.queryResult.queryText = queryText;
  next.queryResult.parameters = { ...body.queryResult.parameters, ...parameters };
  return next;
}

/** The next turn as ES sends it: the contexts the last answer set come back in `queryResult.outputContexts`. */
function carrying(body: Body, answer: { outputContexts?: unknown[] }): Body {
  const next = structuredClone(body);
  (next.queryResult as Record<string, unknown>).outputContexts = answer.outputContexts ?? [];
  return next;
}

const slotText = (startsAt: Date) => SLOT_TIME.format(startsAt);
const usd = (minor: bigint | number) =>
  new Intl.NumberFormat('en', { style: 'currency', currency: 'USD' }).format(Number(minor) / 100);

describe('Dialogflow ES: every built-in intent (real HTTP, real PostgreSQL)', () => {
  let t: TestApp;
  /** Two free morning slots of Dr. Lee on the first bookable day, e.g. 2026-07-01 09:00 and 09:30. */
  let slots: Date[];

  beforeAll(async () => {
    t = await startTestApp({ env: { DB_POOL_SIZE: '10' } });
    const rows = await queryTestDatabase<{ starts_at: Date }>(
      t.database.url,
      `SELECT s.starts_at FROM appointment_slots s JOIN providers p ON p.id = s.provider_id
        WHERE p.slug = 'dr-lee' AND s.starts_at > now() ORDER BY s.starts_at LIMIT 2`,
    );
    slots = rows.map((row) => row.starts_at);
  });
  afterAll(() => t.close());

  const post = async (body: Body): Promise<Body> => {
    const response = await request(t.baseUrl)
      .post(PATH)
      .set(AUTH)
      .send(body)
      .expect(200)
      .expect('Content-Type', /application\/json/);
    return response.body as Body;
  };
  const slotValues = (startsAt: Date) => {
    const iso = startsAt.toISOString();
    return { DATE: iso.slice(0, 10), TIME: iso.slice(11, 16), DAY: iso.slice(0, 10) };
  };
  const query = <T extends Record<string, unknown>>(sql: string, params: unknown[] = []) =>
    queryTestDatabase<T>(t.database.url, sql, params);
  const balances = async () => {
    const rows = await query<{ account_type: string; balance_minor: string }>(
      `SELECT a.account_type, a.balance_minor FROM accounts a JOIN customers c ON c.id = a.customer_id
        WHERE c.customer_number = '12345'`,
    );
    return Object.fromEntries(rows.map((row) => [row.account_type, BigInt(row.balance_minor)]));
  };

  describe('banking', () => {
    it('GetAccountBalance: the savings balance, with an account-info context', async () => {
      const [account] = await query<{ balance_updated_at: Date }>(
        `SELECT a.balance_updated_at FROM accounts a JOIN customers c ON c.id = a.customer_id
          WHERE c.customer_number = '12345' AND a.account_type = 'savings'`,
      );
      expect(await post(fixture('GetAccountBalance'))).toEqual({
        fulfillmentText: 'Your savings account balance is $12,500.00. Would you like to see recent transactions?',
        fulfillmentMessages: [
          { text: { text: ['Your savings account balance is $12,500.00.'] } },
          {
            quickReplies: {
              title: 'Would you like to see recent transactions?',
              quickReplies: ['Show recent transactions', 'No, thanks'],
            },
          },
        ],
        source: 'banking-api',
        outputContexts: [
          {
            name: CONTEXT('account-info'),
            lifespanCount: 5,
            parameters: {
              user_id: '12345',
              account_type: 'savings',
              balance: 12500,
              currency: 'USD',
              last_updated: account.balance_updated_at.toISOString(),
            },
          },
        ],
      });
    });

    it('GetRecentTransactions: the last three checking transactions, one message each', async () => {
      const rows = await query<{ posted_at: Date; description: string; amount_minor: string }>(
        `SELECT x.posted_at, x.description, x.amount_minor FROM transactions x
           JOIN accounts a ON a.id = x.account_id JOIN customers c ON c.id = a.customer_id
          WHERE c.customer_number = '12345' AND a.account_type = 'checking'
          ORDER BY x.posted_at DESC, x.id ASC LIMIT 3`,
      );
      const day = new Intl.DateTimeFormat('en', { month: 'short', day: 'numeric', timeZone: 'UTC' });
      const lines = rows.map((r) => `${day.format(r.posted_at)}: ${r.description}, ${usd(BigInt(r.amount_minor))}`);
      const heading = 'Here are the last 3 transactions on your checking account';
      expect(await post(fixture('GetRecentTransactions'))).toEqual({
        fulfillmentText: `${heading}: ${lines.join('; ')}.`,
        fulfillmentMessages: [`${heading}:`, ...lines].map((text) => ({ text: { text: [text] } })),
        source: 'banking-api',
        outputContexts: [
          {
            name: CONTEXT('account-info'),
            lifespanCount: 5,
            parameters: { user_id: '12345', account_type: 'checking' },
          },
        ],
      });
    });

    it('TransferFunds: asks to confirm (nothing moves), then moves $250.00 on "yes" and clears the confirmation', async () => {
      const before = await balances();
      const first = fixture('TransferFunds');
      const ask = await post(first);
      expect(ask).toEqual({
        fulfillmentText: 'Transfer $250.00 from your checking account to your savings account?',
        fulfillmentMessages: [
          { text: { text: ['Transfer $250.00 from your checking account to your savings account?'] } },
          YES_NO,
        ],
        source: 'banking-api',
        // What the question was about, so that the "yes" counts for this transfer only.
        outputContexts: [
          {
            name: CONTEXT('session-parameters'),
            lifespanCount: 50,
            parameters: { 'webhook-session': { confirming: expect.stringMatching(/^[\w-]{22}\.[\w-]{12}$/) } },
          },
        ],
      });
      expect(await balances()).toEqual(before);

      const checkingAfter = before.checking - 25000n;
      const done = `Done: I moved $250.00 from your checking account to your savings account. Your checking balance is now ${usd(checkingAfter)}.`;
      expect(await post(carrying(nextTurn(first, 'yes', { confirmation: 'yes' }), ask))).toEqual({
        fulfillmentText: done,
        fulfillmentMessages: [{ text: { text: [done] } }],
        source: 'banking-api',
        // The used-up answer is cleared and the question ended: a later "yes" is asked again.
        outputContexts: [
          {
            name: CONTEXT('session-parameters'),
            lifespanCount: 50,
            parameters: { 'webhook-session': { confirming: 'answered' } },
          },
        ],
      });
      expect(await balances()).toEqual({ checking: checkingAfter, savings: before.savings + 25000n });
    });

    it('TransferFunds: "yes, but make it 900" (the amount changed in the turn of the "yes") asks again, moving nothing', async () => {
      const before = await balances();
      const first = fixture('TransferFunds');
      const ask = await post(first);
      const answer = await post(
        carrying(nextTurn(first, 'yes, but make it 900', { confirmation: 'yes', amount: 900 }), ask),
      );
      const question = 'Transfer $900.00 from your checking account to your savings account?';
      expect(answer).toMatchObject({
        fulfillmentText: question,
        fulfillmentMessages: [{ text: { text: [question] } }, YES_NO],
      });
      expect(await balances()).toEqual(before);
      // That question answered "yes" moves the $900.
      await post(carrying(nextTurn(first, 'yes', { confirmation: 'yes', amount: 900 }), answer));
      expect(await balances()).toEqual({ checking: before.checking - 90000n, savings: before.savings + 90000n });
    });

    it('while ES still fills slots (webhook call for slot filling): a dialog-stage handler asks, the rest leave ES to', async () => {
      const before = await balances();
      const filling = fixture('TransferFunds');
      (filling.queryResult as Record<string, unknown>).allRequiredParamsPresent = false;
      filling.queryResult.parameters = { ...filling.queryResult.parameters, amount: '' };
      // TransferFunds acts in the dialog stage too (as on Lex and CX): it asks for the amount, and moves nothing.
      expect(await post(filling)).toMatchObject({ fulfillmentText: 'How much would you like to transfer?' });
      expect(await balances()).toEqual(before);
      // A fulfillment-only handler answers nothing yet: ES goes on with the intent's own prompt.
      const balance = fixture('GetAccountBalance');
      (balance.queryResult as Record<string, unknown>).allRequiredParamsPresent = false;
      expect(await post(balance)).toEqual({});
    });

    it("TransferFunds: an amount in another currency than the account's is asked for again, not moved as dollars", async () => {
      const before = await balances();
      const euros = fixture('TransferFunds');
      euros.queryResult.parameters = { ...euros.queryResult.parameters, amount: { amount: 100, currency: 'EUR' } };
      const body = await post(nextTurn(euros, 'yes', { confirmation: 'yes' }));
      expect(body.fulfillmentText).toBe(
        'Your checking account is in USD. How much would you like to transfer, in USD?',
      );
      expect(await balances()).toEqual(before);
    });

    it('TransferFunds: "no" moves nothing and clears the confirmation', async () => {
      const before = await balances();
      const body = await post(nextTurn(fixture('TransferFunds'), 'no', { confirmation: 'no' }));
      expect(body).toEqual({
        fulfillmentText: "OK, I won't make that transfer.",
        fulfillmentMessages: [{ text: { text: ["OK, I won't make that transfer."] } }],
        source: 'banking-api',
        outputContexts: [
          { name: CONTEXT('session-parameters'), lifespanCount: 50, parameters: { 'webhook-session': {} } },
        ],
      });
      expect(await balances()).toEqual(before);
    });
  });

  describe('appointments', () => {
    it("FindAppointmentSlots: the day's free times as quick replies, provider kept in session-parameters", async () => {
      const values = slotValues(slots[0]);
      const free = await query<{ starts_at: Date }>(
        `SELECT s.starts_at FROM appointment_slots s JOIN providers p ON p.id = s.provider_id
          WHERE p.slug = 'dr-lee' AND s.starts_at >= $1::date AND s.starts_at < $1::date + 1
            AND NOT EXISTS (SELECT 1 FROM appointments a WHERE a.slot_id = s.id AND a.status = 'booked')
          ORDER BY s.starts_at LIMIT 6`,
        [values.DATE],
      );
      expect(free.length).toBeGreaterThan(0);
      const text = `Dr. Ada Lee has these free times (UTC): ${free.map((s) => slotText(s.starts_at)).join('; ')}.`;
      expect(await post(fixture('FindAppointmentSlots', values))).toEqual({
        fulfillmentText: text,
        fulfillmentMessages: [
          { text: { text: [text] } },
          { quickReplies: { quickReplies: free.map((s) => s.starts_at.toISOString().slice(11, 16)) } },
        ],
        source: 'appointments-api',
        outputContexts: [
          {
            name: CONTEXT('session-parameters'),
            lifespanCount: 50,
            parameters: { 'webhook-session': { provider: 'dr-lee' } },
          },
        ],
      });
    });

    it('BookAppointment: asks to confirm (nothing booked), then books on "yes" with a reference', async () => {
      const first = fixture('BookAppointment', slotValues(slots[0]));
      const question = `Book Dr. Ada Lee on ${slotText(slots[0])} (UTC)?`;
      const ask = await post(first);
      expect(ask).toEqual({
        fulfillmentText: question,
        fulfillmentMessages: [{ text: { text: [question] } }, YES_NO],
        source: 'appointments-api',
        outputContexts: [
          {
            name: CONTEXT('session-parameters'),
            lifespanCount: 50,
            parameters: { 'webhook-session': { confirming: expect.stringMatching(/^[\w-]{22}\.[\w-]{12}$/) } },
          },
        ],
      });
      expect(await query(`SELECT 1 FROM appointments WHERE patient_ref = 'P-1001'`)).toHaveLength(0);

      const booked = await post(carrying(nextTurn(first, 'yes', { confirmation: 'yes' }), ask));
      const reference = /Your reference is ([A-Z2-9]{6})\.$/.exec(String(booked.fulfillmentText))?.[1];
      expect(reference).toBeDefined();
      const text = `You're booked with Dr. Ada Lee on ${slotText(slots[0])} (UTC). Your reference is ${reference}.`;
      expect(booked).toEqual({
        fulfillmentText: text,
        fulfillmentMessages: [{ text: { text: [text] } }],
        source: 'appointments-api',
        outputContexts: [
          {
            name: CONTEXT('session-parameters'),
            lifespanCount: 50,
            parameters: {
              'webhook-session': {
                confirming: 'answered',
                last_appointment: reference,
              },
            },
          },
        ],
      });
      const rows = await query<{ starts_at: Date; patient_ref: string; status: string }>(
        `SELECT s.starts_at, a.patient_ref, a.status FROM appointments a JOIN appointment_slots s ON s.id = a.slot_id
          WHERE a.reference = $1`,
        [reference],
      );
      expect(rows).toEqual([{ starts_at: slots[0], patient_ref: 'P-1001', status: 'booked' }]);
    });

    it('CancelAppointment: cancels a booking by reference and clears last_appointment', async () => {
      const book = fixture('BookAppointment', slotValues(slots[1]));
      const booked = await post(nextTurn(book, 'yes', { confirmation: 'yes' }));
      const reference = /Your reference is ([A-Z2-9]{6})\.$/.exec(String(booked.fulfillmentText))?.[1] ?? '';
      expect(reference).toHaveLength(6);

      const text = `Your appointment on ${slotText(slots[1])} (UTC) is cancelled.`;
      expect(await post(fixture('CancelAppointment', { REFERENCE: reference }))).toEqual({
        fulfillmentText: text,
        fulfillmentMessages: [{ text: { text: [text] } }],
        source: 'appointments-api',
        outputContexts: [
          { name: CONTEXT('session-parameters'), lifespanCount: 50, parameters: { 'webhook-session': {} } },
        ],
      });
      const rows = await query<{ status: string }>(`SELECT status FROM appointments WHERE reference = $1`, [reference]);
      expect(rows).toEqual([{ status: 'cancelled' }]);

      // Asked again (the first answer lost after its commit, and the user asking anew): it is cancelled, not "not
      // found"; nothing changes.
      expect(await post(fixture('CancelAppointment', { REFERENCE: reference }))).toEqual({
        fulfillmentText: text,
        fulfillmentMessages: [{ text: { text: [text] } }],
        source: 'appointments-api',
        outputContexts: [
          { name: CONTEXT('session-parameters'), lifespanCount: 50, parameters: { 'webhook-session': {} } },
        ],
      });
      expect(await query(`SELECT status FROM appointments WHERE reference = $1`, [reference])).toEqual([
        { status: 'cancelled' },
      ]);
      // Another patient's number still finds nothing.
      const other = `I couldn't find a booked appointment ${reference} for that patient number.`;
      const stranger = fixture('CancelAppointment', { REFERENCE: reference });
      stranger.queryResult.parameters = { ...stranger.queryResult.parameters, patient_id: 'P-9999' };
      expect(await post(stranger)).toMatchObject({ fulfillmentText: other });
    });
  });

  describe('CRM', () => {
    it('QualifyLead: scores 100, routes to enterprise-sales, stores the lead', async () => {
      const text = 'Thanks, Jane! An account executive will call you within one business day.';
      expect(await post(fixture('QualifyLead'))).toEqual({
        fulfillmentText: text,
        fulfillmentMessages: [{ text: { text: [text] } }],
        source: 'crm-api',
        outputContexts: [
          {
            name: CONTEXT('session-parameters'),
            lifespanCount: 50,
            parameters: { 'webhook-session': { lead_queue: 'enterprise-sales', lead_score: 100 } },
          },
        ],
      });
      const leads = await query(
        `SELECT email, name, company, company_size, budget::text AS budget, timeline_months, decision_maker, score, queue,
                caller_id FROM leads WHERE email = 'jane.doe@acme.example'`,
      );
      expect(leads).toEqual([
        {
          email: 'jane.doe@acme.example',
          name: 'Jane',
          company: 'Acme Corp',
          company_size: 250,
          budget: '75000',
          timeline_months: 2,
          decision_maker: true,
          score: 100,
          queue: 'enterprise-sales',
          caller_id: 'local-dev',
        },
      ]);
    });
  });

  describe('commerce', () => {
    it('CheckInventory: stock per warehouse, sku kept in session-parameters', async () => {
      const text = 'X200 Wireless Headphones (X200): 42 in stock — 12 in Berlin warehouse, 30 in New Jersey warehouse.';
      expect(await post(fixture('CheckInventory'))).toEqual({
        fulfillmentText: text,
        fulfillmentMessages: [{ text: { text: [text] } }],
        source: 'commerce-api',
        outputContexts: [
          {
            name: CONTEXT('session-parameters'),
            lifespanCount: 50,
            parameters: { 'webhook-session': { sku: 'X200' } },
          },
        ],
      });
    });

    it("GetOrderStatus: the customer's own order, with its tracking number", async () => {
      const text = 'Order ORD-10042 has shipped. Tracking number: DP123456789.';
      expect(await post(fixture('GetOrderStatus'))).toEqual({
        fulfillmentText: text,
        fulfillmentMessages: [{ text: { text: [text] } }],
        source: 'commerce-api',
      });
    });

    it('GetShippingEstimate: the demo carrier estimate from the warehouse holding most stock', async () => {
      const text =
        'X200 Wireless Headphones ships from New Jersey warehouse with DemoPost express and should arrive in 1 business day.';
      expect(await post(fixture('GetShippingEstimate'))).toEqual({
        fulfillmentText: text,
        fulfillmentMessages: [{ text: { text: [text] } }],
        source: 'commerce-api',
      });
    });
  });
  // Values as real ES agents send them: unfilled parameters as "", and @sys.* types wrapped in objects.
  describe('inputs real ES agents send', () => {
    it('CancelAppointment: an unfilled reference ("" as ES sends it) falls back to last_appointment from the session', async () => {
      const body = fixture('CancelAppointment', { REFERENCE: '' });
      (body.queryResult.outputContexts as Body[]).push({
        name: CONTEXT('session-parameters'),
        lifespanCount: 49,
        parameters: { last_appointment: 'ABC234' },
      });
      // ABC234 is not booked: the answer shows the session's reference was looked up instead of asking for one.
      expect((await post(body)).fulfillmentText).toBe(
        "I couldn't find a booked appointment ABC234 for that patient number.",
      );
    });

    it('QualifyLead: @sys.person ({name}) and @sys.unit-currency ({amount, currency}) values are unwrapped and scored', async () => {
      const body = fixture('QualifyLead');
      body.queryResult.parameters.email = 'sam@acme.example';
      body.queryResult.parameters.name = { name: 'Sam' };
      body.queryResult.parameters.budget = { amount: 75000, currency: 'USD' };
      const answer = await post(body);
      expect(answer.fulfillmentText).toBe('Thanks, Sam! An account executive will call you within one business day.');
      expect(answer.outputContexts).toEqual([
        {
          name: CONTEXT('session-parameters'),
          lifespanCount: 50,
          parameters: { 'webhook-session': { lead_queue: 'enterprise-sales', lead_score: 100 } },
        },
      ]);
      expect(
        await query(`SELECT name, budget::text AS budget, score, queue FROM leads WHERE email = 'sam@acme.example'`),
      ).toEqual([{ name: 'Sam', budget: '75000', score: 100, queue: 'enterprise-sales' }]);
    });
  });
});
