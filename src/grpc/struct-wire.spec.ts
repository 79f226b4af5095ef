import { duplicateStructKey, FULFILL_REQUEST_SHAPE } from './struct-wire';

// Protobuf wire encoding by hand, so the test can write what protobufjs would never write: a repeated map key.
const varint = (value: number): number[] => {
  const bytes: number[] = [];
  while (value > 127) {
    bytes.push((value & 0x7f) | 0x80);
    value >>>= 7;
  }
  return [...bytes, value];
};
const field = (number: number, bytes: number[]): number[] => [
  ...varint(number * 8 + 2),
  ...varint(bytes.length),
  ...bytes,
];
const text = (value: string): number[] => [...Buffer.from(value)];
const stringValue = (value: string) => field(3, text(value));
const entry = (key: string, value: number[]) => field(1, [...field(1, text(key)), ...field(2, value)]);
const struct = (...entries: number[][]) => entries.flat();

describe('duplicateStructKey (FulfillRequest on the wire)', () => {
  it('finds nothing in a request whose Structs repeat no key', () => {
    const bytes = [
      ...field(3, text('TransferFunds')),
      ...field(4, struct(entry('amount', stringValue('1.00')), entry('user_id', stringValue('12345')))),
      ...field(5, [...field(1, text('ctx')), ...field(3, struct(entry('amount', stringValue('2'))))]),
    ];
    expect(duplicateStructKey(Uint8Array.from(bytes), FULFILL_REQUEST_SHAPE)).toBeUndefined();
  });

  it('finds a key repeated in parameters, also across two occurrences of the field (which protobuf merges)', () => {
    const twice = field(4, struct(entry('amount', stringValue('1.00')), entry('amount', stringValue('9.00'))));
    expect(duplicateStructKey(Uint8Array.from(twice), FULFILL_REQUEST_SHAPE)).toBe('parameters.amount');
    const merged = [...field(4, entry('amount', stringValue('1'))), ...field(4, entry('amount', stringValue('9')))];
    expect(duplicateStructKey(Uint8Array.from(merged), FULFILL_REQUEST_SHAPE)).toBe('parameters.amount');
  });

  it('finds one nested in a struct value, a list item, session_parameters and a context', () => {
    const nested = field(6, entry('a', field(5, struct(entry('b', stringValue('1')), entry('b', stringValue('2'))))));
    expect(duplicateStructKey(Uint8Array.from(nested), FULFILL_REQUEST_SHAPE)).toBe('session_parameters.a.b');
    const inList = field(
      4,
      entry(
        'list',
        field(6, [...field(1, stringValue('x')), ...field(1, field(5, struct(entry('k', []), entry('k', []))))]),
      ),
    );
    expect(duplicateStructKey(Uint8Array.from(inList), FULFILL_REQUEST_SHAPE)).toBe('parameters.list.1.k');
    const context = [
      ...field(5, field(3, entry('x', []))),
      ...field(5, field(3, struct(entry('y', []), entry('y', [])))),
    ];
    expect(duplicateStructKey(Uint8Array.from(context), FULFILL_REQUEST_SHAPE)).toBe('contexts.1.parameters.y');
  });

  it('throws on a Value holding two kinds, which protobufjs keeps both of and other decoders read as the last', () => {
    const twoKinds = field(4, entry('amount', [...stringValue('1.00'), 0x11, ...Buffer.alloc(8)]));
    expect(() => duplicateStructKey(Uint8Array.from(twoKinds), FULFILL_REQUEST_SHAPE)).toThrow(
      'parameters.amount holds two kinds of value',
    );
    const nestedList = field(4, entry('l', field(6, field(1, [...stringValue('x'), 0x20, 0x01]))));
    expect(() => duplicateStructKey(Uint8Array.from(nestedList), FULFILL_REQUEST_SHAPE)).toThrow(
      'parameters.l.0 holds two kinds of value',
    );
  });

  it('throws on a string that is not UTF-8: a field, a context name, a Struct key or a string value', () => {
    const bad = [0x41, 0xff];
    const cases: [number[], string][] = [
      [field(3, bad), 'intent is not UTF-8'],
      [field(1, bad), 'request_id is not UTF-8'],
      [field(5, field(1, bad)), 'contexts.0.name is not UTF-8'],
      [field(4, field(1, [...field(1, bad), ...field(2, stringValue('x'))])), 'a key in parameters is not UTF-8'],
      [field(6, entry('k', field(3, bad))), 'session_parameters.k is not UTF-8'],
    ];
    for (const [bytes, message] of cases) {
      expect(() => duplicateStructKey(Uint8Array.from(bytes), FULFILL_REQUEST_SHAPE)).toThrow(message);
    }
    // Valid UTF-8 of every width passes, U+FFFD itself included.
    const fine = [...field(3, text('Überweisung ñ 中 🐍 \uFFFD')), ...field(4, entry('€', stringValue('ü')))];
    expect(duplicateStructKey(Uint8Array.from(fine), FULFILL_REQUEST_SHAPE)).toBeUndefined();
  });

  it('throws on bytes that are not a message (the decoder refuses them itself)', () => {
    expect(() => duplicateStructKey(Uint8Array.from([0x22, 0x10, 0x01]), FULFILL_REQUEST_SHAPE)).toThrow();
  });

  it('skips a group of a field it does not know, as protobufjs does, and finds what follows', () => {
    // Field 100 as a group (start 0xa3 0x06 … end 0xa4 0x06), holding a varint and a nested group.
    const group = [0xa3, 0x06, 0x08, 0x01, 0xab, 0x06, 0xac, 0x06, 0xa4, 0x06];
    const twice = field(4, struct(entry('amount', stringValue('1')), entry('amount', stringValue('9'))));
    expect(duplicateStructKey(Uint8Array.from([...group, ...twice]), FULFILL_REQUEST_SHAPE)).toBe('parameters.amount');
    expect(() => duplicateStructKey(Uint8Array.from([0xa3, 0x06, 0x08, 0x01]), FULFILL_REQUEST_SHAPE)).toThrow(
      'truncated group',
    );
  });

  it('throws on a field it reads sent with another wire type, which protobufjs decodes as if length-delimited', () => {
    const keys = struct(entry('amount', stringValue('1')), entry('amount', stringValue('9')));
    // parameters (4) as a varint that protobufjs reads as the length of what follows.
    expect(() => duplicateStructKey(Uint8Array.from([0x20, keys.length, ...keys]), FULFILL_REQUEST_SHAPE)).toThrow(
      'parameters with wire type 0',
    );
    // A Struct entry (1) the same way.
    const entries = entry('amount', stringValue('1')).slice(2);
    expect(() =>
      duplicateStructKey(Uint8Array.from(field(4, [0x08, entries.length, ...entries])), FULFILL_REQUEST_SHAPE),
    ).toThrow('a Struct entry with wire type 0');
  });
});
