import { echoedSlots } from './lex-v2.echoed-slots';
import type { LexV2Slots } from './lex-v2.request';

const scalar = (value: string) => ({
  shape: 'Scalar' as const,
  value: { originalValue: value, interpretedValue: value, resolvedValues: [value] },
});

describe('echoedSlots (the slots as they go back to Lex)', () => {
  it('sends documented slots back unchanged: scalar, list, composite and unfilled', () => {
    const slots: LexV2Slots = {
      user_id: scalar('12345'),
      colours: { shape: 'List', value: scalar('red, blue').value, values: [scalar('red'), scalar('blue')] },
      address: { shape: 'Composite', subSlots: { City: scalar('Berlin'), Street: null } },
      account_type: null,
    };
    expect(echoedSlots(slots)).toEqual(slots);
  });

  it('leaves out fields Lex does not document, at every level', () => {
    const slots = {
      user_id: { ...scalar('12345'), futureSlotField: 'x', value: { ...scalar('12345').value, '': 1, extra: {} } },
      address: { shape: 'Composite', subSlots: { City: { ...scalar('Berlin'), novel: true } } },
    } as unknown as LexV2Slots;
    expect(echoedSlots(slots)).toEqual({
      user_id: scalar('12345'),
      address: { shape: 'Composite', subSlots: { City: scalar('Berlin') } },
    });
  });

  it('keeps only strings among the resolved values, and the original value only when it is a string', () => {
    const slots = {
      a: { value: { originalValue: 42, interpretedValue: 'x', resolvedValues: ['x', null, 3, 'y'] } },
      b: { value: { interpretedValue: 'y', resolvedValues: 'y' } },
    } as unknown as LexV2Slots;
    expect(echoedSlots(slots)).toEqual({
      a: { value: { interpretedValue: 'x', resolvedValues: ['x', 'y'] } },
      b: { value: { interpretedValue: 'y' } },
    });
  });

  it('sends a slot whose value has no interpreted value back unfilled, as the turn read it', () => {
    const slots = {
      a: { shape: 'Scalar', value: { originalValue: 'x', resolvedValues: ['x'] } },
      b: { shape: 'Scalar', value: { interpretedValue: null } },
      c: { shape: 'List', values: [{ value: { originalValue: 'x' } }] },
    } as unknown as LexV2Slots;
    expect(echoedSlots(slots)).toEqual({ a: null, b: null, c: null });
  });

  it('gives a List slot its values and a Composite slot its sub-slots, as Lex requires of them', () => {
    const slots = {
      list: { shape: 'List', value: scalar('red').value },
      composite: { shape: 'Composite', value: scalar('Berlin').value },
    } as unknown as LexV2Slots;
    expect(echoedSlots(slots)).toEqual({
      list: { shape: 'List', value: scalar('red').value, values: [] },
      composite: { shape: 'Composite', value: scalar('Berlin').value, subSlots: {} },
    });
  });
});
