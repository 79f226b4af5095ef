/**
 * Which fields of a message are `google.protobuf.Struct`s, and which are messages holding some: the shapes the
 * scan below descends into.
 */
export interface StructShape {
  readonly structs: Readonly<Record<number, string>>;
  readonly messages: Readonly<Record<number, { readonly name: string; readonly shape: StructShape }>>;
}

/** `FulfillRequest`: parameters (4), session_parameters (6), and each context's parameters (5 → 3). */
export const FULFILL_REQUEST_SHAPE: StructShape = {
  structs: { 4: 'parameters', 6: 'session_parameters' },
  messages: { 5: { name: 'contexts', shape: { structs: { 3: 'parameters' }, messages: {} } } },
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

  /** The next field's number and, for a length-delimited one, its bytes; other wire types are skipped. */
  field(): { number: number; bytes?: Uint8Array } {
    const tag = this.varint();
    const number = Math.floor(tag / 8);
    switch (tag & 7) {
      case 0:
        this.varint();
        return { number };
      case 1:
        this.position += 8;
        return { number };
      case 5:
        this.position += 4;
        return { number };
      case 2: {
        const length = this.varint();
        const start = this.position;
        this.position += length;
        if (this.position > this.bytes.length) throw new Error('truncated field');
        return { number, bytes: this.bytes.subarray(start, this.position) };
      }
      default:
        throw new Error('unsupported wire type');
    }
  }
}

const text = new TextDecoder();

/**
 * Checks a Struct's entries (occurrences of a Struct field merge, so `keys` spans them): protobuf decoding lets
 * the last of repeated map keys win, as JSON.parse does, so `{"amount": 1, "amount": 9}` sent as a Struct would
 * move 9 while a reader of the first entry sees 1. Returns the path of the first repeated key.
 */
function structDuplicate(bytes: Uint8Array, path: string, keys: Set<string>): string | undefined {
  const reader = new Reader(bytes);
  while (!reader.done) {
    const entry = reader.field();
    if (entry.number !== 1 || !entry.bytes) continue;
    const fields = new Reader(entry.bytes);
    let key = '';
    const values: Uint8Array[] = [];
    while (!fields.done) {
      const field = fields.field();
      if (field.number === 1 && field.bytes) key = text.decode(field.bytes);
      else if (field.number === 2 && field.bytes) values.push(field.bytes);
    }
    if (keys.has(key)) return `${path}.${key}`;
    keys.add(key);
    const nested = valueDuplicate(values, `${path}.${key}`);
    if (nested) return nested;
  }
  return undefined;
}

/** A `Value` (its occurrences merge too): a struct inside it, or each item of a list. */
function valueDuplicate(occurrences: readonly Uint8Array[], path: string): string | undefined {
  const keys = new Set<string>();
  for (const bytes of occurrences) {
    const reader = new Reader(bytes);
    while (!reader.done) {
      const field = reader.field();
      if (!field.bytes) continue;
      if (field.number === 5) {
        const found = structDuplicate(field.bytes, path, keys);
        if (found) return found;
      } else if (field.number === 6) {
        const list = new Reader(field.bytes);
        for (let index = 0; !list.done;) {
          const item = list.field();
          if (item.number !== 1 || !item.bytes) continue;
          const found = valueDuplicate([item.bytes], `${path}.${index++}`);
          if (found) return found;
        }
      }
    }
  }
  return undefined;
}

/** The path of the first key repeated in a Struct of the message (as encoded), or undefined. */
export function duplicateStructKey(bytes: Uint8Array, shape: StructShape, path = ''): string | undefined {
  const reader = new Reader(bytes);
  const keysByField = new Map<number, Set<string>>();
  const messageIndex = new Map<number, number>();
  while (!reader.done) {
    const field = reader.field();
    if (!field.bytes) continue;
    const struct = shape.structs[field.number];
    if (struct !== undefined) {
      const keys = keysByField.get(field.number) ?? new Set<string>();
      keysByField.set(field.number, keys);
      const found = structDuplicate(field.bytes, `${path}${struct}`, keys);
      if (found) return found;
      continue;
    }
    const message = shape.messages[field.number];
    if (message) {
      const index = messageIndex.get(field.number) ?? 0;
      messageIndex.set(field.number, index + 1);
      const found = duplicateStructKey(field.bytes, message.shape, `${path}${message.name}.${index}.`);
      if (found) return found;
    }
  }
  return undefined;
}
