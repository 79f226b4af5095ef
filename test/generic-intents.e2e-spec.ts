import { randomUUID } from 'node:crypto';
import request from 'supertest';
import bookAppointment from './fixtures/generic/intents/BookAppointment.json';
import cancelAppointment from './fixtures/generic/intents/CancelAppointment.json';
import checkInventory from './fixtures/generic/intents/CheckInventory.json';
import findAppointmentSlots from './fixtures/generic/intents/FindAppointmentSlots.json';
import getAccountBalance from './fixtures/generic/intents/GetAccountBalance.json';
import getOrderStatus from './fixtures/generic/intents/GetOrderStatus.json';
import getRecentTransactions from './fixtures/generic/intents/GetRecentTransactions.json';
import getShippingEstimate from './fixtures/generic/intents/GetShippingEstimate.json';
import qualifyLead from './fixtures/generic/intents/QualifyLead.json';
import transferFunds from './fixtures/generic/intents/TransferFunds.json';
import { LOCAL_DEV_AUTH } from './support/dialogflow-es.fixtures';
import { startTestApp, TestApp } from './support/test-app';
import { queryTestDatabase } from './support/test-database';
import { SLOT_TIME } from './support/slot-time';

const PATH = '/v1/webhooks/generic';
const ISO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

type Json = Record<string, unknown>;

const USD = new Intl.NumberFormat('en-US', { style: 'currency', currency: 'USD' });
const SHORT_DATE = new Intl.DateTimeFormat('en-US', { month: 'short', day: 'numeric', timeZone: 'UTC' });

/**
 * A fixture with its `__PLACEHOLDER__`s replaced, as a fresh copy with a `requestId` of its own: a bot sends a new
 * id with every turn (a repeated one is a retry of the same turn, answered from the idempotency store).
 */
function fill<T extends { requestId: string }>(fixture: T, values: object = {}): T {
  let json = JSON.stringify(fixture);
  for (const [key, value] of Object.entries(values)) {
    if (typeof value === 'string') json = json.split(`__${key}__`).join(value);
  }
  return { ...(JSON.parse(json) as T), requestId: randomUUID() };
}

/** The fixture as a later turn: another request id, stage, confirmation or parameters. */
function turn<T extends { requestId: string }>(fixture: T, extra: Json): T {
  return { ...structuredClone(fixture), requestId: randomUUID(), ...extra };
}

const textOnly = (text: string) => [{ type: 'text', text }];

describe('generic: every built-in intent, from documented-style requests (real HTTP, real PostgreSQL)', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(() => t.close());

  const post = (body: unknown) =>
    request(t.baseUrl)
      .post(PATH)
      .set(LOCAL_DEV_AUTH)
      .send(body as object)
      .expect(200)
      .expect('Content-Type', /application\/json/);

  async function balances(): Promise<Record<string, bigint>> {
    const rows = await queryTestDatabase<{ account_type: string; balance_minor: string }>(
      t.database.url,
      `SELECT a.account_type, a.balance_minor FROM accounts a JOIN customers c ON c.id = a.customer_id
        WHERE c.customer_number = '12345'`,
    );
    return Object.fromEntries(rows.map((row) => [row.account_type, BigInt(row.balance_minor)]));
  }

  async function freeSlot(provider: string): Promise<{ DATE: string; TIME: string; at: Date }> {
    const [slot] = await queryTestDatabase<{ starts_at: Date }>(
      t.database.url,
      `SELECT s.starts_at FROM appointment_slots s JOIN providers p ON p.id = s.provider_id
        WHERE p.slug = $1 AND s.starts_at > now()
          AND NOT EXISTS (SELECT 1 FROM appointments a WHERE a.slot_id = s.id AND a.status = 'booked')
        ORDER BY s.starts_at LIMIT 1`,
      [provider],
    );
    const iso = slot.starts_at.toISOString();
    return { DATE: iso.slice(0, 10), TIME: iso.slice(11, 16), at: slot.starts_at };
  }

  describe('banking', () => {
    it('GetAccountBalance: text, messages, the account-info context and the source, field by field', async () => {
      const response = await post(getAccountBalance);
      expect(response.body).toEqual({
        requestId: getAccountBalance.requestId,
        outcome: 'fulfilled',
        text: 'Your savings account balance is $12,500.00. Would you like to see recent transactions?',
        messages: [
          { type: 'text', text: 'Your savings account balance is $12,500.00.' },
          {
            type: 'quick-replies',
            title: 'Would you like to see recent transactions?',
            replies: ['Show recent transactions', 'No, thanks'],
          },
        ],
        contexts: [
          {
            name: 'account-info',
            lifespan: 5,
            parameters: {
              user_id: '12345',
              account_type: 'savings',
              balance: 12500,
              currency: 'USD',
              last_updated: expect.stringMatching(ISO_TIME),
            },
          },
        ],
        source: 'banking-api',
      });
    });

    it('GetRecentTransactions: the last 2 savings transactions from the database', async () => {
      const rows = await queryTestDatabase<{ posted_at: Date; description: string; amount_minor: string }>(
        t.database.url,
        `SELECT x.posted_at, x.description, x.amount_minor FROM transactions x
           JOIN accounts a ON a.id = x.account_id JOIN customers c ON c.id = a.customer_id
          WHERE c.customer_number = '12345' AND a.account_type = 'savings'
          ORDER BY x.posted_at DESC, x.id ASC LIMIT 2`,
      );
      const lines = rows.map(
        (row) =>
          `${SHORT_DATE.format(row.posted_at)}: ${row.description}, ${USD.format(Number(row.amount_minor) / 100)}`,
      );
      const heading = 'Here are the last 2 transactions on your savings account';
      const response = await post(getRecentTransactions);
      expect(response.body).toEqual({
        requestId: getRecentTransactions.requestId,
        outcome: 'fulfilled',
        text: `${heading}: ${lines.join('; ')}.`,
        messages: [{ type: 'text', text: `${heading}:` }, ...lines.map((line) => ({ type: 'text', text: line }))],
        contexts: [{ name: 'account-info', lifespan: 5, parameters: { user_id: '12345', account_type: 'savings' } }],
        source: 'banking-api',
      });
    });

    describe('TransferFunds', () => {
      const QUESTION = 'Transfer $250.00 from your checking account to your savings account?';

      it('confirm → confirmation "confirmed" → done, the balances moved, the confirmation cleared', async () => {
        const before = await balances();
        const ask = await post(transferFunds);
        expect(ask.body).toEqual({
          requestId: transferFunds.requestId,
          outcome: 'fulfilled',
          text: QUESTION,
          messages: textOnly(QUESTION),
          confirm: true,
          // What the question was about: the answer counts for that transfer only.
          sessionParameters: { confirming: expect.stringMatching(/^[\w-]{22}\.[\w-]{12}$/) },
          source: 'banking-api',
        });
        expect(await balances()).toEqual(before);

        const confirmedTurn = turn(transferFunds, {
          confirmation: 'confirmed',
          sessionParameters: ask.body.sessionParameters,
        });
        const done = await post(confirmedTurn);
        const doneText =
          'Done: I moved $250.00 from your checking account to your savings account. ' +
          `Your checking balance is now ${USD.format(Number(before.checking - 25000n) / 100)}.`;
        expect(done.body).toEqual({
          requestId: confirmedTurn.requestId,
          outcome: 'fulfilled',
          text: doneText,
          messages: textOnly(doneText),
          sessionParameters: { confirmation: null, confirming: 'answered' },
          source: 'banking-api',
        });
        expect(await balances()).toEqual({ checking: before.checking - 25000n, savings: before.savings + 25000n });
      });

      it('a "yes" to one question moves the money once: sent twice at once; said again once it was done, it is asked again', async () => {
        const before = await balances();
        const ask = await post(turn(transferFunds, {}));
        const yes = () =>
          turn(transferFunds, { confirmation: 'confirmed', sessionParameters: ask.body.sessionParameters });
        const doneText =
          'Done: I moved $250.00 from your checking account to your savings account. ' +
          `Your checking balance is now ${USD.format(Number(before.checking - 25000n) / 100)}.`;
        // A double tap: two turns of their own (the idempotency of one turn does not join them), one question.
        const [first, second] = await Promise.all([post(yes()), post(yes())]);
        // One moved the money; the other says it was done already, not that it moved it too.
        const alreadyText =
          'That transfer was already made: $250.00 from your checking account to your savings account; nothing more ' +
          `was moved. Your checking balance is ${USD.format(Number(before.checking - 25000n) / 100)}. To make another, ask me again.`;
        expect([first.body.text, second.body.text].sort()).toEqual([alreadyText, doneText].sort());
        const moved = { checking: before.checking - 25000n, savings: before.savings + 25000n };
        expect(await balances()).toEqual(moved);
        // The handler's answer ends the question: the same "yes" later is asked again, moving nothing.
        expect(first.body.sessionParameters).toEqual({ confirmation: null, confirming: 'answered' });
        const later = await post(
          turn(transferFunds, { confirmation: 'confirmed', sessionParameters: first.body.sessionParameters }),
        );
        expect(later.body).toMatchObject({ text: QUESTION, confirm: true });
        expect(await balances()).toEqual(moved);
        // The same transfer asked for anew is a new question, and its "yes" moves the money again.
        const askAgain = await post(turn(transferFunds, {}));
        expect(askAgain.body.sessionParameters.confirming).not.toBe(ask.body.sessionParameters.confirming);
        await post(
          turn(transferFunds, { confirmation: 'confirmed', sessionParameters: askAgain.body.sessionParameters }),
        );
        expect(await balances()).toEqual({ checking: before.checking - 50000n, savings: before.savings + 50000n });
      });

      it('a "no" ends the question: a "yes" after it is asked again, moving nothing', async () => {
        const before = await balances();
        const ask = await post(turn(transferFunds, {}));
        const no = await post(
          turn(transferFunds, { confirmation: 'denied', sessionParameters: ask.body.sessionParameters }),
        );
        expect(no.body).toMatchObject({ failed: true, sessionParameters: { confirming: 'declined' } });
        const yes = await post(
          turn(transferFunds, { confirmation: 'confirmed', sessionParameters: no.body.sessionParameters }),
        );
        expect(yes.body).toMatchObject({ text: QUESTION, confirm: true });
        expect(await balances()).toEqual(before);
      });

      it('"confirmed" with another amount than the question was about asks again, moving nothing', async () => {
        const before = await balances();
        const ask = await post(turn(transferFunds, {}));
        const changed = turn(transferFunds, {
          parameters: { ...transferFunds.parameters, amount: 900 },
          confirmation: 'confirmed',
          sessionParameters: ask.body.sessionParameters,
        });
        const again = await post(changed);
        const question = 'Transfer $900.00 from your checking account to your savings account?';
        expect(again.body).toEqual({
          requestId: changed.requestId,
          outcome: 'fulfilled',
          text: question,
          messages: textOnly(question),
          confirm: true,
          sessionParameters: { confirming: expect.stringMatching(/^[\w-]{22}\.[\w-]{12}$/) },
          source: 'banking-api',
        });
        expect(again.body.sessionParameters.confirming).not.toBe(ask.body.sessionParameters.confirming);
        expect(await balances()).toEqual(before);
      });

      it('at the dialog stage a confirmed transfer delegates and writes nothing', async () => {
        const before = await balances();
        const body = turn(transferFunds, { stage: 'dialog', confirmation: 'confirmed' });
        const response = await post(body);
        expect(response.body).toEqual({
          requestId: body.requestId,
          outcome: 'delegated',
          text: '',
          messages: [],
          delegate: true,
        });
        expect(await balances()).toEqual(before);
      });

      it('confirmation "denied": says so with failed: true, clears the confirmation and writes nothing', async () => {
        const before = await balances();
        const body = turn(transferFunds, { confirmation: 'denied' });
        const response = await post(body);
        expect(response.body).toEqual({
          requestId: body.requestId,
          outcome: 'fulfilled',
          text: "OK, I won't make that transfer.",
          messages: textOnly("OK, I won't make that transfer."),
          failed: true,
          sessionParameters: { confirmation: null },
          source: 'banking-api',
        });
        expect(await balances()).toEqual(before);
      });

      it('refuses an overdraft with failed: true', async () => {
        const before = await balances();
        const body = turn(transferFunds, {
          parameters: { ...transferFunds.parameters, amount: 1_000_000 },
          confirmation: 'confirmed',
        });
        const response = await post(body);
        const expected = `Your checking account has ${USD.format(Number(before.checking) / 100)}, which is not enough to transfer $1,000,000.00.`;
        expect(response.body).toEqual({
          requestId: body.requestId,
          outcome: 'fulfilled',
          text: expected,
          messages: textOnly(expected),
          failed: true,
          source: 'banking-api',
        });
        expect(await balances()).toEqual(before);
      });
    });
  });

  describe('appointments', () => {
    it('FindAppointmentSlots: free times as quick replies (time not elicited), provider in the session', async () => {
      const slot = await freeSlot('dr-lee');
      const rows = await queryTestDatabase<{ starts_at: Date }>(
        t.database.url,
        `SELECT s.starts_at FROM appointment_slots s JOIN providers p ON p.id = s.provider_id
          WHERE p.slug = 'dr-lee' AND s.starts_at >= $1::date AND s.starts_at < $1::date + 1
            AND NOT EXISTS (SELECT 1 FROM appointments a WHERE a.slot_id = s.id AND a.status = 'booked')
          ORDER BY s.starts_at LIMIT 6`,
        [slot.DATE],
      );
      const expectedText = `Dr. Ada Lee has these free times (UTC): ${rows.map((r) => SLOT_TIME.format(r.starts_at)).join('; ')}.`;
      const body = fill(findAppointmentSlots, slot);
      const response = await post(body);
      expect(response.body).toEqual({
        requestId: body.requestId,
        outcome: 'fulfilled',
        text: expectedText,
        messages: [
          { type: 'text', text: expectedText },
          { type: 'quick-replies', replies: rows.map((r) => r.starts_at.toISOString().slice(11, 16)) },
        ],
        sessionParameters: { provider: 'dr-lee' },
        source: 'appointments-api',
      });
    });

    it('BookAppointment: confirm → confirmed → booked reference (in sessionParameters, confirmation cleared); CancelAppointment cancels it', async () => {
      const slot = await freeSlot('dr-lee');
      const when = SLOT_TIME.format(slot.at);
      const body = fill(bookAppointment, slot);

      const ask = await post(body);
      expect(ask.body).toEqual({
        requestId: body.requestId,
        outcome: 'fulfilled',
        text: `Book Dr. Ada Lee on ${when} (UTC)?`,
        messages: textOnly(`Book Dr. Ada Lee on ${when} (UTC)?`),
        confirm: true,
        sessionParameters: { confirming: expect.stringMatching(/^[\w-]{22}\.[\w-]{12}$/) },
        source: 'appointments-api',
      });

      const confirmedTurn = turn(body, { confirmation: 'confirmed', sessionParameters: ask.body.sessionParameters });
      const booked = await post(confirmedTurn);
      const reference = /Your reference is ([A-Z2-9]{6})\.$/.exec(String(booked.body.text))?.[1] ?? '';
      expect(reference).toMatch(/^[A-Z2-9]{6}$/);
      const bookedText = `You're booked with Dr. Ada Lee on ${when} (UTC). Your reference is ${reference}.`;
      expect(booked.body).toEqual({
        requestId: confirmedTurn.requestId,
        outcome: 'fulfilled',
        text: bookedText,
        messages: textOnly(bookedText),
        sessionParameters: { last_appointment: reference, confirmation: null, confirming: 'answered' },
        endConversation: false,
        source: 'appointments-api',
      });
      expect(
        await queryTestDatabase(
          t.database.url,
          `SELECT a.patient_ref, s.starts_at FROM appointments a JOIN appointment_slots s ON s.id = a.slot_id
            WHERE a.reference = $1 AND a.status = 'booked'`,
          [reference],
        ),
      ).toEqual([{ patient_ref: 'P-1001', starts_at: slot.at }]);

      const cancel = fill(cancelAppointment, { REFERENCE: reference });
      const cancelled = await post(cancel);
      expect(cancelled.body).toEqual({
        requestId: cancel.requestId,
        outcome: 'fulfilled',
        text: `Your appointment on ${when} (UTC) is cancelled.`,
        messages: textOnly(`Your appointment on ${when} (UTC) is cancelled.`),
        sessionParameters: { last_appointment: null },
        source: 'appointments-api',
      });
      expect(
        await queryTestDatabase(t.database.url, `SELECT status FROM appointments WHERE reference = $1`, [reference]),
      ).toEqual([{ status: 'cancelled' }]);
    });

    it('CancelAppointment refuses an appointment whose time has passed, and keeps it', async () => {
      const [{ id: slotId, starts_at: startsAt }] = await queryTestDatabase<{ id: string; starts_at: Date }>(
        t.database.url,
        `INSERT INTO appointment_slots (provider_id, starts_at, ends_at)
         SELECT id, date_trunc('hour', now()) - interval '1 day', date_trunc('hour', now()) - interval '1 day' + interval '30 minutes'
           FROM providers WHERE slug = 'dr-lee'
         RETURNING id, starts_at`,
      );
      await queryTestDatabase(
        t.database.url,
        `INSERT INTO appointments (slot_id, patient_ref, status, reference) VALUES ($1, 'P-1001', 'booked', 'PAST42')`,
        [slotId],
      );
      const cancel = fill(cancelAppointment, { REFERENCE: 'PAST42' });
      const refused = await post(cancel);
      const text = `Your appointment on ${SLOT_TIME.format(startsAt)} (UTC) has already taken place, so it can no longer be cancelled.`;
      // Before: "Your appointment on … (UTC) is cancelled.", and its slot was offered again.
      expect(refused.body).toEqual({
        requestId: cancel.requestId,
        outcome: 'fulfilled',
        text,
        messages: textOnly(text),
        failed: true,
        source: 'appointments-api',
      });
      expect(
        await queryTestDatabase(t.database.url, `SELECT status FROM appointments WHERE reference = 'PAST42'`),
      ).toEqual([{ status: 'booked' }]);
    });

    it('CancelAppointment without a reference uses the session last_appointment, else asks for it', async () => {
      const ask = await post(turn(cancelAppointment, { parameters: { patient_id: 'P-1001' } }));
      expect(ask.body).toMatchObject({
        outcome: 'fulfilled',
        text: 'What is the reference of the appointment?',
        elicit: { parameter: 'reference' },
      });
      const unknown = await post(
        turn(cancelAppointment, {
          parameters: { patient_id: 'P-1001' },
          sessionParameters: { last_appointment: 'zzzzzz' },
        }),
      );
      expect(unknown.body.text).toBe("I couldn't find a booked appointment ZZZZZZ for that patient number.");
    });
  });

  describe('CRM', () => {
    it('QualifyLead: enterprise-sales with score 100, stored', async () => {
      const response = await post(qualifyLead);
      const expected = 'Thanks, Grace Hopper! An account executive will call you within one business day.';
      expect(response.body).toEqual({
        requestId: qualifyLead.requestId,
        outcome: 'fulfilled',
        text: expected,
        messages: textOnly(expected),
        sessionParameters: { lead_queue: 'enterprise-sales', lead_score: 100 },
        source: 'crm-api',
      });
      expect(
        await queryTestDatabase(
          t.database.url,
          `SELECT score, queue, caller_id FROM leads WHERE email = 'grace.hopper@initech.example'`,
        ),
      ).toEqual([{ score: 100, queue: 'enterprise-sales', caller_id: 'local-dev' }]);
    });

    it('QualifyLead: a budget past what the table holds is kept as its largest, and an address over 254 characters is asked again', async () => {
      const huge = await post(
        turn(qualifyLead, {
          parameters: { ...qualifyLead.parameters, email: 'big.budget@initech.example', budget: 5_000_000_000 },
        }),
      );
      // Before: "integer out of range" failed the turn with the apology.
      expect(huge.body.outcome).toBe('fulfilled');
      expect(
        await queryTestDatabase(t.database.url, `SELECT budget FROM leads WHERE email = 'big.budget@initech.example'`),
      ).toEqual([{ budget: 2_147_483_647 }]);
      const long = `${'a'.repeat(60)}@${'b'.repeat(180)}.${'c'.repeat(20)}`;
      const refused = await post(turn(qualifyLead, { parameters: { ...qualifyLead.parameters, email: long } }));
      expect(refused.body).toMatchObject({ outcome: 'fulfilled', elicit: { parameter: 'email', invalid: true } });
    });
  });

  describe('commerce', () => {
    const answer = (fixture: { requestId: string }, text: string, extra: Json = {}) => ({
      requestId: fixture.requestId,
      outcome: 'fulfilled',
      text,
      messages: textOnly(text),
      ...extra,
      source: 'commerce-api',
    });

    it('CheckInventory: per-warehouse stock; the sku in sessionParameters', async () => {
      const response = await post(checkInventory);
      expect(response.body).toEqual(
        answer(
          checkInventory,
          'X200 Wireless Headphones (X200): 42 in stock — 12 in Berlin warehouse, 30 in New Jersey warehouse.',
          { sessionParameters: { sku: 'X200' } },
        ),
      );
    });

    it("GetOrderStatus: the customer's own order; another customer's is not found", async () => {
      expect((await post(getOrderStatus)).body).toEqual(
        answer(getOrderStatus, 'Order ORD-10042 has shipped. Tracking number: DP123456789.'),
      );
      const other = await post(turn(getOrderStatus, { parameters: { user_id: '67890', order_id: 'ORD-10042' } }));
      expect(other.body.text).toBe("I couldn't find order ORD-10042 on your account.");
    });

    it('GetShippingEstimate: the demo carrier estimate', async () => {
      expect((await post(getShippingEstimate)).body).toEqual(
        answer(
          getShippingEstimate,
          'X200 Wireless Headphones ships from New Jersey warehouse with DemoPost ground and should arrive in 5 business days.',
        ),
      );
      // The product named now wins over the one the session remembers from an earlier question.
      const named = await post(
        turn(getShippingEstimate, {
          parameters: { product: 'K7', postcode: '80331' },
          sessionParameters: { sku: 'X200' },
        }),
      );
      expect(named.body.text).toMatch(/^K7 Mechanical Keyboard ships from /);
    });
  });
});
