import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import request from 'supertest';
import { startTestApp, TestApp } from './support/test-app';
import { queryTestDatabase } from './support/test-database';
import { SLOT_TIME } from './support/slot-time';

/**
 * Every built-in intent, sent as a Dialogflow CX agent sends it (test/fixtures/dialogflow-cx/intents/<Intent>.json:
 * `fulfillmentInfo.tag` = intent, values in the page form, `intentInfo` and `sessionInfo`), answered by the real
 * app on real PostgreSQL and checked field by field.
 */
const PATH = '/v1/webhooks/dialogflow-cx';
const AUTH = { Authorization: 'Bearer local-dev-token' };
const CHIPS = (...options: string[]) => ({
  payload: { richContent: [[{ type: 'chips', options: options.map((text) => ({ text })) }]] },
});
const TEXT = (text: string) => ({ text: { text: [text] } });
/** What asking for a parameter again looks like to CX: INVALID (the one state it takes), the value cleared. */
const ELICIT = (parameter: string) => ({
  pageInfo: { formInfo: { parameterInfo: [{ displayName: parameter, required: true, state: 'INVALID' }] } },
  sessionInfo: { parameters: { [parameter]: null } },
});

type Body = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/**
 * The fixture with `__PLACEHOLDER__`s replaced, e.g. `{ DATE: '2026-07-01' }`, as a turn of its own: CX sends a
 * fresh `detectIntentResponseId` with every turn (a repeated one is a retry, answered from the idempotency store).
 */
function fixture(intent: string, values: Record<string, string> = {}): Body {
  const text = readFileSync(join(__dirname, 'fixtures', 'dialogflow-cx', 'intents', `${intent}.json`), 'utf8');
  const body = JSON.parse(text.replace(/__([A-Z]+)__/g, (match, name: string) => values[name] ?? match)) as Body;
  body.detectIntentResponseId = randomUUID();
  return body;
}

/** The turn after the user answered the form's `confirmation` parameter (a yes/no custom entity), with its own id. */
/** The question's session parameters as CX keeps them: `confirming`, what the question was about. */
const ASKED = { sessionInfo: { parameters: { confirming: expect.stringMatching(/^[\w-]{22}\.[\w-]{12}$/) } } };

/**
 * The turn in which the user answers the confirmation question: CX sends back the session parameters the
 * question's answer (`asked`) set.
 */
function confirmTurn(body: Body, answer: 'yes' | 'no', asked?: Body): Body {
  const next = structuredClone(body);
  next.detectIntentResponseId = randomUUID();
  next.text = answer;
  next.intentInfo = {
    lastMatchedIntent: `${String(body.intentInfo.lastMatchedIntent).replace(/[^/]+$/, '')}confirmation-${answer}`,
    parameters: { confirmation: { originalValue: answer, resolvedValue: answer } },
    displayName: `confirmation.${answer}`,
    confidence: 1,
  };
  for (const parameter of next.pageInfo.formInfo.parameterInfo as Body[]) {
    delete parameter.justCollected;
    if (parameter.displayName === 'confirmation')
      Object.assign(parameter, { state: 'FILLED', value: answer, justCollected: true });
  }
  next.sessionInfo.parameters = {
    ...body.sessionInfo.parameters,
    ...asked?.sessionInfo?.parameters,
    confirmation: answer,
  };
  return next;
}

const slotText = (startsAt: Date) => SLOT_TIME.format(startsAt);
const usd = (minor: bigint | number) =>
  new Intl.NumberFormat('en', { style: 'currency', currency: 'USD' }).format(Number(minor) / 100);
const reply = (messages: Body[]) => ({ fulfillmentResponse: { messages, mergeBehavior: 'APPEND' } });

describe('Dialogflow CX: every built-in intent (real HTTP, real PostgreSQL)', () => {
  let t: TestApp;
  let slots: Date[];

  beforeAll(async () => {
    t = await startTestApp({ env: { DB_POOL_SIZE: '10' } });
    const rows = await queryTestDatabase<{ starts_at: Date }>(
      t.database.url,
      `SELECT s.starts_at FROM appointment_slots s JOIN providers p ON p.id = s.provider_id
        WHERE p.slug = 'dr-lee' AND s.starts_at > now() ORDER BY s.starts_at LIMIT 3`,
    );
    // slots[0] is booked and slots[1] booked and cancelled below; slots[2] stays free for the parsing tests (a booked
    // slot is not offered for confirmation).
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
    it('GetAccountBalance: the balance as text, the offer as text plus Messenger chips', async () => {
      expect(await post(fixture('GetAccountBalance'))).toEqual(
        reply([
          TEXT('Your savings account balance is $12,500.00.'),
          TEXT('Would you like to see recent transactions?'),
          CHIPS('Show recent transactions', 'No, thanks'),
        ]),
      );
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
      expect(await post(fixture('GetRecentTransactions'))).toEqual(
        reply(['Here are the last 3 transactions on your checking account:', ...lines].map(TEXT)),
      );
    });

    it('TransferFunds: confirms while the form is open (nothing moves), moves $250.00 once confirmation is filled, then clears it', async () => {
      const before = await balances();
      const first = fixture('TransferFunds');
      const ask = await post(first);
      expect(ask).toEqual({
        ...reply([TEXT('Transfer $250.00 from your checking account to your savings account?'), CHIPS('Yes', 'No')]),
        ...ASKED,
      });
      expect(await balances()).toEqual(before);

      const checkingAfter = before.checking - 25000n;
      expect(await post(confirmTurn(first, 'yes', ask))).toEqual({
        ...reply([
          TEXT(
            `Done: I moved $250.00 from your checking account to your savings account. Your checking balance is now ${usd(checkingAfter)}.`,
          ),
        ]),
        // The used-up confirmation is cleared and the question ended, so the next transfer is confirmed again.
        sessionInfo: { parameters: { confirmation: null, confirming: 'answered' } },
      });
      expect(await balances()).toEqual({ checking: checkingAfter, savings: before.savings + 25000n });
    });

    it('TransferFunds: "yes" after the amount changed on the form asks again about the new amount, moving nothing', async () => {
      const before = await balances();
      const first = fixture('TransferFunds');
      const ask = await post(first);
      const changed = confirmTurn(first, 'yes', ask);
      changed.sessionInfo.parameters = { ...changed.sessionInfo.parameters, amount: 900 };
      for (const parameter of changed.pageInfo.formInfo.parameterInfo as Body[]) {
        if (parameter.displayName === 'amount') parameter.value = 900;
      }
      expect(await post(changed)).toEqual({
        ...reply([TEXT('Transfer $900.00 from your checking account to your savings account?'), CHIPS('Yes', 'No')]),
        ...ASKED,
      });
      expect(await balances()).toEqual(before);
    });

    it('TransferFunds: "no" moves nothing and clears the confirmation', async () => {
      const before = await balances();
      expect(await post(confirmTurn(fixture('TransferFunds'), 'no'))).toEqual({
        ...reply([TEXT("OK, I won't make that transfer.")]),
        sessionInfo: { parameters: { confirmation: null } },
      });
      expect(await balances()).toEqual(before);
    });
  });

  describe('appointments', () => {
    it('FindAppointmentSlots: free times as chips, provider set in the session, time not elicited', async () => {
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
        ...reply([TEXT(text), CHIPS(...free.map((s) => s.starts_at.toISOString().slice(11, 16)))]),
        sessionInfo: { parameters: { provider: 'dr-lee' } },
      });
    });

    it('BookAppointment: confirms while the form is open (nothing booked), books once confirmation is filled, then clears it', async () => {
      const first = fixture('BookAppointment', slotValues(slots[0]));
      const ask = await post(first);
      expect(ask).toEqual({
        ...reply([TEXT(`Book Dr. Ada Lee on ${slotText(slots[0])} (UTC)?`), CHIPS('Yes', 'No')]),
        ...ASKED,
      });
      expect(await query(`SELECT 1 FROM appointments WHERE patient_ref = 'P-1001'`)).toHaveLength(0);

      const booked = await post(confirmTurn(first, 'yes', ask));
      const reference = String(booked.sessionInfo?.parameters?.last_appointment);
      expect(reference).toMatch(/^[A-Z2-9]{6}$/);
      expect(booked).toEqual({
        ...reply([
          TEXT(`You're booked with Dr. Ada Lee on ${slotText(slots[0])} (UTC). Your reference is ${reference}.`),
        ]),
        sessionInfo: { parameters: { last_appointment: reference, confirmation: null, confirming: 'answered' } },
      });
      const rows = await query<{ starts_at: Date; patient_ref: string; status: string }>(
        `SELECT s.starts_at, a.patient_ref, a.status FROM appointments a JOIN appointment_slots s ON s.id = a.slot_id
          WHERE a.reference = $1`,
        [reference],
      );
      expect(rows).toEqual([{ starts_at: slots[0], patient_ref: 'P-1001', status: 'booked' }]);
    });

    it('CancelAppointment: cancels by reference and removes last_appointment from the session (null)', async () => {
      const booked = await post(confirmTurn(fixture('BookAppointment', slotValues(slots[1])), 'yes'));
      const reference = String(booked.sessionInfo?.parameters?.last_appointment);
      expect(reference).toMatch(/^[A-Z2-9]{6}$/);

      expect(await post(fixture('CancelAppointment', { REFERENCE: reference }))).toEqual({
        ...reply([TEXT(`Your appointment on ${slotText(slots[1])} (UTC) is cancelled.`)]),
        sessionInfo: { parameters: { last_appointment: null } },
      });
      const rows = await query<{ status: string }>(`SELECT status FROM appointments WHERE reference = $1`, [reference]);
      expect(rows).toEqual([{ status: 'cancelled' }]);
    });
  });

  describe('CRM', () => {
    it('QualifyLead: scores 100, routes to enterprise-sales, sets lead_queue/lead_score, stores the lead', async () => {
      expect(await post(fixture('QualifyLead'))).toEqual({
        ...reply([TEXT('Thanks, Jane! An account executive will call you within one business day.')]),
        sessionInfo: { parameters: { lead_queue: 'enterprise-sales', lead_score: 100 } },
      });
      const leads = await query(
        `SELECT company, company_size, budget::text AS budget, timeline_months, decision_maker, score, queue
           FROM leads WHERE email = 'jane.doe@acme.example'`,
      );
      expect(leads).toEqual([
        {
          company: 'Acme Corp',
          company_size: 250,
          budget: '75000',
          timeline_months: 2,
          decision_maker: true,
          score: 100,
          queue: 'enterprise-sales',
        },
      ]);
    });
  });

  describe('commerce', () => {
    it('CheckInventory: stock per warehouse, sku set in the session', async () => {
      expect(await post(fixture('CheckInventory'))).toEqual({
        ...reply([
          TEXT('X200 Wireless Headphones (X200): 42 in stock — 12 in Berlin warehouse, 30 in New Jersey warehouse.'),
        ]),
        sessionInfo: { parameters: { sku: 'X200' } },
      });
    });

    it("GetOrderStatus: the customer's own order, with its tracking number", async () => {
      expect(await post(fixture('GetOrderStatus'))).toEqual(
        reply([TEXT('Order ORD-10042 has shipped. Tracking number: DP123456789.')]),
      );
    });

    it('GetShippingEstimate: the demo carrier estimate from the warehouse holding most stock', async () => {
      expect(await post(fixture('GetShippingEstimate'))).toEqual(
        reply([
          TEXT(
            'X200 Wireless Headphones ships from New Jersey warehouse with DemoPost express and should arrive in 1 business day.',
          ),
        ]),
      );
    });
  });
  // Values as real CX agents send them: earlier pages' values only in the session, @sys.date/@sys.time as structures.
  describe('inputs real CX agents send', () => {
    it('GetOrderStatus: a user_id held only in sessionInfo.parameters is used', async () => {
      const body = fixture('GetOrderStatus');
      delete body.pageInfo.formInfo;
      expect(body.sessionInfo.parameters.user_id).toBe('12345');
      expect(await post(body)).toEqual(reply([TEXT('Order ORD-10042 has shipped. Tracking number: DP123456789.')]));
    });

    it('GetOrderStatus: form values override the session, and null session values count as unset', async () => {
      const overridden = fixture('GetOrderStatus');
      overridden.sessionInfo.parameters.user_id = '67890';
      expect(await post(overridden)).toEqual(
        reply([TEXT('Order ORD-10042 has shipped. Tracking number: DP123456789.')]),
      );

      const cleared = fixture('GetOrderStatus');
      delete cleared.pageInfo.formInfo;
      cleared.sessionInfo.parameters.user_id = null;
      expect(await post(cleared)).toEqual({
        ...reply([TEXT('What is your customer number?')]),
        ...ELICIT('user_id'),
      });
    });

    it('BookAppointment: @sys.date / @sys.time struct values ({year,month,day} / {hours,minutes}) are understood', async () => {
      const body = fixture('BookAppointment', slotValues(slots[2]));
      const [date, time] = [slots[2].toISOString().slice(0, 10), slots[2].toISOString().slice(11, 16)];
      const dateValue = { year: +date.slice(0, 4), month: +date.slice(5, 7), day: +date.slice(8, 10) };
      const timeValue = { hours: +time.slice(0, 2), minutes: +time.slice(3, 5), seconds: 0, nanos: 0 };
      for (const parameter of body.pageInfo.formInfo.parameterInfo as Body[]) {
        if (parameter.displayName === 'date') parameter.value = dateValue;
        if (parameter.displayName === 'time') parameter.value = timeValue;
      }
      body.sessionInfo.parameters = { ...body.sessionInfo.parameters, date: dateValue, time: timeValue };
      expect(await post(body)).toEqual({
        ...reply([TEXT(`Book Dr. Ada Lee on ${slotText(slots[2])} (UTC)?`), CHIPS('Yes', 'No')]),
        ...ASKED,
      });
    });

    it('BookAppointment: a @sys.date-time struct as the time ({year,month,day,hours,minutes}) is understood', async () => {
      const body = fixture('BookAppointment', slotValues(slots[2]));
      const at = slots[2];
      const dateTime = {
        year: at.getUTCFullYear(),
        month: at.getUTCMonth() + 1,
        day: at.getUTCDate(),
        hours: at.getUTCHours(),
        minutes: at.getUTCMinutes(),
        seconds: 0,
        nanos: 0,
      };
      for (const parameter of body.pageInfo.formInfo.parameterInfo as Body[]) {
        if (parameter.displayName === 'time') parameter.value = dateTime;
      }
      body.sessionInfo.parameters = { ...body.sessionInfo.parameters, time: dateTime };
      // Before: only its date was read, and the time was asked for again.
      expect(await post(body)).toEqual({
        ...reply([TEXT(`Book Dr. Ada Lee on ${slotText(slots[2])} (UTC)?`), CHIPS('Yes', 'No')]),
        ...ASKED,
      });
    });
  });
});
