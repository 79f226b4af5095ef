import type { SchemaObject } from '@nestjs/swagger';
import type { MetadataStorage } from 'class-transformer/types/MetadataStorage';
import { validationMetadatasToSchemas } from 'class-validator-jsonschema';
import { MAX_CHARS } from './max-chars';

// class-transformer's own instance (where `@Type` records nested classes); its module has no type declarations.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { defaultMetadataStorage } = require('class-transformer/cjs/storage') as {
  defaultMetadataStorage: MetadataStorage;
};

const SCHEMA_PREFIX = '#/components/schemas/';

/**
 * JSON Schemas of request DTOs, generated from their class-validator (and class-transformer `@Type`) decorators,
 * so the document says exactly what the validation checks: required fields, lengths, patterns, enums, nesting.
 * Returns the roots' schemas and every class they reach, by class name; a reference to a class with no
 * constraints of its own (a custom decorator's value type) becomes "any object".
 */
/** `roots` are DTO classes (only their names are read: class-validator's storage is keyed by them). */
export function requestSchemas(roots: readonly { readonly name: string }[]): Record<string, SchemaObject> {
  const all = validationMetadatasToSchemas({
    refPointerPrefix: SCHEMA_PREFIX,
    classTransformerMetadataStorage: defaultMetadataStorage,
    additionalConverters: {
      [MAX_CHARS]: (meta) => ({ type: 'string', maxLength: (meta.constraints as number[])[0] }),
    },
  }) as Record<string, SchemaObject>;
  const picked: Record<string, SchemaObject> = {};
  const visit = (name: string): void => {
    if (picked[name] || !all[name]) return;
    picked[name] = all[name];
    walk(all[name]);
  };
  const walk = (node: unknown): void => {
    if (Array.isArray(node)) {
      node.forEach(walk);
    } else if (typeof node === 'object' && node !== null) {
      const schema = node as Record<string, unknown>;
      if (typeof schema.$ref === 'string') {
        const name = schema.$ref.slice(SCHEMA_PREFIX.length);
        if (all[name]) visit(name);
        else replaceDanglingRef(schema);
      }
      Object.values(schema).forEach(walk);
    }
  };
  for (const root of roots) visit(root.name);
  return picked;
}

function replaceDanglingRef(schema: Record<string, unknown>): void {
  delete schema.$ref;
  schema.type = 'object';
}
