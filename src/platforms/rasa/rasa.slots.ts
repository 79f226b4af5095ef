import type { FulfillmentResult } from '../../fulfillment';
import type { RasaActionCall } from './rasa.request';
import type { RasaSlotSetEvent } from './rasa.response';
import { isTrackerEvent, latestUserEventAt } from './rasa.tracker-events';

/** The slot Rasa forms use to know which slot they are asking for. */
export const REQUESTED_SLOT = 'requested_slot';

/** What the request tells about slots: those the domain declares (undefined: no domain sent) and their values. */
export interface RasaSlotState {
  readonly declared?: ReadonlySet<string>;
  readonly current: Readonly<Record<string, unknown>>;
  /**
   * For the active form's validation action (`validate_<form>`): the slots it is asked to validate, those set since
   * the latest user message (the Rasa SDK's `slots_to_validate`), of the form's required slots when the domain
   * names them.
   */
  readonly validating?: readonly string[];
}

/** The slots set since the latest user message, but `requested_slot` (the form's own bookkeeping). */
function slotsSetSinceUser(call: RasaActionCall): string[] {
  const events: readonly unknown[] = call.tracker.events ?? [];
  const names = new Set<string>();
  for (const event of events.slice(latestUserEventAt(events) + 1)) {
    if (!isTrackerEvent(event) || event.event !== 'slot') continue;
    const { name } = event;
    if (typeof name === 'string' && name !== '' && name !== REQUESTED_SLOT) names.add(name);
  }
  return [...names];
}

/**
 * The form's required slots as the domain Rasa sends names them (Rasa 3: a list; Rasa 2: an object keyed by slot),
 * undefined when it does not (the field is read, never validated: an unknown shape names none).
 */
function requiredSlotsOf(call: RasaActionCall, form: string): ReadonlySet<string> | undefined {
  const forms = (call.domain as { forms?: unknown } | undefined)?.forms;
  if (typeof forms !== 'object' || forms === null || !Object.hasOwn(forms, form)) return undefined;
  const required = (forms as Record<string, { required_slots?: unknown } | null>)[form]?.required_slots;
  if (Array.isArray(required)) return new Set(required.filter((slot): slot is string => typeof slot === 'string'));
  if (typeof required === 'object' && required !== null) return new Set(Object.keys(required));
  return undefined;
}

export function slotStateOf(call: RasaActionCall): RasaSlotState {
  const slots = call.domain?.slots;
  const form = call.tracker.active_loop?.name;
  const validates = !!form && call.next_action === `validate_${form}`;
  // Only the form's own slots: a message may also fill slots of other forms or intents (global slot mappings).
  const required = validates ? requiredSlotsOf(call, form) : undefined;
  // Every property in every state (undefined when not known): states made alike share a hidden class.
  return {
    declared: slots ? new Set(Object.keys(slots)) : undefined,
    current: call.tracker.slots ?? {},
    validating: validates ? slotsSetSinceUser(call).filter((slot) => required?.has(slot) ?? true) : undefined,
  };
}

/**
 * Which Rasa slot a handler's value goes to. With a domain: the value's own name when the domain declares it,
 * else the slot `RASA_SLOT_MAP` maps the name to if the domain declares that one, else none (Rasa would drop
 * it). Without a domain nothing can be checked: the mapped name, else the value's own.
 */
export class RasaSlotNames {
  constructor(private readonly map: Readonly<Record<string, string>>) {}

  slotFor(name: string, declared: ReadonlySet<string> | undefined): string | undefined {
    const mapped = Object.hasOwn(this.map, name) ? this.map[name] : undefined;
    if (declared === undefined) return mapped ?? name;
    if (declared.has(name)) return name;
    return mapped !== undefined && declared.has(mapped) ? mapped : undefined;
  }
}

/** The `SlotSet` events of a result, and the names of the values that have no slot to go to. */
export interface RasaSlotEvents {
  readonly events: RasaSlotSetEvent[];
  readonly dropped: string[];
}

/**
 * The slots a result sets (see `RasaSlotNames` for which slot a name goes to):
 *
 * - context parameters, only with a domain and only when the value changes; a context's lifespan has no Rasa
 *   equivalent, so a context with lifespan 0 sets nothing. Names without a slot are skipped silently: contexts
 *   carry more than slots.
 * - session parameters (`null` resets a slot), winning over context values;
 * - an elicitation: `requested_slot` names the elicited slot, and an invalid value is reset.
 *
 * Session parameters and elicited parameters without a slot, and `requested_slot` when neither the domain nor
 * the tracker has it (a bot without forms), are dropped and listed in `dropped`.
 */
export function slotEventsOf(result: FulfillmentResult, state: RasaSlotState, names: RasaSlotNames): RasaSlotEvents {
  const { declared, current } = state;
  const values = new Map<string, unknown>();
  const dropped = new Set<string>();
  if (declared) {
    for (const context of result.contexts ?? []) {
      if (context.lifespan <= 0) continue;
      for (const [name, value] of Object.entries(context.parameters ?? {})) {
        const slot = name === REQUESTED_SLOT ? undefined : names.slotFor(name, declared);
        if (slot === undefined) continue;
        if (Object.hasOwn(current, slot) && current[slot] === value) values.delete(slot);
        else values.set(slot, value);
      }
    }
  }
  const set = (slot: string, value: unknown) => {
    values.delete(slot);
    values.set(slot, value);
  };
  for (const [name, value] of Object.entries(result.sessionParameters ?? {})) {
    const slot = names.slotFor(name, declared);
    if (slot === undefined) dropped.add(name);
    else set(slot, value);
  }
  if (result.elicit) {
    const slot = names.slotFor(result.elicit.parameter, declared);
    if (slot === undefined) {
      dropped.add(result.elicit.parameter);
    } else {
      if (result.elicit.invalid) set(slot, null);
      // Rasa adds `requested_slot` to a bot with forms itself: its tracker has the slot even when the domain it
      // sends (the bot's own domain file) does not list it.
      if (declared === undefined || declared.has(REQUESTED_SLOT) || Object.hasOwn(current, REQUESTED_SLOT)) {
        set(REQUESTED_SLOT, slot);
      } else dropped.add(REQUESTED_SLOT);
    }
  }
  return {
    events: [...values].map(([name, value]) => ({ event: 'slot', name, value: value ?? null })),
    dropped: [...dropped],
  };
}
