import { loadSync } from '@grpc/proto-loader';
import { join } from 'node:path';
import { Enum, Root, types } from 'protobufjs';
import { FULFILLMENT_PROTO, PROTO_DIR, PROTO_LOADER_OPTIONS } from './grpc-proto';
import { toStruct } from './struct';
import {
  duplicateStructKey,
  FULFILL_REQUEST_SHAPE,
  HANDLE_WEBHOOK_REQUEST_SHAPE,
  type MessageShape,
} from './struct-wire';

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
const scan =
  (bytes: number[], shape = FULFILL_REQUEST_SHAPE) =>
  () =>
    duplicateStructKey(Uint8Array.from(bytes), shape);
const repeatedKey = struct(entry('amount', stringValue('1')), entry('amount', stringValue('9')));
/**
 * A double (wire type 1) sent length-delimited: protobufjs reads the length byte and the 7 after it as the number,
 * then decodes `hidden` as more fields of the same message.
 */
const asDouble = (number: number, hidden: number[]) => field(number, [0, 0, 0, 0, 0, 0, 0, ...hidden]);

/** The service's own encoder and decoder (protobufjs, through proto-loader), as the server and clients use them. */
const fulfillment = loadSync(FULFILLMENT_PROTO, PROTO_LOADER_OPTIONS)[
  'fulfillment.v1.FulfillmentService'
] as unknown as Record<
  'Fulfill' | 'HandleWebhook',
  { requestSerialize: (value: object) => Buffer; requestDeserialize: (bytes: Buffer) => Record<string, unknown> }
>;

describe('duplicateStructKey (FulfillRequest on the wire)', () => {
  it('finds nothing in a request whose Structs repeat no key', () => {
    const bytes = [
      ...field(3, text('TransferFunds')),
      ...field(4, struct(entry('amount', stringValue('1.00')), entry('user_id', stringValue('12345')))),
      ...field(5, [...field(1, text('ctx')), ...field(3, struct(entry('amount', stringValue('2'))))]),
    ];
    expect(duplicateStructKey(Uint8Array.from(bytes), FULFILL_REQUEST_SHAPE)).toBeUndefined();
  });

  it('finds a key repeated in parameters', () => {
    const twice = field(4, struct(entry('amount', stringValue('1.00')), entry('amount', stringValue('9.00'))));
    expect(duplicateStructKey(Uint8Array.from(twice), FULFILL_REQUEST_SHAPE)).toBe('parameters.amount');
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
    ).toThrow('fields of parameters with wire type 0');
  });

  it('throws on a scalar sent length-delimited, whose bytes protobufjs decodes on as more fields of the message', () => {
    const cases: [number[], string][] = [
      // A Value's number hiding a string, a bool hiding a struct with a repeated key, a null hiding text not UTF-8.
      [field(4, entry('id', asDouble(2, stringValue('12345')))), 'number_value of parameters.id with wire type 2'],
      [field(4, entry('flag', field(4, field(5, repeatedKey)))), 'bool_value of parameters.flag with wire type 2'],
      [field(4, entry('none', field(1, field(3, [0xff])))), 'null_value of parameters.none with wire type 2'],
      // A context's lifespan hiding its parameters with a repeated key, the request's enums hiding parameters.
      [field(5, [...field(1, text('c')), ...field(2, field(3, repeatedKey))]), 'contexts.0.lifespan with wire type 2'],
      [field(7, field(4, repeatedKey)), 'stage with wire type 2'],
      [field(8, field(4, repeatedKey)), 'confirmation with wire type 2'],
      // The other way round: a number sent as a varint is read as 8 bytes, text sent as one as a length and text.
      [field(4, entry('n', [0x10, 0x01, ...stringValue('x')])), 'number_value of parameters.n with wire type 0'],
      [[0x18, 0x02, 0x41, 0x42], 'intent with wire type 0'],
      [field(4, entry('l', field(6, [0x08, 0x00]))), 'values of parameters.l with wire type 0'],
      [field(4, field(1, [0x08, 0x01, 0x41])), 'key of an entry of parameters with wire type 0'],
      [[0x10, 0x00, ...field(1, text('x'))], 'json with wire type 0'],
    ];
    for (const [bytes, message] of cases) {
      const shape = message.startsWith('json') ? HANDLE_WEBHOOK_REQUEST_SHAPE : FULFILL_REQUEST_SHAPE;
      expect(scan(bytes, shape)).toThrow(message);
    }
    // What protobufjs made of the first: the number and the hidden string, two kinds a proxy would not have seen.
    const decoded = fulfillment.Fulfill.requestDeserialize(Buffer.from(cases[0][0]));
    expect(decoded.parameters).toEqual({
      fields: { id: expect.objectContaining({ numberValue: expect.any(Number), stringValue: '12345' }) as unknown },
    });
  });

  it('throws on a singular message sent twice, which protobufjs reads as the last alone and protobuf merges', () => {
    const one = (key: string) => entry(key, stringValue('x'));
    const cases: [number[], string][] = [
      [[...field(4, one('user_id')), ...field(4, one('account_type'))], 'parameters occurs twice'],
      [[...field(6, one('a')), ...field(6, one('b'))], 'session_parameters occurs twice'],
      [field(5, [...field(3, one('a')), ...field(3, one('b'))]), 'contexts.0.parameters occurs twice'],
      [
        field(4, entry('s', [...field(5, one('a')), ...field(5, one('b'))])),
        'struct_value of parameters.s occurs twice',
      ],
      [field(4, entry('l', [...field(6, field(1, [])), ...field(6, [])])), 'list_value of parameters.l occurs twice'],
      [
        field(4, field(1, [...field(1, text('k')), ...field(2, []), ...field(2, [])])),
        'value of an entry of parameters occurs twice',
      ],
    ];
    for (const [bytes, message] of cases) expect(scan(bytes)).toThrow(message);
    // What protobufjs made of the first: the second Struct alone, user_id gone.
    expect(fulfillment.Fulfill.requestDeserialize(Buffer.from(cases[0][0])).parameters).toEqual({
      fields: { account_type: { stringValue: 'x', kind: 'stringValue' } },
    });
  });

  it('passes what an encoder writes: each field once, repeated fields (contexts, entries, list items) as often as given', () => {
    const values = {
      n: 1.5,
      yes: true,
      none: null,
      text: 'ü',
      list: [1, 'two', [3, [4]], { five: { six: 6 } }],
      o: {},
    };
    const request = {
      requestId: 'r-1',
      sessionId: 's-1',
      intent: 'TransferFunds',
      parameters: toStruct(values),
      sessionParameters: toStruct({ a: { b: [true, null] } }),
      contexts: [
        { name: 'one', lifespan: 5, parameters: toStruct(values) },
        { name: 'two', lifespan: 0 },
        { name: 'three', parameters: toStruct({}) },
      ],
      stage: 'STAGE_DIALOG',
      confirmation: 'CONFIRMATION_CONFIRMED',
      text: 'move 9 to savings',
      languageCode: 'de-CH',
    };
    expect(scan([...fulfillment.Fulfill.requestSerialize(request)])()).toBeUndefined();
    const relayed = fulfillment.HandleWebhook.requestSerialize({ platform: 'rasa', json: Buffer.from('{}') });
    expect(scan([...relayed], HANDLE_WEBHOOK_REQUEST_SHAPE)()).toBeUndefined();
  });

  it('knows every field of the requests, with the wire type protobufjs decodes it by (a new field is not skipped)', () => {
    const root = new Root();
    root.resolvePath = (_origin, target) => (target.startsWith('google/') ? target : join(PROTO_DIR, target));
    root.loadSync(FULFILLMENT_PROTO, { keepCase: true }).resolveAll();
    const declared = (type: string) =>
      Object.fromEntries(
        root.lookupType(type).fieldsArray.map((field) => {
          const wireType =
            field.resolvedType instanceof Enum
              ? 0
              : field.resolvedType
                ? 2
                : (types.basic as Record<string, number>)[field.type];
          return [field.id, [field.name, wireType]];
        }),
      );
    const known = (shape: MessageShape) =>
      Object.fromEntries(Object.entries(shape).map(([number, rule]) => [number, [rule.name, rule.wireType]]));
    const context = FULFILL_REQUEST_SHAPE[5].holds as MessageShape;
    expect(known(FULFILL_REQUEST_SHAPE)).toEqual(declared('fulfillment.v1.FulfillRequest'));
    expect(known(context)).toEqual(declared('fulfillment.v1.Context'));
    expect(known(HANDLE_WEBHOOK_REQUEST_SHAPE)).toEqual(declared('fulfillment.v1.HandleWebhookRequest'));
  });
});
