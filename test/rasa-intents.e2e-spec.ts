import { randomUUID } from 'node:crypto';
import { Client } from 'pg';
import request from 'supertest';
import bookAppointment from './fixtures/rasa/intents/BookAppointment.json';
import cancelAppointment from './fixtures/rasa/intents/CancelAppointment.json';
import checkInventory from './fixtures/rasa/intents/CheckInventory.json';
import findAppointmentSlots from './fixtures/rasa/intents/FindAppointmentSlots.json';
import getAccountBalance from './fixtures/rasa/intents/GetAccountBalance.json';
import getOrderStatus from './fixtures/rasa/intents/GetOrderStatus.json';
import getRecentTransactions from './fixtures/rasa/intents/GetRecentTransactions.json';
import getShippingEstimate from './fixtures/rasa/intents/GetShippingEstimate.json';
import qualifyLead from './fixtures/rasa/intents/QualifyLead.json';
import transferFunds from './fixtures/rasa/intents/TransferFunds.json';
import { LOCAL_DEV_AUTH } from './support/dialogflow-es.fixtures';
import { untilDefined } from './support/eventually';
import { startTestApp, TestApp } from './support/test-app';
import { queryTestDatabase } from './support/test-database';
import { SLOT_TIME } from './support/slot-time';

const PATH = '/v1/webhooks/rasa';
const YES_NO = [
  { title: 'Yes', payload: 'Yes' },
  { title: 'No', payload: 'No' },
];

type Json = Record<string, unknown>;
interface RasaCall {
  next_action: string;
  sender_id: string;
  tracker: {
    sender_id: string;
    slots: Json;
    latest_message: { intent: Json; text: string; entities?: Json[] };
    active_loop: Json;
    events: Json[];
    latest_event_time: number;
  };
}

const USD = new Intl.NumberFormat('en-US', { style: 'currency', currency: 'USD' });
const SHORT_DATE = new Intl.DateTimeFormat('en', { month: 'short', day: 'numeric', timeZone: 'UTC' });

/**
 * A fixture with its `__PLACEHOLDER__`s replaced, as a fresh copy in a conversation of its own. Rasa's turn id is
 * made of the sender, the user message the call answers and the action (see `rasaTurnIdOf`), so two tests starting
 * from the same fixture are two conversations (two senders), not two different bodies for one turn.
 */
function fill<T>(fixture: T, values: object = {}): T {
  let json = JSON.stringify(fixture);
  for (const [key, value] of Object.entries(values)) {
    if (typeof value === 'string') json = json.split(`__${key}__`).join(value);
  }
  const call = JSON.parse(json) as T & RasaCall;
  call.sender_id = call.tracker.sender_id = `${call.sender_id}-${randomUUID()}`;
  return call;
}

/**
 * The next turn of the conversation: the user answered the yes/no question (the `confirmation` bool slot). Rasa
 * appends the turn's events to the tracker (listen, the user's message, the slot it set, the action), so the call
 * has a turn id of its own.
 */
function answered<T>(fixture: T, confirmation: boolean | string): T {
  const call = structuredClone(fixture) as T & RasaCall;
  const intent = { name: confirmation === false ? 'deny' : 'affirm', confidence: 0.99 };
  const text = confirmation === false ? 'no' : 'yes';
  call.tracker.slots.confirmation = confirmation;
  call.tracker.latest_message.intent = intent;
  call.tracker.latest_message.text = text;
  const last = Math.max(...call.tracker.events.map((event) => Number(event.timestamp ?? 0)));
  call.tracker.events.push(
    { event: 'action', timestamp: last + 0.01, name: 'action_listen', policy: 'RulePolicy', confidence: 1 },
    { event: 'user', timestamp: last + 5, text, parse_data: { intent, entities: [] } },
    { event: 'slot', timestamp: last + 5.01, name: 'confirmation', value: confirmation },
    { event: 'action', timestamp: last + 5.1, name: call.next_action, policy: 'RulePolicy', confidence: 1 },
  );
  call.tracker.latest_event_time = last + 5.1;
  return call;
}

describe('Rasa: every built-in intent, from documented-style action calls (real HTTP, real PostgreSQL)', () => {
  let t: TestApp;

  beforeAll(async () => {
    // The transfer form's validation action runs TransferFunds at the dialog stage.
    t = await startTestApp({ env: { RASA_ACTIONS: 'validate_transfer_form=TransferFunds' } });
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

  it('lists an action for every built-in intent', async () => {
    const response = await request(t.baseUrl).get(`${PATH}/actions`).set(LOCAL_DEV_AUTH).expect(200);
    const names = (response.body as { name: string }[]).map((action) => action.name);
    for (const fixture of [
      getAccountBalance,
      getRecentTransactions,
      transferFunds,
      findAppointmentSlots,
      bookAppointment,
      cancelAppointment,
      qualifyLead,
      checkInventory,
      getOrderStatus,
      getShippingEstimate,
    ]) {
      expect(names).toContain(fixture.next_action);
    }
  });

  describe('banking', () => {
    it('action_get_account_balance: the savings balance, then the offer with buttons; unchanged slots are not re-set', async () => {
      const response = await post(getAccountBalance);
      expect(response.body).toEqual({
        events: [],
        responses: [
          { text: 'Your savings account balance is $12,500.00.' },
          {
            text: 'Would you like to see recent transactions?',
            buttons: [
              { title: 'Show recent transactions', payload: 'Show recent transactions' },
              { title: 'No, thanks', payload: 'No, thanks' },
            ],
          },
        ],
      });
    });

    it('answers an action a rule runs while a form is active (the user asked mid-form), as at any other time', async () => {
      const call = fill(getAccountBalance) as typeof getAccountBalance & RasaCall;
      call.tracker.active_loop = { name: 'transfer_form', validate: true, rejected: false };
      const response = await post(call);
      expect(response.body.responses[0]).toEqual({ text: 'Your savings account balance is $12,500.00.' });
    });

    it('action_get_recent_transactions: the last 2 savings transactions from the database', async () => {
      const rows = await queryTestDatabase<{ posted_at: Date; description: string; amount_minor: string }>(
        t.database.url,
        `SELECT x.posted_at, x.description, x.amount_minor FROM transactions x
           JOIN accounts a ON a.id = x.account_id JOIN customers c ON c.id = a.customer_id
          WHERE c.customer_number = '12345' AND a.account_type = 'savings'
          ORDER BY x.posted_at DESC, x.id ASC LIMIT 2`,
      );
      const response = await post(getRecentTransactions);
      expect(response.body).toEqual({
        events: [],
        responses: [
          { text: 'Here are the last 2 transactions on your savings account:' },
          ...rows.map((row) => ({
            text: `${SHORT_DATE.format(row.posted_at)}: ${row.description}, ${USD.format(Number(row.amount_minor) / 100)}`,
          })),
        ],
      });
    });

    describe('action_transfer_funds', () => {
      it('asks with Yes/No buttons, then moves the money once the confirmation slot is true', async () => {
        const before = await balances();
        const call = fill(transferFunds);
        const ask = await post(call);
        expect(ask.body).toEqual({
          events: [],
          responses: [
            { text: 'Transfer $250.00 from your checking account to your savings account?', buttons: YES_NO },
          ],
        });
        expect(await balances()).toEqual(before);

        const done = await post(answered(call, true));
        expect(done.body).toEqual({
          // The answer is used up: the next transfer must be confirmed again.
          events: [{ event: 'slot', name: 'confirmation', value: null }],
          responses: [
            {
              text:
                'Done: I moved $250.00 from your checking account to your savings account. ' +
                `Your checking balance is now ${USD.format(Number(before.checking - 25000n) / 100)}.`,
            },
          ],
        });
        expect(await balances()).toEqual({ checking: before.checking - 25000n, savings: before.savings + 25000n });
      });

      it('with a `confirming` slot declared, a "yes" counts only for the transfer the question was about', async () => {
        const before = await balances();
        const call = fill(transferFunds) as typeof transferFunds & RasaCall & { domain: { slots: Json } };
        call.domain.slots.confirming = { type: 'any', influence_conversation: false, mappings: [{ type: 'custom' }] };
        const ask = await post(call);
        expect(ask.body.events).toEqual([
          { event: 'slot', name: 'confirming', value: expect.stringMatching(/^[\w-]{22}\.[\w-]{12}$/) },
        ]);
        const setAmount = (turn: RasaCall, amount: number) => {
          turn.tracker.slots.amount = amount;
          for (const entity of turn.tracker.latest_message.entities ?? [])
            if (entity.entity === 'amount') entity.value = amount;
        };
        // The user said "yes, but 900": the amount slot changed in the turn of the answer.
        const changed = answered(call, true);
        changed.tracker.slots.confirming = ask.body.events[0].value;
        setAmount(changed, 900);
        const again = await post(changed);
        expect(again.body.responses).toEqual([
          { text: 'Transfer $900.00 from your checking account to your savings account?', buttons: YES_NO },
        ]);
        expect(await balances()).toEqual(before);

        // "Yes" to that question moves the $900; the answer is used up and the question ended.
        const yes = answered(changed, true);
        const events = again.body.events as Json[];
        yes.tracker.slots.confirming = events.find((event) => event.name === 'confirming')?.value;
        setAmount(yes, 900);
        const done = await post(yes);
        expect(done.body.responses[0].text).toMatch(/^Done: I moved \$900\.00 /);
        expect(done.body.events).toEqual([
          { event: 'slot', name: 'confirmation', value: null },
          { event: 'slot', name: 'confirming', value: 'answered' },
        ]);
        const moved = { checking: before.checking - 90000n, savings: before.savings + 90000n };
        expect(await balances()).toEqual(moved);

        // The user says "yes" again (the slots still hold the transfer): asked again, not moved a second time.
        const yesAgain = answered(yes, true);
        yesAgain.tracker.slots.confirming = 'answered';
        setAmount(yesAgain, 900);
        const askedAgain = await post(yesAgain);
        expect(askedAgain.body.responses).toEqual([
          { text: 'Transfer $900.00 from your checking account to your savings account?', buttons: YES_NO },
        ]);
        expect(await balances()).toEqual(moved);
      });

      it('accepts a text "yes" in the confirmation slot too', async () => {
        const before = await balances();
        const done = await post(answered(fill(transferFunds), 'yes'));
        expect(done.body.responses[0].text).toMatch(/^Done: I moved \$250\.00 /);
        expect(await balances()).toEqual({ checking: before.checking - 25000n, savings: before.savings + 25000n });
      });

      it('writes nothing when the confirmation slot is false, and resets the slot', async () => {
        const before = await balances();
        const response = await post(answered(fill(transferFunds), false));
        expect(response.body).toEqual({
          events: [{ event: 'slot', name: 'confirmation', value: null }],
          responses: [{ text: "OK, I won't make that transfer." }],
        });
        expect(await balances()).toEqual(before);
      });

      it('resets the confirmation slot when a confirmed transfer cannot be made, so the next one is confirmed again', async () => {
        const before = await balances();
        const tooMuch = answered(fill(transferFunds), true) as typeof transferFunds & RasaCall;
        (tooMuch.tracker.slots as Json).amount = 99_999_999;
        for (const entity of tooMuch.tracker.latest_message.entities)
          if (entity.entity === 'amount') entity.value = 99_999_999;
        const refused = await post(tooMuch);
        expect(refused.body.responses[0].text).toMatch(
          /^Your checking account has .*, which is not enough to transfer /,
        );
        // Before, the slot kept its "yes": "OK, move $3,000" then moved the money with no question asked.
        expect(refused.body.events).toEqual([{ event: 'slot', name: 'confirmation', value: null }]);
        expect(await balances()).toEqual(before);
      });

      it('asks for a missing amount, setting requested_slot', async () => {
        const call = fill(transferFunds) as typeof transferFunds & RasaCall;
        (call.tracker.slots as Json).amount = null;
        call.tracker.latest_message.entities = call.tracker.latest_message.entities.filter(
          (e) => e.entity !== 'amount',
        );
        const response = await post(call);
        expect(response.body).toEqual({
          events: [{ event: 'slot', name: 'requested_slot', value: 'amount' }],
          responses: [{ text: 'How much would you like to transfer?' }],
        });
      });

      it("as the form's validation step, a confirmed transfer is left to Rasa (no events, no responses) and writes nothing", async () => {
        const before = await balances();
        const call = answered(fill(transferFunds), true) as typeof transferFunds & RasaCall;
        call.next_action = 'validate_transfer_form';
        call.tracker.active_loop = { name: 'transfer_form', validate: true, rejected: false };
        const response = await post(call);
        expect(response.body).toEqual({ events: [], responses: [] });
        expect(await balances()).toEqual(before);
      });
    });
  });

  describe('appointments', () => {
    it('action_find_appointment_slots: free times as buttons; remembers the provider, requests no slot', async () => {
      const slot = await freeSlot('dr-lee');
      const rows = await queryTestDatabase<{ starts_at: Date }>(
        t.database.url,
        `SELECT s.starts_at FROM appointment_slots s JOIN providers p ON p.id = s.provider_id
          WHERE p.slug = 'dr-lee' AND s.starts_at >= $1::date AND s.starts_at < $1::date + 1
            AND NOT EXISTS (SELECT 1 FROM appointments a WHERE a.slot_id = s.id AND a.status = 'booked')
          ORDER BY s.starts_at LIMIT 6`,
        [slot.DATE],
      );
      const response = await post(fill(findAppointmentSlots, slot));
      expect(response.body).toEqual({
        events: [{ event: 'slot', name: 'provider', value: 'dr-lee' }],
        responses: [
          {
            text: `Dr. Ada Lee has these free times (UTC): ${rows.map((r) => SLOT_TIME.format(r.starts_at)).join('; ')}.`,
            buttons: rows.map((r) => {
              const time = r.starts_at.toISOString().slice(11, 16);
              return { title: time, payload: time };
            }),
          },
        ],
      });
    });

    it('action_book_appointment: asks, books on confirmation (last_appointment slot); action_cancel_appointment cancels', async () => {
      const slot = await freeSlot('dr-lee');
      const when = SLOT_TIME.format(slot.at);
      const call = fill(bookAppointment, slot);

      const ask = await post(call);
      expect(ask.body).toEqual({
        events: [],
        responses: [{ text: `Book Dr. Ada Lee on ${when} (UTC)?`, buttons: YES_NO }],
      });

      const booked = await post(answered(call, true));
      const reference = /Your reference is ([A-Z2-9]{6})\.$/.exec(String(booked.body.responses?.[0]?.text))?.[1] ?? '';
      expect(reference).toMatch(/^[A-Z2-9]{6}$/);
      expect(booked.body).toEqual({
        events: [
          { event: 'slot', name: 'last_appointment', value: reference },
          { event: 'slot', name: 'confirmation', value: null },
        ],
        responses: [{ text: `You're booked with Dr. Ada Lee on ${when} (UTC). Your reference is ${reference}.` }],
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
      cancel.tracker.slots.last_appointment = reference as unknown as null;
      const cancelled = await post(cancel);
      expect(cancelled.body).toEqual({
        events: [{ event: 'slot', name: 'last_appointment', value: null }],
        responses: [{ text: `Your appointment on ${when} (UTC) is cancelled.` }],
      });
      expect(
        await queryTestDatabase(t.database.url, `SELECT status FROM appointments WHERE reference = $1`, [reference]),
      ).toEqual([{ status: 'cancelled' }]);
    });

    it('action_book_appointment: a "no" books nothing and resets the confirmation slot', async () => {
      const slot = await freeSlot('dr-lee');
      const response = await post(answered(fill(bookAppointment, slot), false));
      expect(response.body).toEqual({
        events: [{ event: 'slot', name: 'confirmation', value: null }],
        responses: [{ text: "OK, I haven't booked anything." }],
      });
      expect(await freeSlot('dr-lee')).toEqual(slot);
    });
  });

  describe('CRM', () => {
    it('action_qualify_lead: thanks by name, sets lead_queue and lead_score, stores the lead', async () => {
      const response = await post(qualifyLead);
      expect(response.body).toEqual({
        events: [
          { event: 'slot', name: 'lead_queue', value: 'enterprise-sales' },
          { event: 'slot', name: 'lead_score', value: 100 },
        ],
        responses: [{ text: 'Thanks, Grace Hopper! An account executive will call you within one business day.' }],
      });
      const rows = await queryTestDatabase<{ score: number; queue: string; decision_maker: boolean }>(
        t.database.url,
        `SELECT score, queue, decision_maker FROM leads WHERE email = 'grace.hopper@initech.example'`,
      );
      expect(rows).toEqual([{ score: 100, queue: 'enterprise-sales', decision_maker: true }]);
    });
  });

  describe('commerce', () => {
    it('action_check_inventory: per-warehouse stock; sets the sku slot', async () => {
      const response = await post(checkInventory);
      expect(response.body).toEqual({
        events: [{ event: 'slot', name: 'sku', value: 'X200' }],
        responses: [
          {
            text: 'X200 Wireless Headphones (X200): 42 in stock — 12 in Berlin warehouse, 30 in New Jersey warehouse.',
          },
        ],
      });
    });

    it("action_get_order_status: the customer's own order", async () => {
      const response = await post(getOrderStatus);
      expect(response.body).toEqual({
        events: [],
        responses: [{ text: 'Order ORD-10042 has shipped. Tracking number: DP123456789.' }],
      });
    });

    it('action_get_shipping_estimate: the demo carrier estimate', async () => {
      const response = await post(getShippingEstimate);
      expect(response.body).toEqual({
        events: [],
        responses: [
          {
            text: 'X200 Wireless Headphones ships from New Jersey warehouse with DemoPost ground and should arrive in 5 business days.',
          },
        ],
      });
    });
  });
});

/**
 * Rasa keeps a slot until told otherwise: a "yes" left in the `confirmation` slot after a reply that was not the
 * handler's own ("still working") had the transfer asked anew made again without a question.
 */
describe('Rasa: a confirmed transfer slower than the deadline (real HTTP, real PostgreSQL, a real row lock)', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp({ env: { RASA_DEADLINE_MS: '1000' } });
  });
  afterAll(() => t.close());

  const customerAccounts = `SELECT a.account_type, a.balance_minor FROM accounts a JOIN customers c ON c.id = a.customer_id
    WHERE c.customer_number = '12345' ORDER BY a.account_type`;

  it('uses the "yes" up in the interim reply; the transfer is made once', async () => {
    const before = await queryTestDatabase(t.database.url, customerAccounts);
    const holder = new Client({ connectionString: t.database.url });
    await holder.connect();
    try {
      await holder.query('BEGIN');
      await holder.query(`${customerAccounts} FOR UPDATE OF a`);
      const response = await request(t.baseUrl)
        .post(PATH)
        .set(LOCAL_DEV_AUTH)
        .send(answered(fill(transferFunds), true))
        .expect(200);
      expect(response.body.responses[0].text).toMatch(/^I'm still working on that/);
      expect(response.body.events).toContainEqual({ event: 'slot', name: 'confirmation', value: null });
    } finally {
      await holder.query('ROLLBACK').catch(() => undefined);
      await holder.end();
    }
    const moved = await untilDefined(async () => {
      const now = await queryTestDatabase<{ balance_minor: string }>(t.database.url, customerAccounts);
      return now[0].balance_minor !== before[0].balance_minor ? now : undefined;
    });
    const [checking, savings] = before as { balance_minor: string }[];
    expect(moved).toEqual([
      { account_type: 'checking', balance_minor: String(BigInt(checking.balance_minor) - 25000n) },
      { account_type: 'savings', balance_minor: String(BigInt(savings.balance_minor) + 25000n) },
    ]);
  });
});
