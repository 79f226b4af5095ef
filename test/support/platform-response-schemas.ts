import { readFileSync } from 'node:fs';
import protobuf from 'protobufjs';

/**
 * Response checks against each platform's own schema, independent of the service's code (nothing here is
 * imported from src/):
 *
 * - Dialogflow ES and CX: Google's official `WebhookRequest` / `WebhookResponse` messages, from the `.proto`
 *   definitions that Google ships in `@google-cloud/dialogflow` (v2, v2beta1) and `@google-cloud/dialogflow-cx`
 *   (v3), decoded with protobufjs under the proto3 JSON mapping (https://protobuf.dev/programming-guides/json/)
 *   as Dialogflow's own parser reads them: unknown field names and wrong types are errors.
 * - Lex V2 and Rasa: see ./lex-v2-response-schema.ts and ./rasa-response-schema.ts.
 *
 * protobufjs's `Type.fromObject` is lenient (it drops unknown keys and coerces types) and it does not speak the
 * JSON forms of the well-known types (Struct, Value, Timestamp, …), so the JSON is first walked strictly here,
 * field by field against the descriptor, and converted to protobufjs's object form; that object must then pass
 * `Type.verify` and survive a binary encode/decode round trip.
 */

export { lexV2ResponseErrors } from './lex-v2-response-schema';
export { rasaActionResponseErrors } from './rasa-response-schema';

type Json = unknown;

function loadRoot(packageName: string): protobuf.Root {
  const path = require.resolve(`${packageName}/build/protos/protos.json`);
  const root = protobuf.Root.fromJSON(JSON.parse(readFileSync(path, 'utf8')) as protobuf.INamespace);
  root.resolveAll();
  return root;
}

let esRoot: protobuf.Root | undefined;
let cxRoot: protobuf.Root | undefined;
const dialogflowRoot = () => (esRoot ??= loadRoot('@google-cloud/dialogflow'));
const dialogflowCxRoot = () => (cxRoot ??= loadRoot('@google-cloud/dialogflow-cx'));

const isObject = (value: Json): value is Record<string, Json> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

const snakeCase = (camel: string) => camel.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);

const INT32 = new Set(['int32', 'sint32', 'sfixed32']);
const UINT32 = new Set(['uint32', 'fixed32']);
const INT64 = new Set(['int64', 'sint64', 'sfixed64']);
const UINT64 = new Set(['uint64', 'fixed64']);
const FLOATS = new Set(['float', 'double']);
const WRAPPERS: Record<string, string> = {
  DoubleValue: 'double',
  FloatValue: 'float',
  Int64Value: 'int64',
  UInt64Value: 'uint64',
  Int32Value: 'int32',
  UInt32Value: 'uint32',
  BoolValue: 'bool',
  StringValue: 'string',
  BytesValue: 'bytes',
};
const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/;
const DURATION = /^(-)?(\d+)(?:\.(\d{1,9}))?s$/;
const BASE64 = /^[A-Za-z0-9+/_-]*={0,2}$/;

class Proto3JsonReader {
  readonly errors: string[] = [];

  constructor(private readonly root: protobuf.Root) {}

  private fail(path: string, message: string): undefined {
    this.errors.push(`${path}: ${message}`);
    return undefined;
  }

  /** The value in protobufjs object form, or undefined (with an error recorded) when it does not conform. */
  message(type: protobuf.Type, json: Json, path: string): Record<string, unknown> | undefined {
    const wellKnown = this.wellKnown(type, json, path);
    if (wellKnown !== null) return wellKnown;
    if (!isObject(json)) return this.fail(path, `expected a JSON object for ${type.fullName}, got ${describe(json)}`);
    const out: Record<string, unknown> = {};
    const seen = new Map<string, string>();
    for (const [key, value] of Object.entries(json)) {
      const field = type.fields[key] ?? type.fieldsArray.find((f) => snakeCase(f.name) === key);
      const at = `${path}.${key}`;
      if (!field) {
        this.fail(at, `unknown field of ${type.fullName}`);
        continue;
      }
      if (seen.has(field.name)) {
        this.fail(at, `field given twice (also as "${seen.get(field.name)}")`);
        continue;
      }
      seen.set(field.name, key);
      if (value === null && field.resolvedType?.fullName !== '.google.protobuf.Value') continue; // proto3 JSON: null is the default
      const converted = this.field(field, value, at);
      if (converted !== undefined) out[field.name] = converted;
    }
    for (const oneof of type.oneofsArray) {
      const set = oneof.fieldsArray.filter((f) => json[f.name] != null || json[snakeCase(f.name)] != null);
      if (set.length > 1)
        this.fail(path, `oneof ${oneof.name} has more than one field set: ${set.map((f) => f.name).join(', ')}`);
    }
    return out;
  }

  private field(field: protobuf.Field, value: Json, path: string): unknown {
    if (field instanceof protobuf.MapField) {
      if (!isObject(value)) return this.fail(path, `expected a JSON object (map), got ${describe(value)}`);
      const out: Record<string, unknown> = {};
      for (const [key, item] of Object.entries(value)) {
        this.mapKey(field.keyType, key, `${path}[${JSON.stringify(key)}]`);
        const converted = this.single(field, item, `${path}[${JSON.stringify(key)}]`);
        if (converted !== undefined) out[key] = converted;
      }
      return out;
    }
    if (field.repeated) {
      if (!Array.isArray(value)) return this.fail(path, `expected a JSON array, got ${describe(value)}`);
      return value.map((item: Json, i) => {
        if (item === null && field.resolvedType?.fullName !== '.google.protobuf.Value') {
          return this.fail(`${path}[${i}]`, 'null is not allowed in a repeated field');
        }
        return this.single(field, item, `${path}[${i}]`);
      });
    }
    return this.single(field, value, path);
  }

  private single(field: protobuf.Field, value: Json, path: string): unknown {
    const resolved = field.resolvedType;
    if (resolved instanceof protobuf.Type) return this.message(resolved, value, path);
    if (resolved instanceof protobuf.Enum) return this.enumValue(resolved, value, path);
    return this.scalar(field.type, value, path);
  }

  private mapKey(keyType: string, key: string, path: string): void {
    if (keyType === 'bool' && key !== 'true' && key !== 'false') this.fail(path, 'map key must be "true" or "false"');
    if (keyType !== 'string' && keyType !== 'bool' && !/^-?\d+$/.test(key))
      this.fail(path, `map key must be an integer (${keyType})`);
  }

  private enumValue(type: protobuf.Enum, value: Json, path: string): unknown {
    if (typeof value === 'string') {
      return Object.hasOwn(type.values, value)
        ? value
        : this.fail(path, `"${value}" is not a value of ${type.fullName} (${Object.keys(type.values).join(', ')})`);
    }
    if (typeof value === 'number' && Number.isInteger(value)) return value;
    return this.fail(path, `expected an enum name of ${type.fullName}, got ${describe(value)}`);
  }

  private scalar(type: string, value: Json, path: string): unknown {
    const integer = (min: number, max: number) => {
      const n = typeof value === 'string' && /^-?\d+$/.test(value) ? Number(value) : value;
      return typeof n === 'number' && Number.isInteger(n) && n >= min && n <= max
        ? n
        : this.fail(path, `expected ${type}, got ${describe(value)}`);
    };
    if (type === 'string')
      return typeof value === 'string' ? value : this.fail(path, `expected a string, got ${describe(value)}`);
    if (type === 'bool')
      return typeof value === 'boolean' ? value : this.fail(path, `expected a boolean, got ${describe(value)}`);
    if (INT32.has(type)) return integer(-(2 ** 31), 2 ** 31 - 1);
    if (UINT32.has(type)) return integer(0, 2 ** 32 - 1);
    if (INT64.has(type) || UINT64.has(type)) {
      const ok =
        (typeof value === 'number' && Number.isInteger(value)) ||
        (typeof value === 'string' && (UINT64.has(type) ? /^\d+$/ : /^-?\d+$/).test(value));
      if (ok && UINT64.has(type) && typeof value === 'number' && value < 0)
        return this.fail(path, `expected ${type}, got ${value}`);
      return ok ? value : this.fail(path, `expected ${type}, got ${describe(value)}`);
    }
    if (FLOATS.has(type)) {
      if (typeof value === 'number') return value;
      if (
        typeof value === 'string' &&
        (['NaN', 'Infinity', '-Infinity'].includes(value) || Number.isFinite(Number(value))) &&
        value.trim() !== ''
      ) {
        return Number(value);
      }
      return this.fail(path, `expected a number (${type}), got ${describe(value)}`);
    }
    if (type === 'bytes') {
      return typeof value === 'string' && BASE64.test(value)
        ? value
        : this.fail(path, `expected base64 bytes, got ${describe(value)}`);
    }
    return this.fail(path, `unsupported scalar type ${type}`);
  }

  /** The protobufjs form of a well-known type, undefined when invalid, or null when `type` is not well-known. */
  private wellKnown(type: protobuf.Type, json: Json, path: string): Record<string, unknown> | undefined | null {
    const name = type.fullName.replace(/^\.google\.protobuf\./, '');
    if (name === type.fullName) return null;
    switch (name) {
      case 'Struct':
        return isObject(json)
          ? this.struct(json)
          : this.fail(path, `expected a JSON object (Struct), got ${describe(json)}`);
      case 'Value':
        return this.value(json);
      case 'ListValue':
        return Array.isArray(json)
          ? { values: json.map((v: Json) => this.value(v)) }
          : this.fail(path, `expected a JSON array (ListValue), got ${describe(json)}`);
      case 'Empty':
        return isObject(json) && Object.keys(json).length === 0 ? {} : this.fail(path, 'expected {} (Empty)');
      case 'Timestamp':
        return this.timestamp(json, path);
      case 'Duration': {
        const match = typeof json === 'string' ? DURATION.exec(json) : null;
        if (!match) return this.fail(path, `expected a duration such as "1.5s", got ${describe(json)}`);
        const sign = match[1] ? -1 : 1;
        return { seconds: sign * Number(match[2]), nanos: sign * Number((match[3] ?? '').padEnd(9, '0')) };
      }
      case 'FieldMask':
        return typeof json === 'string'
          ? { paths: json === '' ? [] : json.split(',').map(snakeCase) }
          : this.fail(path, 'expected a string (FieldMask)');
      case 'Any':
        return this.any(json, path);
      default: {
        const scalar = WRAPPERS[name];
        if (!scalar) return null;
        const converted = this.scalar(scalar, json, path);
        return converted === undefined ? undefined : { value: converted };
      }
    }
  }

  private struct(json: Record<string, Json>): Record<string, unknown> {
    return { fields: Object.fromEntries(Object.entries(json).map(([k, v]) => [k, this.value(v)])) };
  }

  private value(json: Json): Record<string, unknown> {
    if (json === null) return { nullValue: 0 };
    if (typeof json === 'number') return { numberValue: json };
    if (typeof json === 'string') return { stringValue: json };
    if (typeof json === 'boolean') return { boolValue: json };
    if (Array.isArray(json)) return { listValue: { values: json.map((v: Json) => this.value(v)) } };
    return { structValue: this.struct(json as Record<string, Json>) };
  }

  private timestamp(json: Json, path: string): Record<string, unknown> | undefined {
    const match = typeof json === 'string' ? RFC3339.exec(json) : null;
    const millis = match ? Date.parse(json as string) : NaN;
    if (!match || Number.isNaN(millis)) return this.fail(path, `expected an RFC 3339 timestamp, got ${describe(json)}`);
    return { seconds: Math.floor(millis / 1000), nanos: Number((match[7] ?? '.').slice(1).padEnd(9, '0')) };
  }

  private any(json: Json, path: string): Record<string, unknown> | undefined {
    if (!isObject(json) || typeof json['@type'] !== 'string')
      return this.fail(path, 'expected an object with "@type" (Any)');
    const typeUrl = json['@type'];
    const typeName = typeUrl.slice(typeUrl.lastIndexOf('/') + 1);
    let inner: protobuf.Type;
    try {
      inner = this.root.lookupType(typeName);
    } catch {
      return this.fail(path, `unknown Any type ${typeUrl}`);
    }
    const { '@type': _type, ...rest } = json;
    const wellKnown = inner.fullName.startsWith('.google.protobuf.');
    const converted = this.message(inner, wellKnown ? rest.value : rest, `${path}<${typeName}>`);
    return converted === undefined
      ? undefined
      : { type_url: typeUrl, value: inner.encode(inner.fromObject(converted)).finish() };
  }
}

function describe(value: Json): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'string'
    ? `the string ${JSON.stringify(value.slice(0, 40))}`
    : `${typeof value} ${JSON.stringify(value)}`.slice(0, 60);
}

/**
 * The ways `json` departs from the protobuf message `typeName` under the strict proto3 JSON mapping (empty when it
 * conforms). A conforming value is also checked with `Type.verify` and encoded and decoded once.
 */
export function proto3JsonErrors(root: protobuf.Root, typeName: string, json: Json): string[] {
  const type = root.lookupType(typeName);
  const reader = new Proto3JsonReader(root);
  const converted = reader.message(type, json, type.name);
  if (reader.errors.length > 0 || converted === undefined) return reader.errors;
  const message = type.fromObject(converted);
  const invalid = type.verify(message);
  if (invalid) return [`${type.name}: ${invalid}`];
  const decoded = type.decode(type.encode(message).finish());
  const again = type.verify(decoded);
  return again ? [`${type.name} (after a binary round trip): ${again}`] : [];
}

/** Dialogflow ES: the body of a webhook response, against `google.cloud.dialogflow.v2.WebhookResponse`. */
export function dialogflowEsResponseErrors(json: Json): string[] {
  return proto3JsonErrors(dialogflowRoot(), 'google.cloud.dialogflow.v2.WebhookResponse', json);
}

/**
 * Dialogflow ES: a webhook request, against `google.cloud.dialogflow.v2beta1.WebhookRequest` (v2beta1 is the
 * superset: it adds `alternativeQueryResults` and `knowledgeAnswers`, which knowledge connectors send).
 */
export function dialogflowEsRequestErrors(json: Json): string[] {
  return proto3JsonErrors(dialogflowRoot(), 'google.cloud.dialogflow.v2beta1.WebhookRequest', json);
}

/** Dialogflow CX: the body of a webhook response, against `google.cloud.dialogflow.cx.v3.WebhookResponse`. */
export function dialogflowCxResponseErrors(json: Json): string[] {
  return proto3JsonErrors(dialogflowCxRoot(), 'google.cloud.dialogflow.cx.v3.WebhookResponse', json);
}

/** Dialogflow CX: a webhook request, against `google.cloud.dialogflow.cx.v3.WebhookRequest`. */
export function dialogflowCxRequestErrors(json: Json): string[] {
  return proto3JsonErrors(dialogflowCxRoot(), 'google.cloud.dialogflow.cx.v3.WebhookRequest', json);
}
