#!/usr/bin/env node
// Validates an OpenAPI document against the official OpenAPI 3.x JSON schemas (3.1 included) with
// @seriousme/openapi-schema-validator, and resolves every $ref in it.
// Usage: node scripts/validate-openapi.mjs <file>   or   ... | node scripts/validate-openapi.mjs -
// Prints {"valid":true} or {"valid":false,"errors":[...]} and exits 0 or 1.
import { readFileSync } from 'node:fs';
import { Validator } from '@seriousme/openapi-schema-validator';

const source = process.argv[2] ?? '-';
const text = readFileSync(source === '-' ? 0 : source, 'utf8');
const validator = new Validator();
const result = await validator.validate(JSON.parse(text));
let errors = result.valid ? [] : [result.errors].flat();
if (result.valid) {
  try {
    validator.resolveRefs();
  } catch (error) {
    errors = [{ message: `unresolvable $ref: ${error.message}` }];
  }
}
process.stdout.write(`${JSON.stringify({ valid: errors.length === 0, version: validator.version, errors })}\n`);
process.exit(errors.length === 0 ? 0 : 1);
