import type { LexV2Slot, LexV2Slots } from './lex-v2.request';

type SlotValue = NonNullable<LexV2Slot['value']>;

/**
 * The intent's slots as they go back to Lex in the response: the documented fields only (`shape`, `value` with
 * `originalValue`, `interpretedValue`, `resolvedValues`; `values`; `subSlots`), each of its documented type.
 * The request's slots are only partly validated (what is not read is tolerated, so that a new Lex field never
 * refuses a turn), but Lex rejects a Lambda response it cannot parse, and the bot then fails the turn with its
 * own error. So a field Lex does not document is left out, a `resolvedValues` entry that is not a string is
 * dropped, and a slot whose value has no interpreted value (which the turn read as unfilled) goes back unfilled.
 */
export function echoedSlots(slots: LexV2Slots): LexV2Slots {
  const echoed: LexV2Slots = {};
  for (const [name, slot] of Object.entries(slots)) echoed[name] = echoedSlot(slot);
  return echoed;
}

function echoedSlot(slot: LexV2Slot | null): LexV2Slot | null {
  if (slot === null) return null;
  const value = echoedValue(slot.value);
  const values = Array.isArray(slot.values)
    ? slot.values.map(echoedSlot).filter((item): item is LexV2Slot => item !== null)
    : undefined;
  const subSlots = slot.subSlots ? echoedSlots(slot.subSlots) : undefined;
  if (!value && !values?.length && !subSlots) return null;
  return {
    ...(slot.shape !== undefined && { shape: slot.shape }),
    ...(value && { value }),
    ...((values?.length || slot.shape === 'List') && { values: values ?? [] }),
    ...((subSlots || slot.shape === 'Composite') && { subSlots: subSlots ?? {} }),
  };
}

function echoedValue(value: LexV2Slot['value']): SlotValue | undefined {
  if (typeof value?.interpretedValue !== 'string') return undefined;
  const { originalValue, interpretedValue, resolvedValues } = value;
  return {
    ...(typeof originalValue === 'string' && { originalValue }),
    interpretedValue,
    ...(Array.isArray(resolvedValues) && {
      resolvedValues: resolvedValues.filter((item): item is string => typeof item === 'string'),
    }),
  };
}
