import type { SchemaObject } from '@nestjs/swagger';
import type { MetadataStorage as TransformerStorage } from 'class-transformer/types/MetadataStorage';
import { getMetadataStorage, ValidationTypes } from 'class-validator';
import { MAP_MAX_KEYS, MAP_MAX_LIST_ITEMS } from '../common/validation/bounded-object';
import { FREE_TEXT_MAX_LENGTH, NAME_MAX_LENGTH } from '../common/validation/bounds';
import { MAX_CHARS } from '../common/validation/max-chars';
import { DialogflowCxWebhookRequest } from '../platforms/dialogflow-cx/dialogflow-cx.request';

// class-transformer's own instance (where `@Type` records nested classes); its module has no type declarations.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { defaultMetadataStorage } = require('class-transformer/cjs/storage') as {
  defaultMetadataStorage: TransformerStorage;
};

/** A JSON Schema 2020-12 (OpenAPI 3.1) schema: @nestjs/swagger's SchemaObject lacks some keywords (propertyNames, …). */
export type JsonSchema = Record<string, unknown>;

const LEX_SLOT = 'LexV2Slot';
const ref = (name: string): JsonSchema => ({ $ref: `#/components/schemas/${name}` });
const nullOr = (schema: JsonSchema): JsonSchema => ({ oneOf: [{ type: 'null' }, schema] });

/**
 * What IsBoundedObject checks, as far as JSON Schema reaches: the keys of the map itself and its values' text and
 * list lengths (the same bounds at every depth, and the count of all values, are beyond it).
 */
const BOUNDED_OBJECT: JsonSchema = {
  type: 'object',
  maxProperties: MAP_MAX_KEYS,
  propertyNames: { maxLength: NAME_MAX_LENGTH },
  // maxLength applies to a string value only, maxItems to a list only.
  additionalProperties: { maxLength: FREE_TEXT_MAX_LENGTH, maxItems: MAP_MAX_LIST_ITEMS },
};

/** One slot as the Lex validator (slotsProblem in lex-v2.request.ts) takes it; a slot map's values are this or null. */
const LEX_V2_SLOT: JsonSchema = {
  type: 'object',
  description:
    'A slot as Lex sends it: `value` for a Scalar slot, `values` for a List slot, `subSlots` for a Composite one.',
  properties: {
    shape: { enum: ['Scalar', 'List', 'Composite'] },
    value: {
      type: 'object',
      properties: { interpretedValue: { type: ['string', 'null'] } },
    },
    values: { type: 'array', items: ref(LEX_SLOT) },
    subSlots: { type: 'object', additionalProperties: nullOr(ref(LEX_SLOT)) },
  },
};

interface ConstraintSchema {
  /** Merged into the schema of each property the constraint is on. */
  readonly property: JsonSchema;
  /** Schemas it refers to, added beside the request schemas. */
  readonly components?: Readonly<Record<string, JsonSchema>>;
}

/**
 * The schema of each custom constraint (by its name) on a platform request DTO: class-validator-jsonschema cannot read
 * a validation function, and left every map as `{type: object}` whatever its values had to be.
 */
export const CONSTRAINT_SCHEMAS: Readonly<Record<string, ConstraintSchema>> = {
  isBoundedObject: { property: BOUNDED_OBJECT },
  // Lex attribute maps (IsStringRecord in lex-v2.request.ts): string values only.
  isStringRecord: {
    property: { ...BOUNDED_OBJECT, additionalProperties: { type: 'string', maxLength: FREE_TEXT_MAX_LENGTH } },
  },
  isLexSlots: {
    property: { type: 'object', additionalProperties: nullOr(ref(LEX_SLOT)) },
    components: { [LEX_SLOT]: LEX_V2_SLOT },
  },
  // Dialogflow CX intentInfo.parameters (IntentParametersConstraint in dialogflow-cx.request.ts).
  intentParameters: {
    property: {
      type: 'object',
      additionalProperties: {
        type: 'object',
        properties: { originalValue: { type: 'string' }, resolvedValue: { description: 'Any JSON value.' } },
      },
    },
  },
};

/** Custom constraints requestSchemas converts itself. */
export const CONVERTED_CONSTRAINTS: ReadonlySet<string> = new Set([MAX_CHARS]);

/** Not blank, as `String.prototype.trim` sees it. */
const NOT_BLANK = '\\S';

/**
 * Rules across fields that the adapters check after validation, by request class. Dialogflow CX: `routeOf` needs a
 * fulfillment tag or, without one, the matched intent's display name.
 */
const CROSS_FIELD_RULES: Readonly<Record<string, JsonSchema>> = {
  [DialogflowCxWebhookRequest.name]: {
    anyOf: [
      {
        required: ['fulfillmentInfo'],
        properties: { fulfillmentInfo: { required: ['tag'], properties: { tag: { pattern: NOT_BLANK } } } },
      },
      {
        required: ['intentInfo'],
        properties: { intentInfo: { required: ['displayName'], properties: { displayName: { pattern: NOT_BLANK } } } },
      },
    ],
  },
};

/** A request DTO class (class-validator and class-transformer key their metadata by it). */
export type RequestClass = abstract new (...args: never[]) => unknown;

export interface CustomConstraint {
  readonly target: RequestClass;
  readonly property: string;
  readonly constraint: string;
}

/** Each custom constraint on a property of `roots` or a class they nest (through `@Type`), once per class. */
export function customConstraints(roots: readonly RequestClass[]): CustomConstraint[] {
  const storage = getMetadataStorage();
  const found: CustomConstraint[] = [];
  const seen = new Set<RequestClass>();
  const visit = (target: RequestClass): void => {
    if (seen.has(target)) return;
    seen.add(target);
    for (const meta of storage.getTargetValidationMetadatas(target, '', true, false)) {
      if (meta.type === ValidationTypes.NESTED_VALIDATION) {
        const nested: unknown = defaultMetadataStorage.findTypeMetadata(target, meta.propertyName)?.typeFunction();
        if (typeof nested === 'function') visit(nested as RequestClass);
      } else if (meta.type === ValidationTypes.CUSTOM_VALIDATION) {
        const constraint = storage.getTargetValidatorConstraints(meta.constraintCls)[0]?.name ?? meta.name;
        if (constraint) found.push({ target, property: meta.propertyName, constraint });
      }
    }
  };
  roots.forEach(visit);
  return found;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** `from` merged into `into`, objects key by key (as class-validator-jsonschema merges a property's constraints). */
function merge(into: JsonSchema, from: JsonSchema): JsonSchema {
  for (const [key, value] of Object.entries(from)) {
    const existing = into[key];
    into[key] = isObject(existing) && isObject(value) ? merge({ ...existing }, value) : structuredClone(value);
  }
  return into;
}

/**
 * Completes request schemas generated from `roots` (requestSchemas) with what their custom constraints and the
 * adapters' cross-field rules accept; returns them with the schemas those refer to.
 */
export function withValidatorSchemas(
  roots: readonly RequestClass[],
  schemas: Record<string, SchemaObject>,
): Record<string, SchemaObject> {
  const all = { ...schemas } as Record<string, JsonSchema>;
  for (const { target, property, constraint } of customConstraints(roots)) {
    const known = CONSTRAINT_SCHEMAS[constraint];
    const schema = (all[target.name]?.properties as Record<string, JsonSchema> | undefined)?.[property];
    if (!known || !schema) continue;
    merge(schema, known.property);
    Object.assign(all, known.components && structuredClone(known.components));
  }
  for (const [name, rule] of Object.entries(CROSS_FIELD_RULES)) {
    if (all[name]) merge(all[name], rule);
  }
  return all;
}
