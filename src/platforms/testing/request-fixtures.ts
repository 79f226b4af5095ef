import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { ClassConstructor } from 'class-transformer';
import { DialogflowCxWebhookRequest } from '../dialogflow-cx/dialogflow-cx.request';
import { DialogflowEsWebhookRequest } from '../dialogflow-es/dialogflow-es.request';
import { GenericWebhookRequest } from '../generic/generic.request';
import { LexV2Event } from '../lex-v2/lex-v2.request';
import { RasaActionCall } from '../rasa/rasa.request';

// Each platform's request fixtures, and mutations of them, for the specs that hold a fast path of the
// request DTOs (validity-plan, to-instance) against class-validator and class-transformer themselves.

export const FIXTURES = join(__dirname, '..', '..', '..', 'test', 'fixtures');

export function jsonFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return jsonFiles(path);
    return name.endsWith('.json') ? [path] : [];
  });
}

export const PLATFORMS: ReadonlyArray<[string, ClassConstructor<object>]> = [
  ['dialogflow-es', DialogflowEsWebhookRequest],
  ['dialogflow-cx', DialogflowCxWebhookRequest],
  ['lex-v2', LexV2Event],
  ['rasa', RasaActionCall],
  ['generic', GenericWebhookRequest],
];

/** Values that break type, presence, length, range, pattern and nesting rules. */
export const REPLACEMENTS: readonly unknown[] = [
  undefined,
  null,
  '',
  'x',
  ' ',
  'projects/p/agent/sessions/s',
  'x'.repeat(5000),
  0,
  -1,
  1.5,
  2 ** 40,
  true,
  {},
  [],
  [null],
  ['x'],
  [{}],
  [[]],
  { name: 'x' },
  { interpretedValue: 1 },
  { toString: 'x', valueOf: 1, name: 'shadows' },
];

export const MAX_PATHS_PER_PLATFORM = 120;

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** Every path into a JSON document, the root included. */
export function paths(value: Json, prefix: ReadonlyArray<string | number> = []): Array<ReadonlyArray<string | number>> {
  const found: Array<ReadonlyArray<string | number>> = [prefix];
  if (Array.isArray(value)) value.forEach((item, index) => found.push(...paths(item, [...prefix, index])));
  else if (value !== null && typeof value === 'object') {
    for (const [key, item] of Object.entries(value)) found.push(...paths(item, [...prefix, key]));
  }
  return found;
}

export function replaced(document: Json, path: ReadonlyArray<string | number>, replacement: unknown): Json {
  if (path.length === 0) return replacement as Json;
  // Not structuredClone: under jest its objects come from another realm, which no parsed body does.
  const copy = JSON.parse(JSON.stringify(document)) as Record<string | number, unknown>;
  let parent = copy;
  for (const step of path.slice(0, -1)) parent = parent[step] as Record<string | number, unknown>;
  const last = path[path.length - 1];
  if (replacement === undefined && !Array.isArray(parent)) delete parent[last];
  else parent[last] = replacement;
  return copy as Json;
}

export interface Mutation {
  readonly file: string;
  readonly path: ReadonlyArray<string | number>;
  readonly replacement: unknown;
  readonly body: object;
}

/**
 * The fixtures of a platform with one field replaced by each of REPLACEMENTS (removed, for undefined),
 * at about MAX_PATHS_PER_PLATFORM evenly sampled places (a platform's fixtures share their shape).
 */
export function* mutations(platform: string): Generator<Mutation> {
  const files = jsonFiles(join(FIXTURES, platform));
  if (files.length === 0) throw new Error(`no fixtures for ${platform}`);
  const documents = files.map((file) => ({ file, document: JSON.parse(readFileSync(file, 'utf8')) as Json }));
  const targets = documents.flatMap(({ file, document }) => paths(document).map((path) => ({ file, document, path })));
  const stride = Math.max(1, Math.ceil(targets.length / MAX_PATHS_PER_PLATFORM));
  for (const { file, document, path } of targets.filter((_, index) => index % stride === 0)) {
    for (const replacement of REPLACEMENTS) {
      const body = replaced(document, path, replacement);
      if (typeof body === 'object' && body !== null && !Array.isArray(body)) yield { file, path, replacement, body };
    }
  }
}

export function describeMutation({ file, path, replacement }: Mutation): string {
  return `${file} with ${path.join('.')} = ${JSON.stringify(replacement)?.slice(0, 40)}`;
}
