import 'reflect-metadata';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { plainToInstance, type ClassConstructor } from 'class-transformer';
import { validateSync } from 'class-validator';
import { DialogflowCxWebhookRequest } from '../../platforms/dialogflow-cx/dialogflow-cx.request';
import { DialogflowEsWebhookRequest } from '../../platforms/dialogflow-es/dialogflow-es.request';
import { GenericWebhookRequest } from '../../platforms/generic/generic.request';
import { LexV2Event } from '../../platforms/lex-v2/lex-v2.request';
import { RasaActionCall } from '../../platforms/rasa/rasa.request';
import { passesValidation } from './validity-plan';

const FIXTURES = join(__dirname, '..', '..', '..', 'test', 'fixtures');

function jsonFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return jsonFiles(path);
    return name.endsWith('.json') ? [path] : [];
  });
}

const PLATFORMS: ReadonlyArray<[string, ClassConstructor<object>]> = [
  ['dialogflow-es', DialogflowEsWebhookRequest],
  ['dialogflow-cx', DialogflowCxWebhookRequest],
  ['lex-v2', LexV2Event],
  ['rasa', RasaActionCall],
  ['generic', GenericWebhookRequest],
];

/** Values that break type, presence, length, range, pattern and nesting rules. */
const REPLACEMENTS: readonly unknown[] = [
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
];

const MAX_PATHS_PER_PLATFORM = 120;

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** Every path into a JSON document, the root included. */
function paths(value: Json, prefix: ReadonlyArray<string | number> = []): Array<ReadonlyArray<string | number>> {
  const found: Array<ReadonlyArray<string | number>> = [prefix];
  if (Array.isArray(value)) value.forEach((item, index) => found.push(...paths(item, [...prefix, index])));
  else if (value !== null && typeof value === 'object') {
    for (const [key, item] of Object.entries(value)) found.push(...paths(item, [...prefix, key]));
  }
  return found;
}

function replaced(document: Json, path: ReadonlyArray<string | number>, replacement: unknown): Json {
  if (path.length === 0) return replacement as Json;
  const copy = structuredClone(document) as Record<string | number, unknown>;
  let parent = copy;
  for (const step of path.slice(0, -1)) parent = parent[step] as Record<string | number, unknown>;
  const last = path[path.length - 1];
  if (replacement === undefined && !Array.isArray(parent)) delete parent[last];
  else parent[last] = replacement;
  return copy as Json;
}

function classValidatorVerdict(dto: ClassConstructor<object>, body: unknown): boolean {
  const errors = validateSync(plainToInstance<object, unknown>(dto, body), {
    whitelist: false,
    forbidNonWhitelisted: false,
    forbidUnknownValues: false,
  });
  return errors.length === 0;
}

describe('passesValidation', () => {
  for (const [platform, dto] of PLATFORMS) {
    const files = jsonFiles(join(FIXTURES, platform));

    it(`agrees with class-validator on every ${platform} fixture and on each mutation of each field`, () => {
      expect(files.length).toBeGreaterThan(0);
      let compared = 0;
      let invalid = 0;
      const documents = files.map((file) => ({ file, document: JSON.parse(readFileSync(file, 'utf8')) as Json }));
      const targets = documents.flatMap(({ file, document }) =>
        paths(document).map((path) => ({ file, document, path })),
      );
      // Evenly sampled (the fixtures of a platform share their shape), so the test stays within seconds.
      const stride = Math.max(1, Math.ceil(targets.length / MAX_PATHS_PER_PLATFORM));
      for (const { file, document, path } of targets.filter((_, index) => index % stride === 0)) {
        for (const replacement of REPLACEMENTS) {
          const body = replaced(document, path, replacement);
          if (typeof body !== 'object' || body === null || Array.isArray(body)) continue;
          const expected = classValidatorVerdict(dto, body);
          const actual = passesValidation(plainToInstance<object, unknown>(dto, body));
          if (actual !== expected) {
            throw new Error(
              `${file} with ${path.join('.')} = ${JSON.stringify(replacement)?.slice(0, 40)}: ` +
                `class-validator says ${expected ? 'valid' : 'invalid'}, the plan ${actual ? 'valid' : 'invalid'}`,
            );
          }
          compared += 1;
          if (!expected) invalid += 1;
        }
      }
      // The mutations reach both verdicts many times, so agreement is not agreement on "valid" alone.
      expect(invalid).toBeGreaterThan(50);
      expect(compared - invalid).toBeGreaterThan(50);
    });
  }

  it('finds a broken rule three levels deep and in an array element', () => {
    const body = JSON.parse(readFileSync(join(FIXTURES, 'dialogflow-es-readme-request.json'), 'utf8')) as {
      queryResult: { outputContexts?: Array<{ name: unknown }> };
    };
    expect(passesValidation(plainToInstance(DialogflowEsWebhookRequest, body))).toBe(true);
    body.queryResult.outputContexts = [{ name: 'projects/p/agent/sessions/s/contexts/ok' }, { name: 42 }];
    expect(passesValidation(plainToInstance(DialogflowEsWebhookRequest, body))).toBe(false);
  });
});
