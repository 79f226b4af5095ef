/**
 * Which fields of a message are `google.protobuf.Struct`s, and which are messages holding some: the shapes the
 * scan below descends into.
 */
export interface StructShape {
  readonly structs: Readonly<Record<number, string>>;
  readonly messages: Readonly<Record<number, { readonly name: string; readonly shape: StructShape }>>;
  /** Its `string` fields: proto3 requires valid UTF-8 there, which Node's decoding would silently replace. */
  readonly strings?: Readonly<Record<number, string>>;
}

/**
 * `FulfillRequest`: parameters (4), session_parameters (6), each context's parameters (5 → 3), and the strings
 * request_id, session_id, intent, text, language_code and each context's name.
 */
export const FULFILL_REQUEST_SHAPE: StructShape = {
  structs: { 4: 'parameters', 6: 'session_parameters' },
  strings: { 1: 'request_id', 2: 'session_id', 3: 'intent', 9: 'text', 10: 'language_code' },
  messages: {
    5: { name: 'contexts', shape: { structs: { 3: 'parameters' }, strings: { 1: 'name' }, messages: {} } },
  },
};

class Reader {
  position = 0;
  constructor(readonly bytes: Uint8Array) {}

  get done(): boolean {
    return this.position >= this.bytes.length;
  }

  varint(): number {
    let result = 0;
    let shift = 0;
    for (;;) {
      if (this.position >= this.bytes.length || shift > 63) throw new Error('truncated varint');
      const byte = this.bytes[this.position++];
      if (shift < 32) result += (byte & 0x7f) * 2 ** shift;
      if (!(byte & 0x80)) return result;
      shift += 7;
    }
  }

  /**
   * The next field's number and wire type and, for a length-delimited one, its bytes; the values of other wire
   * types are skipped, groups (3) with everything up to their end (4) as protobufjs skips them.
   */
  field(): Field {
    const tag = this.varint();
    const number = Math.floor(tag / 8);
    const wireType = tag & 7;
    switch (wireType) {
      case 0:
        this.varint();
        return { number, wireType };
      case 1:
        this.skip(8);
        return { number, wireType };
      case 5:
        this.skip(4);
        return { number, wireType };
      case 2: {
        const length = this.varint();
        const start = this.position;
        this.skip(length);
        return { number, wireType, bytes: this.bytes.subarray(start, this.position) };
      }
      case 3:
        this.skipGroup(number);
        return { number, wireType };
      default:
        throw new Error(`wire type ${wireType} out of place`);
    }
  }

  private skip(length: number): void {
    this.position += length;
    if (this.position > this.bytes.length) throw new Error('truncated field');
  }

  private skipGroup(number: number): void {
    for (;;) {
      if (this.done) throw new Error('truncated group');
      const tag = this.varint();
      if ((tag & 7) === 4) {
        if (Math.floor(tag / 8) !== number) throw new Error('mismatched end of group');
        return;
      }
      this.position -= varintLength(tag);
      this.field();
    }
  }
}

interface Field {
  readonly number: number;
  readonly wireType: number;
  readonly bytes?: Uint8Array;
}

function varintLength(value: number): number {
  let length = 1;
  for (let rest = value; rest >= 128; rest = Math.floor(rest / 128)) length += 1;
  return length;
}

/**
 * The bytes of a field the scan reads. protobufjs decodes a field it knows by its number whatever its wire type
 * says (a map entry or a Struct sent as a varint is read as a length and what follows), so a scan that skipped such
 * a field would not see what the decoder saw: it is refused instead (no encoder writes one).
 */
function lengthDelimited(field: Field, what: string): Uint8Array {
  if (field.bytes === undefined) throw new Error(`${what} with wire type ${field.wireType}`);
  return field.bytes;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * A string field's text, refused when it is not UTF-8: Node would read the bytes with U+FFFD in place of what it
 * cannot, so two requests that differ only there would be one turn, and a parser in front (grpc-go, Envoy) refuses
 * them anyway.
 */
function textOf(bytes: Uint8Array, what: string): string {
  try {
    return utf8.decode(bytes);
  } catch {
    throw new Error(`${what} is not UTF-8`);
  }
}

/** The kinds of a `google.protobuf.Value` (its oneof): null, number, string, bool, struct, list. */
const VALUE_KINDS = new Set([1, 2, 3, 4, 5, 6]);

/**
 * Checks a Struct's entries (occurrences of a Struct field merge, so `keys` spans them): protobuf decoding lets
 * the last of repeated map keys win, as JSON.parse does, so `{"amount": 1, "amount": 9}` sent as a Struct would
 * move 9 while a reader of the first entry sees 1. Returns the path of the first repeated key.
 */
function structDuplicate(bytes: Uint8Array, path: string, keys: Set<string>): string | undefined {
  const reader = new Reader(bytes);
  while (!reader.done) {
    const entry = reader.field();
    if (entry.number !== 1) continue;
    const fields = new Reader(lengthDelimited(entry, 'a Struct entry'));
    let key = '';
    const values: Uint8Array[] = [];
    while (!fields.done) {
      const field = fields.field();
      if (field.number === 1) key = textOf(lengthDelimited(field, 'a Struct key'), `a key in ${path}`);
      else if (field.number === 2) values.push(lengthDelimited(field, 'a Struct value'));
    }
    if (keys.has(key)) return `${path}.${key}`;
    keys.add(key);
    const nested = valueDuplicate(values, `${path}.${key}`);
    if (nested) return nested;
  }
  return undefined;
}

/**
 * A `Value` (its occurrences merge too): a struct inside it, or each item of a list. A Value holding two kinds
 * (a string and then a number) is refused: protobuf's rule is that the last one wins, protobufjs keeps both and
 * the service would read the first, so a proxy in front and the service would see different values.
 */
function valueDuplicate(occurrences: readonly Uint8Array[], path: string): string | undefined {
  const keys = new Set<string>();
  let kind: number | undefined;
  for (const bytes of occurrences) {
    const reader = new Reader(bytes);
    while (!reader.done) {
      const field = reader.field();
      if (VALUE_KINDS.has(field.number)) {
        if (kind !== undefined && kind !== field.number) throw new Error(`${path} holds two kinds of value`);
        kind = field.number;
      }
      if (field.number === 3) textOf(lengthDelimited(field, 'a string value'), path);
      if (field.number === 5) {
        const found = structDuplicate(lengthDelimited(field, 'a struct value'), path, keys);
        if (found) return found;
      } else if (field.number === 6) {
        const list = new Reader(lengthDelimited(field, 'a list value'));
        for (let index = 0; !list.done;) {
          const item = list.field();
          if (item.number !== 1) continue;
          const found = valueDuplicate([lengthDelimited(item, 'a list item')], `${path}.${index++}`);
          if (found) return found;
        }
      }
    }
  }
  return undefined;
}

/**
 * The path of the first key repeated in a Struct of the message (as encoded), or undefined. Throws when the bytes
 * are not what the decoder read (truncated, or a field it reads sent with another wire type), or not what another
 * decoder would read (a string that is not UTF-8, a Value of two kinds): refuse those.
 */
export function duplicateStructKey(bytes: Uint8Array, shape: StructShape, path = ''): string | undefined {
  const reader = new Reader(bytes);
  const keysByField = new Map<number, Set<string>>();
  const messageIndex = new Map<number, number>();
  while (!reader.done) {
    const field = reader.field();
    const name = shape.strings?.[field.number];
    if (name !== undefined) textOf(lengthDelimited(field, `${path}${name}`), `${path}${name}`);
    const struct = shape.structs[field.number];
    if (struct !== undefined) {
      const keys = keysByField.get(field.number) ?? new Set<string>();
      keysByField.set(field.number, keys);
      const found = structDuplicate(lengthDelimited(field, `${path}${struct}`), `${path}${struct}`, keys);
      if (found) return found;
      continue;
    }
    const message = shape.messages[field.number];
    if (message) {
      const index = messageIndex.get(field.number) ?? 0;
      messageIndex.set(field.number, index + 1);
      const bytes = lengthDelimited(field, `${path}${message.name}`);
      const found = duplicateStructKey(bytes, message.shape, `${path}${message.name}.${index}.`);
      if (found) return found;
    }
  }
  return undefined;
}
