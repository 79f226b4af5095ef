import { AppError } from '../common/errors/app-error';

/** `google.protobuf.Value` as proto-loader gives and takes it (enums by name, `kind` names the set field). */
export interface ProtoValue {
  nullValue?: 'NULL_VALUE' | 0;
  numberValue?: number;
  stringValue?: string;
  boolValue?: boolean;
  structValue?: ProtoStruct;
  listValue?: { values?: ProtoValue[] };
  kind?: string;
}

/** `google.protobuf.Struct`: a JSON object. */
export interface ProtoStruct {
  fields?: Record<string, ProtoValue>;
}

/** Keys the JSON body parser refuses too: merging them into an object could reach its prototype. */
const POLLUTING_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

/** Where in a struct a refused key or string is (keys and list indices, outermost first), and why it is refused. */
class StructRefusal extends Error {
  readonly path: (string | number)[] = [];

  constructor(readonly reason: 'polluting-key' | 'nul' | 'not-finite') {
    super(reason);
  }

  within(step: string | number): StructRefusal {
    this.path.unshift(step);
    return this;
  }
}

/** PostgreSQL text and jsonb cannot hold U+0000; the JSON body reader refuses it too. */
const hasNul = (text: string): boolean => text.includes('\u0000');

/** A JSON value (as `JSON.parse` makes them) as a `google.protobuf.Value`. */
export function toValue(value: unknown): ProtoValue {
  if (value === null || value === undefined) return { nullValue: 'NULL_VALUE' };
  switch (typeof value) {
    case 'string':
      return { stringValue: value };
    case 'number':
      // JSON has no NaN or Infinity; JSON.stringify would have written null.
      return Number.isFinite(value) ? { numberValue: value } : { nullValue: 'NULL_VALUE' };
    case 'boolean':
      return { boolValue: value };
    case 'object':
      return Array.isArray(value)
        ? { listValue: { values: value.map(toValue) } }
        : { structValue: toStruct(value as Record<string, unknown>) };
    default:
      return { nullValue: 'NULL_VALUE' };
  }
}

/** A JSON object as a `google.protobuf.Struct`; keys whose value is `undefined` are left out, as in JSON. */
export function toStruct(object: Readonly<Record<string, unknown>>): ProtoStruct {
  const fields: Record<string, ProtoValue> = {};
  for (const [key, value] of Object.entries(object)) {
    if (value !== undefined) fields[key] = toValue(value);
  }
  return { fields };
}

class TooDeep extends Error {}

function valueOf(value: ProtoValue | undefined, depth: number, maxDepth: number): unknown {
  if (!value) return null;
  if (value.structValue !== undefined) return objectOf(value.structValue, depth + 1, maxDepth);
  if (value.listValue !== undefined) {
    if (depth + 1 > maxDepth) throw new TooDeep();
    return (value.listValue.values ?? []).map((item, index) => {
      try {
        return valueOf(item, depth + 1, maxDepth);
      } catch (error: unknown) {
        throw error instanceof StructRefusal ? error.within(index) : error;
      }
    });
  }
  if (value.stringValue !== undefined) {
    if (hasNul(value.stringValue)) throw new StructRefusal('nul');
    return value.stringValue;
  }
  if (value.numberValue !== undefined) {
    // A double on the wire may be NaN or ±Infinity, which no JSON body can carry: `amount > limit` is false for
    // NaN, and the turn's stored body would read it as null.
    if (!Number.isFinite(value.numberValue)) throw new StructRefusal('not-finite');
    return value.numberValue;
  }
  if (value.boolValue !== undefined) return value.boolValue;
  return null;
}

function objectOf(struct: ProtoStruct, depth: number, maxDepth: number): Record<string, unknown> {
  if (depth > maxDepth) throw new TooDeep();
  const object: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(struct.fields ?? {})) {
    if (POLLUTING_KEYS.has(key)) throw new StructRefusal('polluting-key').within(key);
    if (hasNul(key)) throw new StructRefusal('nul').within(key);
    try {
      object[key] = valueOf(value, depth, maxDepth);
    } catch (error: unknown) {
      throw error instanceof StructRefusal ? error.within(key) : error;
    }
  }
  return object;
}

/**
 * A `google.protobuf.Struct` as the plain object a JSON body would have given, under the same rules: at most
 * `maxDepth` levels of objects and arrays (the struct itself is the first), prototype-polluting keys and NUL
 * characters refused.
 * An unset struct is `undefined`.
 */
export function fromStruct(
  struct: ProtoStruct | null | undefined,
  field: string,
  maxDepth: number,
): Record<string, unknown> | undefined {
  if (struct === null || struct === undefined) return undefined;
  try {
    return objectOf(struct, 1, maxDepth);
  } catch (error: unknown) {
    if (error instanceof StructRefusal) throw refusalError(field, error);
    if (!(error instanceof TooDeep)) throw error;
    throw new AppError('VALIDATION_FAILED', `The request is invalid: ${field}.`, [
      { field, problem: `is nested deeper than ${maxDepth} levels` },
    ]);
  }
}

function refusalError(field: string, refusal: StructRefusal): AppError {
  const where = [field, ...refusal.path].join('.');
  switch (refusal.reason) {
    case 'nul':
      return new AppError('MALFORMED_JSON', `The request has a NUL character (\\u0000) in ${where}.`, [
        { field: where, problem: 'holds a NUL character (\\u0000)' },
      ]);
    case 'not-finite':
      return new AppError('VALIDATION_FAILED', `The request is invalid: ${where}.`, [
        { field: where, problem: 'is not a finite number (NaN and Infinity have no JSON form)' },
      ]);
    case 'polluting-key':
      return new AppError('MALFORMED_JSON', `The request has a key that is not allowed: ${where}.`, [
        { field: where, problem: 'is a key that is not allowed' },
      ]);
  }
}
