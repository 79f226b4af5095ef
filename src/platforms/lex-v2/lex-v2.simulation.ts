import { randomUUID } from 'node:crypto';
import { type PlatformSimulation, textsOf } from '../platform-simulation';

interface BotSlot {
  readonly name: string;
  /** Lex elicits a required slot itself before it fulfils the intent; an optional one only holds what was said. */
  readonly required: boolean;
}

const required = (name: string): BotSlot => ({ name, required: true });
const optional = (name: string): BotSlot => ({ name, required: false });

/**
 * The slots of the bot the simulator plays, in the order Lex elicits them. A Lex bot, not its Lambda, defines an
 * intent's slots, and the handlers declare none, so this is a bot built for the built-in handlers: required are the
 * slots a handler cannot do without and has no other source for (a default, the session, another parameter name).
 */
const DEMO_BOT_SLOTS: ReadonlyMap<string, readonly BotSlot[]> = new Map([
  ['GetAccountBalance', [required('user_id'), optional('account_type')]],
  ['GetRecentTransactions', [required('user_id'), optional('account_type'), optional('count')]],
  ['RequestStatement', [required('user_id'), optional('account_type'), optional('days')]],
  ['TransferFunds', [required('user_id'), required('from_account'), required('to_account'), required('amount')]],
  ['FindAppointmentSlots', [required('provider'), optional('date'), optional('date_to')]],
  ['BookAppointment', [required('provider'), required('date'), required('time'), required('patient_id')]],
  ['CancelAppointment', [optional('reference'), optional('patient_id')]],
  ['CheckInventory', [optional('product'), optional('sku')]],
  ['GetOrderStatus', [required('user_id'), required('order_id')]],
  ['GetShippingEstimate', [optional('product'), optional('sku'), required('postcode')]],
  [
    'QualifyLead',
    [
      required('email'),
      required('company'),
      optional('name'),
      optional('budget'),
      optional('company_size'),
      optional('timeline_months'),
      optional('decision_maker'),
    ],
  ],
]);

function scalarSlot(value: string): Record<string, unknown> {
  return { shape: 'Scalar', value: { originalValue: value, interpretedValue: value, resolvedValues: [value] } };
}

/**
 * Every slot of the intent, as Lex sends them: one not filled as `null`. A `--param` the bot does not define is sent
 * too (for an intent the simulator has no bot for, the parameters are all it knows); `confirmation` is Lex's
 * `confirmationState`, not a slot.
 */
function intentSlots(
  botSlots: readonly BotSlot[],
  parameters: Readonly<Record<string, string>>,
): Record<string, Record<string, unknown> | null> {
  const filled = Object.entries(parameters)
    .filter(([name, value]) => name !== 'confirmation' && value !== '')
    .map(([name, value]) => [name, scalarSlot(value)] as const);
  return { ...Object.fromEntries(botSlots.map(({ name }) => [name, null])), ...Object.fromEntries(filled) };
}

const DEFAULT_REGION: Record<string, string> = { en: 'US', es: 'US', pt: 'BR', zh: 'CN', ja: 'JP', ko: 'KR' };

/** `en` → `en_US`, `de-AT` → `de_AT`: Lex bots always run in a locale with a region. */
export function lexLocale(languageCode: string): string {
  const [language, region] = languageCode.split(/[-_]/);
  const lower = (language || 'en').toLowerCase();
  return `${lower}_${(region ?? (Object.hasOwn(DEFAULT_REGION, lower) ? DEFAULT_REGION[lower] : lower)).toUpperCase()}`;
}

const DELEGATED = "(no message: Lex goes on with the bot's own prompts)";

export const lexV2Simulation: PlatformSimulation = {
  path: '/v1/webhooks/lex-v2',
  // Lex calls the fulfillment code hook only once every required slot is filled; until then it is eliciting them,
  // and what it calls is the dialog code hook, with the slot it would ask for next as `proposedNextState`.
  request: (turn) => {
    const slots = intentSlots(DEMO_BOT_SLOTS.get(turn.intent) ?? [], turn.parameters);
    const nextSlot = DEMO_BOT_SLOTS.get(turn.intent)?.find((slot) => slot.required && slots[slot.name] === null);
    const dialog = turn.stage === 'dialog' || nextSlot !== undefined;
    const intent = {
      name: turn.intent,
      slots,
      state: dialog ? 'InProgress' : 'ReadyForFulfillment',
      confirmationState: turn.confirmation === 'yes' ? 'Confirmed' : turn.confirmation === 'no' ? 'Denied' : 'None',
    };
    return {
      messageVersion: '1.0',
      invocationSource: dialog ? 'DialogCodeHook' : 'FulfillmentCodeHook',
      inputMode: 'Text',
      responseContentType: 'text/plain; charset=utf-8',
      sessionId: turn.sessionId,
      inputTranscript: turn.text,
      bot: {
        id: 'SIMULATOR0',
        name: 'Simulator',
        aliasId: 'TSTALIASID',
        aliasName: 'TestBotAlias',
        localeId: lexLocale(turn.languageCode),
        version: 'DRAFT',
      },
      interpretations: [{ intent, nluConfidence: 1 }],
      ...(nextSlot && {
        proposedNextState: {
          dialogAction: { type: 'ElicitSlot', slotToElicit: nextSlot.name },
          intent,
          prompt: { attempt: 'Initial' },
        },
      }),
      sessionState: {
        sessionAttributes: Object.fromEntries(
          Object.entries(turn.sessionParameters).map(([k, v]) => [k, typeof v === 'string' ? v : JSON.stringify(v)]),
        ),
        intent,
        originatingRequestId: randomUUID(),
      },
    };
  },
  // Lex takes the answer's session attributes as the session's (one the adapter removed is simply absent), and a
  // slot the answer cleared (a value asked for again) is gone: an earlier --param is not sent again.
  remember: (body, previous) => {
    const state = body.sessionState as
      { sessionAttributes?: Record<string, unknown>; intent?: { slots?: Record<string, unknown> } } | undefined;
    const attributes = state?.sessionAttributes ?? {};
    const removed = Object.keys(previous).filter((name) => !Object.hasOwn(attributes, name));
    const clearedSlots = Object.entries(state?.intent?.slots ?? {})
      .filter(([, slot]) => slot === null)
      .map(([name]) => name);
    return { sessionParameters: { ...attributes }, esContexts: [], cleared: [...removed, ...clearedSlots] };
  },
  // A Delegate without messages is Lex's to word (its own slot prompts), so the answer has no text of its own.
  replyText: (body) => {
    const action = (body.sessionState as { dialogAction?: { type?: string } } | undefined)?.dialogAction?.type;
    return textsOf(body) || (action === 'Delegate' ? DELEGATED : '');
  },
};
