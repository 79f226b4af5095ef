import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { PENDING_FULFILLMENT_MESSAGES } from '../src/async/pending-fulfillment.intent-handler';
import {
  catalogueProblems,
  confirmationSubject,
  confirmedActionKey,
  IntentHandlerRegistry,
  SUPPORTED_LANGUAGES,
  type Catalogue,
  type ConfirmationState,
  type FulfillmentHandler,
  type FulfillmentRequest,
  type FulfillmentResult,
} from '../src/fulfillment';
import { APPOINTMENT_MESSAGES, SPECIALTIES } from '../src/intents/appointments/appointments.messages';
import { BANKING_MESSAGES } from '../src/intents/banking/banking.messages';
import { CarrierClient } from '../src/intents/commerce/carrier.client';
import { COMMERCE_MESSAGES } from '../src/intents/commerce/commerce.messages';
import { CommerceRepository } from '../src/intents/commerce/commerce.repository';
import { GetShippingEstimateHandler } from '../src/intents/commerce/handlers/get-shipping-estimate.intent-handler';
import { CRM_MESSAGES } from '../src/intents/crm/crm.messages';
import { AppConfig } from '../src/config';
import { OutboundHttpClient } from '../src/outbound';
import { LOCAL_DEV_AUTH } from './support/dialogflow-es.fixtures';
import { freePort } from './support/service-process';
import { startTestApp, TestApp } from './support/test-app';
import { queryTestDatabase } from './support/test-database';

type Json = Record<string, unknown>;

const CATALOGUES: Record<string, Catalogue> = {
  BANKING_MESSAGES,
  APPOINTMENT_MESSAGES,
  SPECIALTIES,
  COMMERCE_MESSAGES,
  CRM_MESSAGES,
  PENDING_FULFILLMENT_MESSAGES,
};

/** Values shown as stored, so they read the same in every language (quick replies offering them). */
const DATA_VALUES = new Set([
  'checking',
  'savings',
  'Dr. Ada Lee',
  'Dr. Ravi Patel',
  'Dr. Noor Nobody',
  'Dr. Sam Single',
]);

/** One turn that reaches one branch of a handler. */
interface Scenario {
  readonly intent: string;
  readonly branch: string;
  /** Parameters of the run in the `run`-th language; turns that change state get data of their own. */
  readonly parameters: Json | ((run: number) => Json);
  readonly sessionParameters?: Json;
  readonly confirmation?: ConfirmationState;
  /** The handler to run instead of the registered one (a carrier that is down). */
  readonly handler?: () => FulfillmentHandler;
  /** The turn's key, when the branch needs one used before (else a new one each run). */
  readonly idempotencyKey?: string;
}

/** The key of a transfer made before the sweep: a turn reusing it for another transfer is refused. */
const REUSED_TRANSFER_KEY = 'a'.repeat(64);
/**
 * A question about a transfer of $1.00 from checking to savings whose "yes" was acted on before (under the
 * question's key, seeded below): its "yes" again is "already made".
 */
const DONE_QUESTION = `${confirmationSubject('TransferFunds', '12345', 'checking', 'savings', 100n, 'USD')}.l10n-done1`;
const DONE_TRANSFER_KEY = confirmedActionKey(
  {
    caller: { id: 'local-dev' },
    idempotencyKey: 'unused',
    sessionParameters: { confirming: DONE_QUESTION },
  } as unknown as FulfillmentRequest,
  confirmationSubject('TransferFunds', '12345', 'checking', 'savings', 100n, 'USD'),
);
/** The key of another customer's statement, and of another patient's booking, recorded before the sweep. */
const REUSED_STATEMENT_KEY = 'b'.repeat(64);
const REUSED_BOOKING_KEY = 'c'.repeat(64);

/** Every text a user sees or hears: the reply, text messages, quick-reply titles and labels, card texts. */
function textsOf(result: FulfillmentResult): string[] {
  const texts = [result.text];
  for (const message of result.messages ?? []) {
    if (message.type === 'text') texts.push(message.text);
    if (message.type === 'quick-replies') texts.push(...(message.title ? [message.title] : []), ...message.replies);
    if (message.type === 'card') {
      texts.push(message.title, ...(message.subtitle ? [message.subtitle] : []));
      texts.push(...(message.buttons ?? []).map((button) => button.text));
    }
  }
  return texts;
}

/** The English wording of every template, between its placeholders: none of it may appear in another language. */
const ENGLISH_PHRASES = [
  ...new Set(
    Object.values(CATALOGUES)
      .flatMap((catalogue) => Object.values(catalogue).flatMap((texts) => texts.en.split(/\{\w+\}/)))
      .map((part) => part.trim().replace(/^[^\p{L}]+|[^\p{L}]+$/gu, ''))
      .filter((part) => /\p{L}{2,}[,.?!:]? +\p{L}{2,}/u.test(part)),
  ),
];

const isProse = (text: string): boolean => !DATA_VALUES.has(text) && /\p{L}{2,}/u.test(text);

/** Whether some text could have come from the English template (its fixed parts, in order). */
function usesTemplate(template: string, texts: readonly string[]): boolean {
  const escaped = template.split(/\{\w+\}/).map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
  const pattern = new RegExp(escaped.join('[\\s\\S]*?'));
  return texts.some((text) => pattern.test(text));
}

describe('localisation: every handler answers every prompt in every supported language (real app, real PostgreSQL)', () => {
  let t: TestApp;
  let registry: IntentHandlerRegistry;
  const sql = (text: string, params: unknown[] = []) => queryTestDatabase(t.database.url, text, params);

  /** Free future slots of a demo provider, oldest first. */
  async function freeSlots(provider: string): Promise<{ DATE: string; TIME: string }[]> {
    const rows = await queryTestDatabase<{ starts_at: Date }>(
      t.database.url,
      `SELECT s.starts_at FROM appointment_slots s JOIN providers p ON p.id = s.provider_id
        WHERE p.slug = $1 AND s.starts_at > now() + interval '1 hour'
          AND NOT EXISTS (SELECT 1 FROM appointments a WHERE a.slot_id = s.id AND a.status = 'booked')
        ORDER BY s.starts_at LIMIT 20`,
      [provider],
    );
    return rows.map((row) => ({
      DATE: row.starts_at.toISOString().slice(0, 10),
      TIME: row.starts_at.toISOString().slice(11, 16),
    }));
  }

  async function book(provider: string, slot: { DATE: string; TIME: string }, reference: string, patient: string) {
    await sql(
      `INSERT INTO appointments (slot_id, patient_ref, status, reference)
       SELECT s.id, $4, 'booked', $3 FROM appointment_slots s JOIN providers p ON p.id = s.provider_id
        WHERE p.slug = $1 AND s.starts_at = $2::timestamptz`,
      [provider, `${slot.DATE}T${slot.TIME}:00Z`, reference, patient],
    );
  }

  // Filled in beforeAll: slots each run books or cancels, so that every language reaches the same branch.
  let bookable: { DATE: string; TIME: string }[] = [];
  let taken: { DATE: string; TIME: string };
  let lonelyTaken: { DATE: string; TIME: string };

  beforeAll(async () => {
    t = await startTestApp();
    registry = t.app.get(IntentHandlerRegistry);
    // A customer without transactions; one with a single transaction and accounts in two currencies.
    await sql(
      `INSERT INTO customers (customer_number, full_name) VALUES ('L10N-EMPTY', 'Empty'), ('L10N-MIXED', 'Mixed')`,
    );
    await sql(
      `INSERT INTO accounts (customer_id, account_type, account_number_last4, currency, balance_minor, balance_updated_at)
       SELECT c.id, a.type, '0000', a.currency, 10000, now()
         FROM (VALUES ('L10N-EMPTY', 'checking', 'USD'), ('L10N-MIXED', 'checking', 'USD'), ('L10N-MIXED', 'savings', 'EUR'))
              AS a(customer, type, currency)
         JOIN customers c ON c.customer_number = a.customer`,
    );
    await sql(
      `INSERT INTO transactions (account_id, posted_at, description, amount_minor)
       SELECT a.id, now() - interval '1 hour', 'Coffee', -450 FROM accounts a JOIN customers c ON c.id = a.customer_id
        WHERE c.customer_number = 'L10N-MIXED' AND a.account_type = 'checking'`,
    );
    // A doctor without free times, and one whose only free time is taken.
    await sql(
      `INSERT INTO providers (slug, display_name, specialty)
       VALUES ('dr-nobody', 'Dr. Noor Nobody', 'cardiology'), ('dr-single', 'Dr. Sam Single', 'dermatology')`,
    );
    const lonely = new Date(Date.parse(new Date().toISOString().slice(0, 10)) + 3 * 86_400_000 + 10 * 3_600_000);
    await sql(
      `INSERT INTO appointment_slots (provider_id, starts_at, ends_at)
       SELECT id, $1::timestamptz, $1::timestamptz + interval '30 minutes' FROM providers WHERE slug = 'dr-single'`,
      [lonely.toISOString()],
    );
    lonelyTaken = { DATE: lonely.toISOString().slice(0, 10), TIME: lonely.toISOString().slice(11, 16) };
    await book('dr-single', lonelyTaken, 'L10NLONELY', 'P-L10N');
    const lee = await freeSlots('dr-lee');
    taken = lee[0];
    await book('dr-lee', taken, 'L10NTAKEN', 'P-L10N');
    await sql(`UPDATE appointments SET idempotency_key = $1 WHERE reference = 'L10NTAKEN'`, [REUSED_BOOKING_KEY]);
    // An appointment whose time has passed.
    await sql(
      `INSERT INTO appointment_slots (provider_id, starts_at, ends_at)
       SELECT id, date_trunc('hour', now()) - interval '1 day', date_trunc('hour', now()) - interval '23 hours 30 minutes'
         FROM providers WHERE slug = 'dr-lee'`,
    );
    await sql(
      `INSERT INTO appointments (slot_id, patient_ref, status, reference)
       SELECT s.id, 'P-L10N', 'booked', 'L10NPAST' FROM appointment_slots s JOIN providers p ON p.id = s.provider_id
        WHERE p.slug = 'dr-lee' AND s.starts_at = date_trunc('hour', now()) - interval '1 day'`,
    );
    // One appointment per language to cancel.
    for (const [run, slot] of lee.slice(1, 1 + SUPPORTED_LANGUAGES.length).entries()) {
      await book('dr-lee', slot, `L10NCANCEL${run}`, 'P-L10N');
    }
    bookable = await freeSlots('dr-patel');
    await sql(
      `INSERT INTO orders (order_number, customer_number, status, placed_at, ship_to_postcode, tracking_number)
       VALUES ('ORD-L10N', '12345', 'cancelled', now(), '10117', NULL),
              ('ORD-L10N-HOLD', '12345', 'on_hold', now(), '10117', NULL)`,
    );
    await sql(
      `INSERT INTO transfers (idempotency_key, from_account_id, to_account_id, amount_minor)
       SELECT $1, s.id, c.id, 700 FROM accounts s, accounts c, customers k
        WHERE k.customer_number = '12345' AND s.customer_id = k.id AND c.customer_id = k.id
          AND s.account_type = 'savings' AND c.account_type = 'checking'`,
      [REUSED_TRANSFER_KEY],
    );
    await sql(
      `INSERT INTO transfers (idempotency_key, from_account_id, to_account_id, amount_minor)
       SELECT $1, c.id, s.id, 100 FROM accounts s, accounts c, customers k
        WHERE k.customer_number = '12345' AND s.customer_id = k.id AND c.customer_id = k.id
          AND s.account_type = 'savings' AND c.account_type = 'checking'`,
      [DONE_TRANSFER_KEY],
    );
    await sql(
      `INSERT INTO statements (idempotency_key, account_id, period_start, period_end, transaction_count, opening_minor,
         closing_minor, archive_reference)
       SELECT $1, a.id, now() - interval '30 days', now(), 0, 0, 0, 'ST-L10N'
         FROM accounts a JOIN customers c ON c.id = a.customer_id WHERE c.customer_number = '67890'`,
      [REUSED_STATEMENT_KEY],
    );
  });
  afterAll(() => t?.close());

  // The carrier down: the app's own client against a port nothing listens on.
  let downCarrierClient: CarrierClient;
  beforeAll(async () => {
    const options = { url: `http://127.0.0.1:${await freePort()}`, timeoutMs: 1000, retries: 0 };
    downCarrierClient = new CarrierClient(options, t.app.get(AppConfig), t.app.get(OutboundHttpClient));
    await downCarrierClient.onModuleInit();
  });
  const downCarrier = (): FulfillmentHandler =>
    new GetShippingEstimateHandler(t.app.get(CommerceRepository), downCarrierClient);

  const SCENARIOS: readonly Scenario[] = [
    // banking
    { intent: 'GetAccountBalance', branch: 'no customer number', parameters: {} },
    {
      intent: 'GetAccountBalance',
      branch: 'unknown customer',
      parameters: { user_id: '99999', account_type: 'checking' },
    },
    { intent: 'GetAccountBalance', branch: 'which account', parameters: { user_id: '12345' } },
    {
      intent: 'GetAccountBalance',
      branch: 'no such account',
      parameters: { user_id: '12345', account_type: 'brokerage' },
    },
    { intent: 'GetAccountBalance', branch: 'balance', parameters: { user_id: '12345', account_type: 'savings' } },
    { intent: 'GetRecentTransactions', branch: 'no customer number', parameters: {} },
    { intent: 'GetRecentTransactions', branch: 'unknown customer', parameters: { user_id: '99999' } },
    { intent: 'GetRecentTransactions', branch: 'which account', parameters: { user_id: '12345' } },
    { intent: 'GetRecentTransactions', branch: 'none yet', parameters: { user_id: 'L10N-EMPTY' } },
    {
      intent: 'GetRecentTransactions',
      branch: 'one',
      parameters: { user_id: '12345', account_type: 'checking', count: 1 },
    },
    { intent: 'GetRecentTransactions', branch: 'several', parameters: { user_id: '12345', account_type: 'checking' } },
    {
      intent: 'GetRecentTransactions',
      branch: 'count out of range',
      parameters: { user_id: '12345', account_type: 'checking', count: 0 },
    },
    { intent: 'RequestStatement', branch: 'no customer number', parameters: {} },
    {
      intent: 'RequestStatement',
      branch: 'no such account',
      parameters: { user_id: '12345', account_type: 'brokerage' },
    },
    {
      intent: 'RequestStatement',
      branch: 'unclear account',
      parameters: { user_id: '12345', account_type: 'savings account 2' },
    },
    {
      intent: 'RequestStatement',
      branch: 'ready, 30 days',
      parameters: { user_id: '12345', account_type: 'checking' },
    },
    { intent: 'RequestStatement', branch: 'ready, one day', parameters: { user_id: 'L10N-MIXED', days: 1 } },
    { intent: 'RequestStatement', branch: 'ready, no transactions', parameters: { user_id: 'L10N-EMPTY', days: 7 } },
    {
      intent: 'RequestStatement',
      branch: 'period out of range',
      parameters: { user_id: '12345', account_type: 'checking', days: 400 },
    },
    {
      intent: 'RequestStatement',
      branch: 'request id reused for another statement',
      parameters: { user_id: '12345', account_type: 'checking' },
      idempotencyKey: REUSED_STATEMENT_KEY,
    },
    { intent: 'TransferFunds', branch: 'no customer number', parameters: {} },
    { intent: 'TransferFunds', branch: 'from which account', parameters: { user_id: '12345' } },
    { intent: 'TransferFunds', branch: 'to which account', parameters: { user_id: '12345', from_account: 'checking' } },
    {
      intent: 'TransferFunds',
      branch: 'same account',
      parameters: { user_id: '12345', from_account: 'checking', to_account: 'checking' },
    },
    {
      intent: 'TransferFunds',
      branch: 'no such account',
      parameters: { user_id: '12345', from_account: 'brokerage', to_account: 'checking' },
    },
    {
      intent: 'TransferFunds',
      branch: 'how much',
      parameters: { user_id: '12345', from_account: 'checking', to_account: 'savings' },
    },
    {
      intent: 'TransferFunds',
      branch: 'amount in another currency',
      parameters: {
        user_id: '12345',
        from_account: 'checking',
        to_account: 'savings',
        amount: { amount: 100, currency: 'EUR' },
      },
    },
    {
      intent: 'TransferFunds',
      branch: 'confirm',
      parameters: { user_id: '12345', from_account: 'checking', to_account: 'savings', amount: 1 },
    },
    {
      intent: 'TransferFunds',
      branch: 'denied',
      parameters: { user_id: '12345', from_account: 'checking', to_account: 'savings', amount: 1 },
      confirmation: 'denied',
    },
    {
      intent: 'TransferFunds',
      branch: 'done',
      parameters: { user_id: '12345', from_account: 'checking', to_account: 'savings', amount: 1 },
      confirmation: 'confirmed',
    },
    {
      intent: 'TransferFunds',
      branch: 'done before, the same question answered again',
      parameters: { user_id: '12345', from_account: 'checking', to_account: 'savings', amount: 1 },
      confirmation: 'confirmed',
      sessionParameters: { confirming: DONE_QUESTION },
    },
    {
      intent: 'TransferFunds',
      branch: 'request id reused for another transfer',
      parameters: { user_id: '12345', from_account: 'checking', to_account: 'savings', amount: 1 },
      confirmation: 'confirmed',
      idempotencyKey: REUSED_TRANSFER_KEY,
    },
    {
      intent: 'TransferFunds',
      branch: 'insufficient funds',
      parameters: { user_id: '12345', from_account: 'checking', to_account: 'savings', amount: 999999 },
      confirmation: 'confirmed',
    },
    {
      intent: 'TransferFunds',
      branch: 'unknown target account',
      parameters: { user_id: '12345', from_account: 'checking', to_account: 'brokerage', amount: 1 },
      confirmation: 'confirmed',
    },
    {
      intent: 'TransferFunds',
      branch: 'currency mismatch',
      parameters: { user_id: 'L10N-MIXED', from_account: 'checking', to_account: 'savings', amount: 1 },
      confirmation: 'confirmed',
    },
    // appointments
    { intent: 'FindAppointmentSlots', branch: 'which doctor', parameters: {} },
    { intent: 'FindAppointmentSlots', branch: 'free times', parameters: { provider: 'dr-lee' } },
    { intent: 'FindAppointmentSlots', branch: 'none on a day', parameters: { provider: 'dr-lee', date: '2020-01-07' } },
    {
      intent: 'FindAppointmentSlots',
      branch: 'none between days',
      parameters: { provider: 'dr-lee', date: '2020-01-07', date_to: '2020-01-09' },
    },
    { intent: 'FindAppointmentSlots', branch: 'none in the next days', parameters: { provider: 'dr-nobody' } },
    { intent: 'BookAppointment', branch: 'which doctor', parameters: {} },
    { intent: 'BookAppointment', branch: 'which day', parameters: { provider: 'dr-patel' } },
    {
      intent: 'BookAppointment',
      branch: 'which time',
      parameters: () => ({ provider: 'dr-patel', date: bookable[0].DATE }),
    },
    {
      intent: 'BookAppointment',
      branch: 'no appointment at that time',
      parameters: () => ({ provider: 'dr-patel', date: bookable[0].DATE, time: '03:17' }),
    },
    {
      intent: 'BookAppointment',
      branch: 'no free times that day',
      parameters: () => ({ provider: 'dr-nobody', date: bookable[0].DATE }),
    },
    {
      intent: 'BookAppointment',
      branch: 'patient number',
      parameters: () => ({ provider: 'dr-patel', date: bookable[0].DATE, time: bookable[0].TIME }),
    },
    {
      intent: 'BookAppointment',
      branch: 'confirm',
      parameters: () => ({ provider: 'dr-patel', date: bookable[0].DATE, time: bookable[0].TIME, patient_id: 'P-1' }),
    },
    {
      intent: 'BookAppointment',
      branch: 'denied',
      parameters: () => ({ provider: 'dr-patel', date: bookable[0].DATE, time: bookable[0].TIME, patient_id: 'P-1' }),
      confirmation: 'denied',
    },
    {
      intent: 'BookAppointment',
      branch: 'booked',
      parameters: (run) => ({
        provider: 'dr-patel',
        date: bookable[run + 1].DATE,
        time: bookable[run + 1].TIME,
        patient_id: 'P-1',
      }),
      confirmation: 'confirmed',
    },
    {
      intent: 'BookAppointment',
      branch: 'slot just taken',
      parameters: () => ({ provider: 'dr-lee', date: taken.DATE, time: taken.TIME, patient_id: 'P-1' }),
      confirmation: 'confirmed',
    },
    {
      intent: 'BookAppointment',
      branch: 'slot just taken, nothing else free',
      parameters: () => ({ provider: 'dr-single', date: lonelyTaken.DATE, time: lonelyTaken.TIME, patient_id: 'P-1' }),
      confirmation: 'confirmed',
    },
    {
      intent: 'BookAppointment',
      branch: "slot already the patient's",
      parameters: () => ({
        provider: 'dr-single',
        date: lonelyTaken.DATE,
        time: lonelyTaken.TIME,
        patient_id: 'P-L10N',
      }),
    },
    {
      intent: 'BookAppointment',
      branch: 'request id reused for another booking',
      parameters: () => ({ provider: 'dr-patel', date: bookable[0].DATE, time: bookable[0].TIME, patient_id: 'P-1' }),
      confirmation: 'confirmed',
      idempotencyKey: REUSED_BOOKING_KEY,
    },
    { intent: 'CancelAppointment', branch: 'which reference', parameters: {} },
    { intent: 'CancelAppointment', branch: 'patient number', parameters: { reference: 'L10NCANCEL0' } },
    { intent: 'CancelAppointment', branch: 'not found', parameters: { reference: 'ZZZZZZ', patient_id: 'P-L10N' } },
    {
      intent: 'CancelAppointment',
      branch: 'cancelled',
      parameters: (run) => ({ reference: `L10NCANCEL${run}`, patient_id: 'P-L10N' }),
    },
    {
      intent: 'CancelAppointment',
      branch: 'already taken place',
      parameters: { reference: 'L10NPAST', patient_id: 'P-L10N' },
    },
    // commerce
    { intent: 'CheckInventory', branch: 'which product', parameters: {} },
    { intent: 'CheckInventory', branch: 'unknown product', parameters: { product: 'flux capacitor' } },
    { intent: 'CheckInventory', branch: 'out of stock', parameters: { sku: 'M1' } },
    { intent: 'CheckInventory', branch: 'in stock', parameters: { sku: 'X200' } },
    { intent: 'GetOrderStatus', branch: 'customer number', parameters: {} },
    { intent: 'GetOrderStatus', branch: 'order number', parameters: { user_id: '12345' } },
    { intent: 'GetOrderStatus', branch: 'not found', parameters: { user_id: '67890', order_id: 'ORD-10042' } },
    { intent: 'GetOrderStatus', branch: 'shipped', parameters: { user_id: '12345', order_id: 'ORD-10042' } },
    { intent: 'GetOrderStatus', branch: 'processing', parameters: { user_id: '12345', order_id: 'ORD-10043' } },
    { intent: 'GetOrderStatus', branch: 'delivered', parameters: { user_id: '67890', order_id: 'ORD-20001' } },
    { intent: 'GetOrderStatus', branch: 'cancelled', parameters: { user_id: '12345', order_id: 'ORD-L10N' } },
    {
      intent: 'GetOrderStatus',
      branch: 'a status of the order system',
      parameters: { user_id: '12345', order_id: 'ORD-L10N-HOLD' },
    },
    { intent: 'GetShippingEstimate', branch: 'which product', parameters: {} },
    { intent: 'GetShippingEstimate', branch: 'postcode', parameters: { sku: 'X200' } },
    {
      intent: 'GetShippingEstimate',
      branch: 'unknown product',
      parameters: { product: 'flux capacitor', postcode: '10117' },
    },
    { intent: 'GetShippingEstimate', branch: 'out of stock', parameters: { sku: 'M1', postcode: '10117' } },
    { intent: 'GetShippingEstimate', branch: 'one day', parameters: { sku: 'K7', postcode: '07030' } },
    { intent: 'GetShippingEstimate', branch: 'several days', parameters: { sku: 'X200', postcode: '99999' } },
    {
      intent: 'GetShippingEstimate',
      branch: 'postcode the carrier does not know',
      parameters: { sku: 'X200', postcode: 'ZZZZZ' },
    },
    {
      intent: 'GetShippingEstimate',
      branch: 'carrier down',
      parameters: { sku: 'X200', postcode: '10117' },
      handler: downCarrier,
    },
    // crm
    { intent: 'QualifyLead', branch: 'email', parameters: {} },
    {
      intent: 'QualifyLead',
      branch: 'budget in another currency',
      parameters: { email: 'dee@example.com', company: 'Acme', budget: { amount: 50000, currency: 'JPY' } },
    },
    {
      intent: 'QualifyLead',
      branch: 'budget not understood',
      parameters: { email: 'dee@example.com', company: 'Acme', budget: '5e4' },
    },
    { intent: 'QualifyLead', branch: 'invalid email', parameters: { email: 'not an email' } },
    { intent: 'QualifyLead', branch: 'company', parameters: { email: 'ada@example.com' } },
    {
      intent: 'QualifyLead',
      branch: 'enterprise, named',
      parameters: {
        email: 'ada@example.com',
        company: 'Acme',
        name: 'Ada',
        company_size: 500,
        budget: 100000,
        timeline_months: 1,
        decision_maker: 'yes',
      },
    },
    {
      intent: 'QualifyLead',
      branch: 'inside sales',
      parameters: { email: 'bo@example.com', company: 'Acme', budget: 60000 },
    },
    { intent: 'QualifyLead', branch: 'nurture', parameters: { email: 'cy@example.com', company: 'Acme' } },
    // async
    { intent: 'PendingFulfillment', branch: 'nothing in progress', parameters: {} },
  ];

  async function run(scenario: Scenario, languageCode: string, index: number): Promise<FulfillmentResult> {
    const handler = scenario.handler?.() ?? registry.find(scenario.intent)?.handler;
    if (!handler) throw new Error(`no handler for ${scenario.intent}`);
    const parameters = typeof scenario.parameters === 'function' ? scenario.parameters(index) : scenario.parameters;
    const turn: FulfillmentRequest = {
      platform: 'generic',
      requestId: randomUUID(),
      idempotencyKey: scenario.idempotencyKey ?? randomUUID(),
      sessionId: `l10n-${randomUUID()}`,
      intent: scenario.intent,
      parameters,
      contexts: [],
      sessionParameters: scenario.sessionParameters ?? {},
      stage: 'fulfillment',
      confirmation: scenario.confirmation ?? 'none',
      languageCode,
      caller: { id: 'local-dev', platforms: ['generic'] },
      deadline: new Date(Date.now() + 10_000),
      signal: new AbortController().signal,
      raw: {},
    };
    return handler.handle(turn);
  }

  it('has every catalogue text in every supported language, with the same placeholders', () => {
    for (const [name, catalogue] of Object.entries(CATALOGUES)) {
      expect({ name, problems: catalogueProblems(catalogue) }).toEqual({ name, problems: [] });
    }
  });

  describe('the sweep', () => {
    const english = new Map<Scenario, string[]>();

    it('covers every registered handler', () => {
      expect(registry.intents().sort()).toEqual([...new Set(SCENARIOS.map((s) => s.intent))].sort());
    });

    it('answers every branch of every handler in each supported language, no prose left in English', async () => {
      const untranslated: string[] = [];
      for (const scenario of SCENARIOS) {
        const results = new Map<string, string[]>();
        for (const [index, language] of SUPPORTED_LANGUAGES.entries()) {
          results.set(language, textsOf(await run(scenario, language, index)));
        }
        const en = results.get('en') ?? [];
        english.set(scenario, en);
        expect({ scenario: `${scenario.intent}: ${scenario.branch}`, reply: en[0] !== '' }).toEqual({
          scenario: `${scenario.intent}: ${scenario.branch}`,
          reply: true,
        });
        for (const language of SUPPORTED_LANGUAGES.filter((l) => l !== 'en')) {
          const texts = results.get(language) ?? [];
          if (texts.length !== en.length) {
            untranslated.push(
              `${scenario.intent}: ${scenario.branch} [${language}]: ${texts.length} texts, en has ${en.length}`,
            );
          }
          en.forEach((text, i) => {
            if (isProse(text) && texts[i] === text) {
              untranslated.push(`${scenario.intent}: ${scenario.branch} [${language}]: "${text}"`);
            }
          });
          // A reply can differ from the English one only by a localised list, date or amount inside it.
          for (const text of texts) {
            for (const phrase of ENGLISH_PHRASES.filter((english) => text.includes(english))) {
              untranslated.push(`${scenario.intent}: ${scenario.branch} [${language}]: "${phrase}" in "${text}"`);
            }
          }
        }
      }
      expect(untranslated).toEqual([]);
    });

    it('reaches every catalogue text, so no branch is left out of the sweep', () => {
      const seen = [...english.values()].flat();
      expect(seen.length).toBeGreaterThan(0);
      const unreached = Object.entries(CATALOGUES).flatMap(([name, catalogue]) =>
        Object.entries(catalogue)
          .filter(([, texts]) => !usesTemplate(texts.en, seen))
          .map(([key]) => `${name}.${key}`),
      );
      expect(unreached).toEqual([]);
    });
  });

  describe('over HTTP (generic webhook)', () => {
    const post = (languageCode: string, parameters: Json, intent = 'GetAccountBalance') =>
      request(t.baseUrl)
        .post('/v1/webhooks/generic')
        .set(LOCAL_DEV_AUTH)
        .send({
          requestId: randomUUID(),
          sessionId: `l10n-http-${randomUUID()}`,
          intent,
          parameters,
          sessionParameters: {},
          contexts: [],
          languageCode,
          text: 'Kontostand?',
          stage: 'fulfillment',
          confirmation: 'none',
        })
        .expect(200);

    it('asks a German user which account in German (the reported bug)', async () => {
      const question = 'Für welches Konto möchten Sie den Kontostand wissen: checking oder savings?';
      for (const languageCode of ['de', 'de-DE']) {
        const response = await post(languageCode, { user_id: '12345' });
        expect(response.body).toMatchObject({
          outcome: 'fulfilled',
          text: question,
          messages: [
            { type: 'text', text: question },
            { type: 'quick-replies', replies: ['checking', 'savings'] },
          ],
          elicit: { parameter: 'account_type' },
        });
      }
      expect((await post('de-DE', { user_id: '12345', account_type: 'brokerage' })).body.text).toBe(
        'Sie haben bei uns kein Konto „brokerage“. Für welches Konto möchten Sie den Kontostand wissen: checking oder savings?',
      );
      expect((await post('de-DE', {})).body.text).toBe('Dafür brauche ich Ihre Kundennummer. Wie lautet sie?');
    });

    it('asks in Spanish and French too, and in English for a language it does not answer in', async () => {
      expect((await post('es-ES', { user_id: '12345' })).body.text).toBe(
        '¿De qué cuenta quiere saber el saldo: checking o savings?',
      );
      expect((await post('fr-FR', { user_id: '12345' })).body.text).toBe(
        'De quel compte voulez-vous connaître le solde : checking ou savings ?',
      );
      expect((await post('it-IT', { user_id: '12345' })).body.text).toBe(
        'Which account would you like the balance for: checking or savings?',
      );
      expect((await post('it-IT', { user_id: '67890', account_type: 'checking' })).body.text).toBe(
        'Your checking account balance is €1,843.15. Would you like to see recent transactions?',
      );
    });

    it("answers the service's own default replies in the user's language too (fallback for an unknown intent)", async () => {
      expect((await post('de-DE', {}, 'NoSuchIntent')).body).toMatchObject({
        outcome: 'fallback',
        text: 'Dabei kann ich leider noch nicht helfen. Können Sie es anders formulieren?',
      });
      expect((await post('es', {}, 'NoSuchIntent')).body.text).toBe(
        'Lo siento, todavía no puedo ayudarle con eso. ¿Puede preguntarlo de otra manera?',
      );
      expect((await post('it-IT', {}, 'NoSuchIntent')).body.text).toBe(
        "Sorry, I can't help with that yet. Could you try asking another way?",
      );
    });

    it('answers in English for a language tag named like an Object property (it used to find a function, not a text)', async () => {
      for (const languageCode of ['toString', 'valueOf', 'toString-DE']) {
        expect((await post(languageCode, {}, 'NoSuchIntent')).body).toMatchObject({
          outcome: 'fallback',
          text: "Sorry, I can't help with that yet. Could you try asking another way?",
        });
        expect((await post(languageCode, { user_id: '12345' })).body.text).toBe(
          'Which account would you like the balance for: checking or savings?',
        );
      }
    });
  });
});
