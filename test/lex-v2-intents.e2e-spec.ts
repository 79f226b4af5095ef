import { randomUUID } from 'node:crypto';
import request from 'supertest';
import bookAppointment from './fixtures/lex-v2/intents/BookAppointment.json';
import cancelAppointment from './fixtures/lex-v2/intents/CancelAppointment.json';
import checkInventory from './fixtures/lex-v2/intents/CheckInventory.json';
import findAppointmentSlots from './fixtures/lex-v2/intents/FindAppointmentSlots.json';
import getAccountBalance from './fixtures/lex-v2/intents/GetAccountBalance.json';
import getOrderStatus from './fixtures/lex-v2/intents/GetOrderStatus.json';
import getRecentTransactions from './fixtures/lex-v2/intents/GetRecentTransactions.json';
import getShippingEstimate from './fixtures/lex-v2/intents/GetShippingEstimate.json';
import qualifyLead from './fixtures/lex-v2/intents/QualifyLead.json';
import transferFunds from './fixtures/lex-v2/intents/TransferFunds.json';
import { LOCAL_DEV_AUTH } from './support/dialogflow-es.fixtures';
import { startTestApp, TestApp } from './support/test-app';
import { queryTestDatabase } from './support/test-database';
import { SLOT_TIME } from './support/slot-time';

const PATH = '/v1/webhooks/lex-v2';
const REQUEST_ATTRIBUTES = { channel: 'web' };
const SESSION_ATTRIBUTES = { customer_tier: 'gold' };

type Json = Record<string, unknown>;
type LexEvent = typeof transferFunds;
type LexEventLike = { sessionState: { originatingRequestId: string } };

const USD = new Intl.NumberFormat('en-US', { style: 'currency', currency: 'USD' });
const SHORT_DATE = new Intl.DateTimeFormat('en-US', { month: 'short', day: 'numeric', timeZone: 'UTC' });

/**
 * A copy of the event for a new user utterance. Lex gives every utterance its own `originatingRequestId`, shared by
 * the dialog and fulfillment code hook calls it makes for that utterance; a repeated id (and invocation source) is a
 * retry of the same call, answered from the idempotency store.
 */
function utterance<T extends LexEventLike>(event: T, originatingRequestId: string = randomUUID()): T {
  const next = structuredClone(event);
  next.sessionState.originatingRequestId = originatingRequestId;
  return next;
}

/** A fixture with its `__PLACEHOLDER__`s replaced, as a fresh copy: a new utterance. */
function fill<T extends LexEventLike>(fixture: T, values: object = {}): T {
  let json = JSON.stringify(fixture);
  for (const [key, value] of Object.entries(values)) {
    if (typeof value === 'string') json = json.split(`__${key}__`).join(value);
  }
  return utterance(JSON.parse(json) as T);
}

/**
 * The fixture as a later turn of the same conversation: another invocation source and confirmation state, for a new
 * utterance unless the `originatingRequestId` of the utterance it belongs to is given.
 */
function turn<T extends LexEvent | typeof bookAppointment>(
  event: T,
  invocationSource: 'DialogCodeHook' | 'FulfillmentCodeHook',
  confirmationState: 'None' | 'Confirmed' | 'Denied',
  originatingRequestId?: string,
): T {
  const next = utterance(event, originatingRequestId) as LexEvent;
  next.invocationSource = invocationSource;
  next.sessionState.intent.confirmationState = confirmationState;
  next.sessionState.intent.state = invocationSource === 'FulfillmentCodeHook' ? 'ReadyForFulfillment' : 'InProgress';
  delete (next as Partial<LexEvent>).proposedNextState;
  return next as T;
}

function text(content: string) {
  return { contentType: 'PlainText', content };
}

describe('Lex V2: every built-in intent, from documented-style events (real HTTP, real PostgreSQL)', () => {
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

  /** The n-th free slot (0-based) of a provider, as the fixture's `__DATE__`/`__TIME__` values and as a Date. */
  async function freeSlot(provider: string, n = 0): Promise<{ DATE: string; TIME: string; at: Date }> {
    const [slot] = await queryTestDatabase<{ starts_at: Date }>(
      t.database.url,
      `SELECT s.starts_at FROM appointment_slots s JOIN providers p ON p.id = s.provider_id
        WHERE p.slug = $1 AND s.starts_at > now()
          AND NOT EXISTS (SELECT 1 FROM appointments a WHERE a.slot_id = s.id AND a.status = 'booked')
        ORDER BY s.starts_at OFFSET $2 LIMIT 1`,
      [provider, n],
    );
    const iso = slot.starts_at.toISOString();
    return { DATE: iso.slice(0, 10), TIME: iso.slice(11, 16), at: slot.starts_at };
  }

  describe('banking', () => {
    it('GetAccountBalance: Close/Fulfilled with the savings balance and a quick-reply card', async () => {
      const response = await post(getAccountBalance);
      expect(response.body).toEqual({
        sessionState: {
          sessionAttributes: {
            ...SESSION_ATTRIBUTES,
            'x-webhook-fulfillment:json': '{"contexts":{"account_info":["balance"]}}',
          },
          // The handler's `account-info` context is sent under Lex's allowed name, with string attribute values.
          activeContexts: [
            {
              name: 'account_info',
              contextAttributes: {
                user_id: '12345',
                account_type: 'savings',
                balance: '12500',
                currency: 'USD',
                last_updated: expect.any(String),
              },
              timeToLive: { timeToLiveInSeconds: 600, turnsToLive: 5 },
            },
          ],
          dialogAction: { type: 'Close' },
          intent: {
            name: 'GetAccountBalance',
            slots: getAccountBalance.sessionState.intent.slots,
            state: 'Fulfilled',
            confirmationState: 'None',
          },
        },
        messages: [
          text('Your savings account balance is $12,500.00.'),
          {
            contentType: 'ImageResponseCard',
            imageResponseCard: {
              title: 'Would you like to see recent transactions?',
              buttons: [
                { text: 'Show recent transactions', value: 'Show recent transactions' },
                { text: 'No, thanks', value: 'No, thanks' },
              ],
            },
          },
        ],
        requestAttributes: REQUEST_ATTRIBUTES,
      });
    });

    it('GetRecentTransactions: the last 2 savings transactions from the database, newest first', async () => {
      const rows = await queryTestDatabase<{ posted_at: Date; description: string; amount_minor: string }>(
        t.database.url,
        `SELECT x.posted_at, x.description, x.amount_minor FROM transactions x
           JOIN accounts a ON a.id = x.account_id JOIN customers c ON c.id = a.customer_id
          WHERE c.customer_number = '12345' AND a.account_type = 'savings'
          ORDER BY x.posted_at DESC, x.id ASC LIMIT 2`,
      );
      expect(rows).toHaveLength(2);
      const lines = rows.map(
        (row) =>
          `${SHORT_DATE.format(row.posted_at)}: ${row.description}, ${USD.format(Number(row.amount_minor) / 100)}`,
      );
      const response = await post(getRecentTransactions);
      expect(response.body).toEqual({
        sessionState: {
          sessionAttributes: SESSION_ATTRIBUTES,
          activeContexts: [
            {
              name: 'account_info',
              contextAttributes: { user_id: '12345', account_type: 'savings' },
              timeToLive: { timeToLiveInSeconds: 600, turnsToLive: 5 },
            },
          ],
          dialogAction: { type: 'Close' },
          intent: {
            name: 'GetRecentTransactions',
            slots: getRecentTransactions.sessionState.intent.slots,
            state: 'Fulfilled',
            confirmationState: 'None',
          },
        },
        messages: [text('Here are the last 2 transactions on your savings account:'), ...lines.map(text)],
        requestAttributes: REQUEST_ATTRIBUTES,
      });
    });

    describe('TransferFunds', () => {
      const QUESTION = 'Transfer $250.00 from your checking account to your savings account?';

      it('ConfirmIntent at the dialog hook → Confirmed delegates → fulfillment closes Fulfilled and moves the money', async () => {
        const before = await balances();

        const ask = await post(transferFunds);
        expect(ask.body.sessionState.dialogAction).toEqual({ type: 'ConfirmIntent' });
        expect(ask.body.sessionState.intent).toEqual({
          name: 'TransferFunds',
          slots: transferFunds.sessionState.intent.slots,
          state: 'InProgress',
          confirmationState: 'None',
        });
        expect(ask.body.messages).toEqual([text(QUESTION)]);
        // The prompt records what it asked about, so that the "yes" counts for that transfer only.
        const asked = ask.body.sessionState.sessionAttributes as Record<string, string>;
        expect(asked).toEqual({ ...SESSION_ATTRIBUTES, confirming: expect.stringMatching(/^[\w-]{22}\.[\w-]{12}$/) });
        expect(ask.body.requestAttributes).toEqual(REQUEST_ATTRIBUTES);
        expect(await balances()).toEqual(before);

        const yes = turn(transferFunds, 'DialogCodeHook', 'Confirmed');
        yes.sessionState.sessionAttributes = asked as typeof yes.sessionState.sessionAttributes;
        const confirmed = await post(yes);
        expect(confirmed.body.sessionState.dialogAction).toEqual({ type: 'Delegate' });
        expect(confirmed.body.sessionState.intent).toEqual({
          name: 'TransferFunds',
          slots: transferFunds.sessionState.intent.slots,
          state: 'InProgress',
          confirmationState: 'Confirmed',
        });
        expect(confirmed.body.messages).toBeUndefined();
        expect(await balances()).toEqual(before);

        // Lex then calls the fulfillment code hook for the same utterance ("yes"), with the same originatingRequestId.
        const fulfil = turn(transferFunds, 'FulfillmentCodeHook', 'Confirmed', yes.sessionState.originatingRequestId);
        fulfil.sessionState.sessionAttributes = confirmed.body.sessionState.sessionAttributes;
        const done = await post(fulfil);
        expect(done.body).toEqual({
          sessionState: {
            // The question ends with the transfer: a later "yes" is asked again.
            sessionAttributes: { ...SESSION_ATTRIBUTES, confirming: 'answered' },
            activeContexts: [],
            dialogAction: { type: 'Close' },
            intent: {
              name: 'TransferFunds',
              slots: transferFunds.sessionState.intent.slots,
              state: 'Fulfilled',
              confirmationState: 'Confirmed',
            },
          },
          messages: [
            text(
              'Done: I moved $250.00 from your checking account to your savings account. ' +
                `Your checking balance is now ${USD.format(Number(before.checking - 25000n) / 100)}.`,
            ),
          ],
          requestAttributes: REQUEST_ATTRIBUTES,
        });
        expect(await balances()).toEqual({ checking: before.checking - 25000n, savings: before.savings + 25000n });
      });

      it('Confirmed for another amount than the prompt asked about: asks again about the new one, moving nothing', async () => {
        const before = await balances();
        const ask = await post(turn(transferFunds, 'DialogCodeHook', 'None'));
        expect(ask.body.messages).toEqual([text(QUESTION)]);
        // The amount slot changed after the question (a dialog code hook, a channel, Lex re-filling it), and the
        // intent arrives Confirmed: the "yes" was given for $250.
        const changed = turn(transferFunds, 'FulfillmentCodeHook', 'Confirmed');
        changed.sessionState.sessionAttributes = ask.body.sessionState.sessionAttributes;
        const slots = changed.sessionState.intent.slots as Json;
        slots.amount = {
          shape: 'Scalar',
          value: { originalValue: '900', interpretedValue: '900', resolvedValues: ['900'] },
        };
        const again = await post(changed);
        expect(again.body.sessionState.dialogAction).toEqual({ type: 'ConfirmIntent' });
        expect(again.body.sessionState.intent).toMatchObject({ state: 'InProgress', confirmationState: 'None' });
        expect(again.body.messages).toEqual([
          text('Transfer $900.00 from your checking account to your savings account?'),
        ]);
        const reasked = again.body.sessionState.sessionAttributes as Record<string, string>;
        expect(reasked.confirming).toMatch(/^[\w-]{22}\.[\w-]{12}$/);
        expect(reasked.confirming).not.toBe(ask.body.sessionState.sessionAttributes.confirming);
        expect(await balances()).toEqual(before);
      });

      it('a FulfillmentCodeHook without a confirmation still asks first (ConfirmIntent), writing nothing', async () => {
        const before = await balances();
        const response = await post(turn(transferFunds, 'FulfillmentCodeHook', 'None'));
        expect(response.body.sessionState.dialogAction).toEqual({ type: 'ConfirmIntent' });
        expect(response.body.sessionState.intent.state).toBe('InProgress');
        expect(response.body.messages).toEqual([text(QUESTION)]);
        expect(await balances()).toEqual(before);
      });

      it('Denied: closes the intent as Failed, drops the confirmation attribute and writes nothing', async () => {
        const before = await balances();
        const event = turn(transferFunds, 'DialogCodeHook', 'Denied');
        // A confirmation answer left in the session (e.g. by a channel) is used up by the "no".
        (event.sessionState.sessionAttributes as Json).confirmation = 'no';
        const response = await post(event);
        expect(response.body).toEqual({
          sessionState: {
            sessionAttributes: SESSION_ATTRIBUTES,
            activeContexts: [],
            dialogAction: { type: 'Close' },
            intent: {
              name: 'TransferFunds',
              slots: transferFunds.sessionState.intent.slots,
              state: 'Failed',
              confirmationState: 'Denied',
            },
          },
          messages: [text("OK, I won't make that transfer.")],
          requestAttributes: REQUEST_ATTRIBUTES,
        });
        expect(await balances()).toEqual(before);
      });

      it('answers each labelled dialog step that calls the code hook in one request; a step retried is replayed', async () => {
        // Conditional branching: two dialog steps of one utterance each call the dialog code hook, with their labels.
        const first = turn(transferFunds, 'DialogCodeHook', 'None');
        const step = (invocationLabel: string) => ({ ...first, invocationLabel });
        const one = await post(step('AfterSlots'));
        expect(one.body.sessionState.dialogAction).toEqual({ type: 'ConfirmIntent' });
        const other = await post(step('BeforeConfirmation'));
        expect(other.body.sessionState.dialogAction).toEqual({ type: 'ConfirmIntent' });
        const again = await post(step('BeforeConfirmation'));
        expect(again.body).toEqual(other.body);
        // Each label a turn of its own (neither step is a replay of the other); the retried step replayed.
        expect(one.headers['idempotent-replayed']).toBeUndefined();
        expect(other.headers['idempotent-replayed']).toBeUndefined();
        expect(again.headers['idempotent-replayed']).toBe('true');
      });

      it('elicits a missing amount with ElicitSlot', async () => {
        const event = utterance(transferFunds);
        (event.sessionState.intent.slots as Json).amount = null;
        const response = await post(event);
        expect(response.body.sessionState.dialogAction).toEqual({ type: 'ElicitSlot', slotToElicit: 'amount' });
        expect(response.body.sessionState.intent).toMatchObject({ state: 'InProgress', confirmationState: 'None' });
        expect(response.body.messages).toEqual([text('How much would you like to transfer?')]);
      });
    });
  });

  describe('appointments', () => {
    it('FindAppointmentSlots: the free times of Dr. Lee that day, closing the intent (no ElicitSlot for the time)', async () => {
      const slot = await freeSlot('dr-lee');
      const rows = await queryTestDatabase<{ starts_at: Date }>(
        t.database.url,
        `SELECT s.starts_at FROM appointment_slots s JOIN providers p ON p.id = s.provider_id
          WHERE p.slug = 'dr-lee' AND s.starts_at >= $1::date AND s.starts_at < $1::date + 1
            AND NOT EXISTS (SELECT 1 FROM appointments a WHERE a.slot_id = s.id AND a.status = 'booked')
          ORDER BY s.starts_at LIMIT 6`,
        [slot.DATE],
      );
      const event = fill(findAppointmentSlots, slot);
      const expectedText = `Dr. Ada Lee has these free times (UTC): ${rows.map((r) => SLOT_TIME.format(r.starts_at)).join('; ')}.`;
      const times = rows.map((r) => r.starts_at.toISOString().slice(11, 16));
      const response = await post(event);
      expect(response.body).toEqual({
        sessionState: {
          sessionAttributes: { ...SESSION_ATTRIBUTES, provider: 'dr-lee' },
          activeContexts: [],
          dialogAction: { type: 'Close' },
          intent: {
            name: 'FindAppointmentSlots',
            slots: event.sessionState.intent.slots,
            state: 'Fulfilled',
            confirmationState: 'None',
          },
        },
        messages: [
          text(expectedText),
          {
            contentType: 'ImageResponseCard',
            imageResponseCard: {
              title: expectedText,
              // Lex cards hold at most 5 buttons.
              buttons: times.slice(0, 5).map((time) => ({ text: time, value: time })),
            },
          },
        ],
        requestAttributes: REQUEST_ATTRIBUTES,
      });
    });

    it('BookAppointment: ConfirmIntent → Confirmed fulfillment books with a reference; CancelAppointment cancels it', async () => {
      const slot = await freeSlot('dr-lee');
      const event = fill(bookAppointment, slot);
      const when = SLOT_TIME.format(slot.at);

      const ask = await post(event);
      expect(ask.body).toEqual({
        sessionState: {
          sessionAttributes: { ...SESSION_ATTRIBUTES, confirming: expect.stringMatching(/^[\w-]{22}\.[\w-]{12}$/) },
          activeContexts: [],
          dialogAction: { type: 'ConfirmIntent' },
          intent: {
            name: 'BookAppointment',
            slots: event.sessionState.intent.slots,
            state: 'InProgress',
            confirmationState: 'None',
          },
        },
        messages: [text(`Book Dr. Ada Lee on ${when} (UTC)?`)],
        requestAttributes: REQUEST_ATTRIBUTES,
      });

      const yes = turn(event, 'DialogCodeHook', 'Confirmed');
      yes.sessionState.sessionAttributes = ask.body.sessionState.sessionAttributes;
      const delegated = await post(yes);
      expect(delegated.body.sessionState.dialogAction).toEqual({ type: 'Delegate' });
      expect(delegated.body.messages).toBeUndefined();

      const fulfil = turn(event, 'FulfillmentCodeHook', 'Confirmed', yes.sessionState.originatingRequestId);
      fulfil.sessionState.sessionAttributes = delegated.body.sessionState.sessionAttributes;
      const booked = await post(fulfil);
      const content = String(booked.body.messages?.[0]?.content);
      const reference = /Your reference is ([A-Z2-9]{6})\.$/.exec(content)?.[1] ?? '';
      expect(reference).toMatch(/^[A-Z2-9]{6}$/);
      expect(booked.body).toEqual({
        sessionState: {
          sessionAttributes: {
            ...SESSION_ATTRIBUTES,
            confirming: 'answered',
            last_appointment: reference,
          },
          activeContexts: [],
          dialogAction: { type: 'Close' },
          intent: {
            name: 'BookAppointment',
            slots: event.sessionState.intent.slots,
            state: 'Fulfilled',
            confirmationState: 'Confirmed',
          },
        },
        messages: [text(`You're booked with Dr. Ada Lee on ${when} (UTC). Your reference is ${reference}.`)],
        requestAttributes: REQUEST_ATTRIBUTES,
      });
      const rows = await queryTestDatabase(
        t.database.url,
        `SELECT a.patient_ref, s.starts_at FROM appointments a JOIN appointment_slots s ON s.id = a.slot_id
          WHERE a.reference = $1 AND a.status = 'booked'`,
        [reference],
      );
      expect(rows).toEqual([{ patient_ref: 'P-1001', starts_at: slot.at }]);

      const cancel = fill(cancelAppointment, { REFERENCE: reference });
      cancel.sessionState.sessionAttributes = {
        ...SESSION_ATTRIBUTES,
        last_appointment: reference,
      } as typeof cancel.sessionState.sessionAttributes;
      const cancelled = await post(cancel);
      expect(cancelled.body).toEqual({
        sessionState: {
          sessionAttributes: SESSION_ATTRIBUTES,
          activeContexts: [],
          dialogAction: { type: 'Close' },
          intent: {
            name: 'CancelAppointment',
            slots: cancel.sessionState.intent.slots,
            state: 'Fulfilled',
            confirmationState: 'None',
          },
        },
        messages: [text(`Your appointment on ${when} (UTC) is cancelled.`)],
        requestAttributes: REQUEST_ATTRIBUTES,
      });
      const after = await queryTestDatabase(t.database.url, `SELECT status FROM appointments WHERE reference = $1`, [
        reference,
      ]);
      expect(after).toEqual([{ status: 'cancelled' }]);

      // The user asks to cancel it again (a new utterance): it is cancelled; nothing changes.
      const again = await post(utterance(cancel));
      expect(again.body.messages).toEqual([text(`Your appointment on ${when} (UTC) is cancelled.`)]);
      expect(again.body.sessionState.intent.state).toBe('Fulfilled');
    });

    it('BookAppointment Denied: closes the intent as Failed, drops the confirmation attribute and books nothing', async () => {
      const slot = await freeSlot('dr-lee');
      const event = turn(fill(bookAppointment, slot), 'DialogCodeHook', 'Denied');
      (event.sessionState.sessionAttributes as Json).confirmation = 'no';
      const response = await post(event);
      expect(response.body).toEqual({
        sessionState: {
          sessionAttributes: SESSION_ATTRIBUTES,
          activeContexts: [],
          dialogAction: { type: 'Close' },
          intent: {
            name: 'BookAppointment',
            slots: event.sessionState.intent.slots,
            state: 'Failed',
            confirmationState: 'Denied',
          },
        },
        messages: [text("OK, I haven't booked anything.")],
        requestAttributes: REQUEST_ATTRIBUTES,
      });
      expect(await freeSlot('dr-lee')).toEqual(slot);
    });
  });

  describe('CRM', () => {
    it('QualifyLead: scores 100, queues enterprise-sales, stores the lead and the queue as session attributes', async () => {
      const response = await post(qualifyLead);
      expect(response.body).toEqual({
        sessionState: {
          sessionAttributes: {
            ...SESSION_ATTRIBUTES,
            lead_queue: 'enterprise-sales',
            lead_score: '100',
            'x-webhook-fulfillment:json': '{"session":["lead_score"]}',
          },
          activeContexts: [],
          dialogAction: { type: 'Close' },
          intent: {
            name: 'QualifyLead',
            slots: qualifyLead.sessionState.intent.slots,
            state: 'Fulfilled',
            confirmationState: 'None',
          },
        },
        messages: [text('Thanks, Grace Hopper! An account executive will call you within one business day.')],
        requestAttributes: REQUEST_ATTRIBUTES,
      });
      const rows = await queryTestDatabase(
        t.database.url,
        `SELECT name, company, company_size, budget, timeline_months, decision_maker, score, queue, caller_id
           FROM leads WHERE email = 'grace.hopper@initech.example'`,
      );
      expect(rows).toEqual([
        expect.objectContaining({
          name: 'Grace Hopper',
          company: 'Initech',
          decision_maker: true,
          score: 100,
          queue: 'enterprise-sales',
          caller_id: 'local-dev',
        }),
      ]);
      expect(Number(rows[0].company_size)).toBe(250);
      expect(Number(rows[0].budget)).toBe(75000);
      expect(Number(rows[0].timeline_months)).toBe(2);
    });
  });

  describe('commerce', () => {
    const closed = (event: LexEvent | Json, content: string, sessionAttributes: Json = SESSION_ATTRIBUTES) => ({
      sessionState: {
        sessionAttributes,
        activeContexts: [],
        dialogAction: { type: 'Close' },
        intent: {
          name: (event as LexEvent).sessionState.intent.name,
          slots: (event as LexEvent).sessionState.intent.slots,
          state: 'Fulfilled',
          confirmationState: 'None',
        },
      },
      messages: [text(content)],
      requestAttributes: REQUEST_ATTRIBUTES,
    });

    it('CheckInventory: per-warehouse stock, remembering the SKU as a session attribute', async () => {
      const response = await post(checkInventory);
      expect(response.body).toEqual(
        closed(
          checkInventory,
          'X200 Wireless Headphones (X200): 42 in stock — 12 in Berlin warehouse, 30 in New Jersey warehouse.',
          { ...SESSION_ATTRIBUTES, sku: 'X200' },
        ),
      );
    });

    it("GetOrderStatus: the customer's own order, with its tracking number", async () => {
      const response = await post(getOrderStatus);
      expect(response.body).toEqual(
        closed(getOrderStatus, 'Order ORD-10042 has shipped. Tracking number: DP123456789.'),
      );
    });

    it('GetShippingEstimate: the demo carrier estimate from the best-stocked warehouse', async () => {
      const response = await post(getShippingEstimate);
      expect(response.body).toEqual(
        closed(
          getShippingEstimate,
          'X200 Wireless Headphones ships from New Jersey warehouse with DemoPost ground and should arrive in 5 business days.',
        ),
      );
    });
  });
});
