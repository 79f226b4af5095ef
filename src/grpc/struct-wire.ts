/** The wire types of the fields the scan knows: a varint, 8 bytes, a length and that many bytes. */
const VARINT = 0;
const FIXED64 = 1;
const LENGTH_DELIMITED = 2;

/** A field the scan knows, by its number in a message. */
interface FieldRule {
  /** Its name in a refusal. */
  readonly name: string;
  readonly wireType: number;
  /**
   * A singular message field: protobuf (Go, C++, Java, a proxy, a logger) merges two occurrences into one message,
   * protobufjs keeps the last alone, so the keys of the first would be read elsewhere and gone here.
   */
  readonly once?: boolean;
  /** What the scan checks inside: text that must be UTF-8, a Struct, or (repeated) messages of this shape. */
  readonly holds?: 'text' | 'struct' | MessageShape;
}

/** A message's fields by number; a number not listed is skipped, as protobufjs skips a field it does not know. */
export type MessageShape = Readonly<Record<number, FieldRule>>;

const text = (name: string): FieldRule => ({ name, wireType: LENGTH_DELIMITED, holds: 'text' });
const varint = (name: string): FieldRule => ({ name, wireType: VARINT });
const struct = (name: string): FieldRule => ({ name, wireType: LENGTH_DELIMITED, once: true, holds: 'struct' });

const CONTEXT_SHAPE: MessageShape = { 1: text('name'), 2: varint('lifespan'), 3: struct('parameters') };

/** `FulfillRequest`, every field: its Structs, its strings, its contexts and its enums. */
export const FULFILL_REQUEST_SHAPE: MessageShape = {
  1: text('request_id'),
  2: text('session_id'),
  3: text('intent'),
  4: struct('parameters'),
  5: { name: 'contexts', wireType: LENGTH_DELIMITED, holds: CONTEXT_SHAPE },
  6: struct('session_parameters'),
  7: varint('stage'),
  8: varint('confirmation'),
  9: text('text'),
  10: text('language_code'),
};

/** `HandleWebhookRequest`: the platform's name and the relayed bytes, which the scan only checks are bytes. */
export const HANDLE_WEBHOOK_REQUEST_SHAPE: MessageShape = {
  1: text('platform'),
  2: { name: 'json', wireType: LENGTH_DELIMITED },
};

/** `grpc.health.v1.HealthCheckRequest`: the service's name, which must be whole and UTF-8. */
export const HEALTH_CHECK_REQUEST_SHAPE: MessageShape = { 1: text('service') };

/** `google.protobuf.Struct`'s map, one of its entries, `Value` (a oneof of these kinds) and `ListValue`. */
const STRUCT_FIELDS: MessageShape = { 1: { name: 'fields', wireType: LENGTH_DELIMITED } };
const ENTRY_KEY = 1;
const ENTRY_FIELDS: MessageShape = {
  [ENTRY_KEY]: { name: 'key', wireType: LENGTH_DELIMITED },
  2: { name: 'value', wireType: LENGTH_DELIMITED, once: true },
};
const STRING_VALUE = 3;
const STRUCT_VALUE = 5;
const LIST_VALUE = 6;
const VALUE_FIELDS: MessageShape = {
  1: varint('null_value'),
  2: { name: 'number_value', wireType: FIXED64 },
  [STRING_VALUE]: { name: 'string_value', wireType: LENGTH_DELIMITED },
  4: varint('bool_value'),
  [STRUCT_VALUE]: { name: 'struct_value', wireType: LENGTH_DELIMITED, once: true },
  [LIST_VALUE]: { name: 'list_value', wireType: LENGTH_DELIMITED, once: true },
};
const LIST_FIELDS: MessageShape = { 1: { name: 'values', wireType: LENGTH_DELIMITED } };

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

interface KnownField {
  readonly number: number;
  readonly rule: FieldRule;
  /** Empty unless length-delimited. */
  readonly bytes: Uint8Array;
}

const NO_BYTES = new Uint8Array(0);

/**
 * The fields of a message that its shape knows, in order, each checked against its rule. protobufjs decodes a field
 * it knows by its number whatever wire type the tag gives: a Struct sent as a varint is read as a length and what
 * follows, a number sent length-delimited is read from its length on and the rest of those bytes as more fields,
 * which the scan would have skipped (repeated keys, text that is not UTF-8, a second kind of value, all hidden). No
 * encoder writes either that or a singular message twice (see FieldRule.once): both are refused.
 */
function knownFields(bytes: Uint8Array, shape: MessageShape, named: (field: string) => string): KnownField[] {
  const reader = new Reader(bytes);
  const known: KnownField[] = [];
  const seen = new Set<number>();
  while (!reader.done) {
    const field = reader.field();
    const rule = shape[field.number];
    if (rule === undefined) continue;
    if (field.wireType !== rule.wireType) throw new Error(`${named(rule.name)} with wire type ${field.wireType}`);
    if (rule.once) {
      if (seen.has(field.number)) throw new Error(`${named(rule.name)} occurs twice`);
      seen.add(field.number);
    }
    known.push({ number: field.number, rule, bytes: field.bytes ?? NO_BYTES });
  }
  return known;
}

/**
 * Checks a Struct's entries: protobuf decoding lets the last of repeated map keys win, as JSON.parse does, so
 * `{"amount": 1, "amount": 9}` sent as a Struct would move 9 while a reader of the first entry sees 1. Returns the
 * path of the first repeated key.
 */
function structDuplicate(bytes: Uint8Array, path: string): string | undefined {
  const keys = new Set<string>();
  for (const entry of knownFields(bytes, STRUCT_FIELDS, (field) => `${field} of ${path}`)) {
    let key = '';
    let value: Uint8Array | undefined;
    for (const field of knownFields(entry.bytes, ENTRY_FIELDS, (name) => `${name} of an entry of ${path}`)) {
      if (field.number === ENTRY_KEY) key = textOf(field.bytes, `a key in ${path}`);
      else value = field.bytes;
    }
    if (keys.has(key)) return `${path}.${key}`;
    keys.add(key);
    const nested = value && valueDuplicate(value, `${path}.${key}`);
    if (nested) return nested;
  }
  return undefined;
}

/**
 * A `Value`: a struct inside it, or each item of a list. A Value holding two kinds (a string and then a number) is
 * refused: protobuf's rule is that the last one wins, protobufjs keeps both and the service would read the first, so
 * a proxy in front and the service would see different values.
 */
function valueDuplicate(bytes: Uint8Array, path: string): string | undefined {
  let kind: number | undefined;
  for (const field of knownFields(bytes, VALUE_FIELDS, (name) => `${name} of ${path}`)) {
    if (kind !== undefined && kind !== field.number) throw new Error(`${path} holds two kinds of value`);
    kind = field.number;
    if (field.number === STRING_VALUE) textOf(field.bytes, path);
    const found =
      field.number === STRUCT_VALUE
        ? structDuplicate(field.bytes, path)
        : field.number === LIST_VALUE
          ? listDuplicate(field.bytes, path)
          : undefined;
    if (found) return found;
  }
  return undefined;
}

function listDuplicate(bytes: Uint8Array, path: string): string | undefined {
  let index = 0;
  for (const item of knownFields(bytes, LIST_FIELDS, (field) => `${field} of ${path}`)) {
    const found = valueDuplicate(item.bytes, `${path}.${index++}`);
    if (found) return found;
  }
  return undefined;
}

/**
 * The path of the first key repeated in a Struct of the message (as encoded), or undefined. Throws when the bytes
 * are not what the decoder read (truncated, or a field it knows sent with another wire type), or not what another
 * decoder would read (a singular message sent twice, a string that is not UTF-8, a Value of two kinds): refuse those.
 */
export function duplicateStructKey(bytes: Uint8Array, shape: MessageShape, prefix = ''): string | undefined {
  const indexes = new Map<number, number>();
  for (const field of knownFields(bytes, shape, (name) => `${prefix}${name}`)) {
    const { holds } = field.rule;
    const name = `${prefix}${field.rule.name}`;
    if (holds === 'text') {
      textOf(field.bytes, name);
      continue;
    }
    let found: string | undefined;
    if (holds === 'struct') {
      found = structDuplicate(field.bytes, name);
    } else if (holds !== undefined) {
      const index = indexes.get(field.number) ?? 0;
      indexes.set(field.number, index + 1);
      found = duplicateStructKey(field.bytes, holds, `${name}.${index}.`);
    }
    if (found) return found;
  }
  return undefined;
}
