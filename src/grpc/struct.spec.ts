import { AppError } from '../common/errors/app-error';
import { fromStruct, type ProtoStruct, toStruct, toValue } from './struct';

describe('google.protobuf.Struct conversion', () => {
  const json = {
    text: 'hi',
    count: 3.5,
    yes: true,
    nothing: null,
    list: [1, 'two', { three: [3] }],
    nested: { deeper: { deepest: 'x' } },
  };

  it('round-trips a JSON object', () => {
    expect(fromStruct(toStruct(json), 'p', 64)).toEqual(json);
  });

  it('encodes each JSON type as its Value kind', () => {
    expect(toValue('s')).toEqual({ stringValue: 's' });
    expect(toValue(0)).toEqual({ numberValue: 0 });
    expect(toValue(false)).toEqual({ boolValue: false });
    expect(toValue(null)).toEqual({ nullValue: 'NULL_VALUE' });
    expect(toValue(Number.NaN)).toEqual({ nullValue: 'NULL_VALUE' });
    expect(toValue([])).toEqual({ listValue: { values: [] } });
    expect(toStruct({ gone: undefined, kept: 1 })).toEqual({ fields: { kept: { numberValue: 1 } } });
  });

  it('reads an unset struct as absent and an unset value as null', () => {
    expect(fromStruct(undefined, 'p', 64)).toBeUndefined();
    expect(fromStruct(null, 'p', 64)).toBeUndefined();
    expect(fromStruct({}, 'p', 64)).toEqual({});
    expect(fromStruct({ fields: { a: {} } }, 'p', 64)).toEqual({ a: null });
  });

  it.each([Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY])(
    'refuses the double %s, which no JSON body can carry, naming where',
    (number) => {
      const struct: ProtoStruct = {
        fields: { transfer: { structValue: { fields: { amount: { numberValue: number } } } } },
      };
      expect(() => fromStruct(struct, 'parameters', 64)).toThrow(
        expect.objectContaining({
          code: 'VALIDATION_FAILED',
          details: [{ field: 'parameters.transfer.amount', problem: expect.stringMatching(/^is not a finite number/) }],
        }),
      );
    },
  );

  it('refuses a NUL character in any string or key, naming where, as the JSON body parser does', () => {
    const refusal = (struct: ProtoStruct) => {
      try {
        fromStruct(struct, 'parameters', 64);
      } catch (error: unknown) {
        return error instanceof AppError ? { message: error.message, details: error.details } : error;
      }
      return 'accepted';
    };
    const inList = toStruct({ ok: 'fine', memo: { lines: ['one', 'tw\u0000o'] } });
    expect(refusal(inList)).toEqual({
      message: 'The request has a NUL character (\\u0000) in parameters.memo.lines.1.',
      details: [{ field: 'parameters.memo.lines.1', problem: 'holds a NUL character (\\u0000)' }],
    });
    expect(refusal(toStruct({ 'k\u0000': 1 }))).toMatchObject({
      details: [{ field: 'parameters.k\u0000', problem: 'holds a NUL character (\\u0000)' }],
    });
    // The six characters of the escape, spelled out, are ordinary text.
    expect(fromStruct(toStruct({ path: 'C:\\u0000' }), 'parameters', 64)).toEqual({ path: 'C:\\u0000' });
  });

  it('refuses keys that could reach a prototype at any depth, naming them, as the JSON body parser does', () => {
    for (const key of ['constructor', 'prototype', '__proto__']) {
      const struct = { fields: { ok: { boolValue: true }, nested: { structValue: { fields: { [key]: {} } } } } };
      expect(() => fromStruct(struct, 'p', 64)).toThrow(`The request has a key that is not allowed: p.nested.${key}.`);
    }
  });

  it('refuses nesting deeper than the limit, naming the field', () => {
    let value: unknown = 'leaf';
    for (let level = 0; level < 5; level++) value = { next: value };
    const struct = toStruct(value as Record<string, unknown>);
    expect(fromStruct(struct, 'parameters', 5)).toBeDefined();
    expect(() => fromStruct(struct, 'parameters', 4)).toThrow(AppError);
    try {
      fromStruct(toStruct({ list: [[[1]]] }), 'parameters', 3);
      throw new Error('expected a depth error');
    } catch (error) {
      expect(error).toBeInstanceOf(AppError);
      expect((error as AppError).details).toEqual([{ field: 'parameters', problem: 'is nested deeper than 3 levels' }]);
    }
  });
});
