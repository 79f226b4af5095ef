/**
 * Every platform's real and sample requests, mutated at random (a field given another type or a hostile value,
 * a field dropped, a key added, an array grown, the whole body replaced), sent to the real app over HTTP. Each
 * answer is a reply in the platform's own format (200, checked against the platform's schema) or a clear
 * refusal (a 4xx with the service's JSON error body); never a 5xx, and never a stack trace or a path of ours.
 * The targeted tests (hostile-json, the platform corpus) say what each refusal must be; this one looks for the
 * combinations nobody wrote down. The mutations are seeded: WF_MUTATION_SEED=<n> replays a run, and every
 * failure names its seed, fixture and mutations.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { isServiceErrorBody, LEAKS } from './support/answer-checks';
import { LOCAL_DEV_AUTH } from './support/dialogflow-es.fixtures';
import {
  dialogflowCxResponseErrors,
  dialogflowEsResponseErrors,
  lexV2ResponseErrors,
  rasaActionResponseErrors,
} from './support/platform-response-schemas';
import { sendRaw } from './support/raw-http';
import { startTestApp, type TestApp } from './support/test-app';
import { TestHandlersModule } from './support/test-handlers';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type Path = (string | number)[];

const SEED = Number(process.env.WF_MUTATION_SEED ?? 20261204);
const MUTANTS_PER_FIXTURE = 12;
const FIXTURES = join(__dirname, 'fixtures');

interface Platform {
  readonly folder: string;
  readonly path: string;
  /** Problems of a 200 reply in the platform's format. */
  readonly replyErrors: (json: Json, raw: string) => string[];
  /**
   * How a refusal reads: the service's JSON error body, or (Rasa) the Rasa SDK's `{error, action_name}`, which
   * Rasa's RemoteAction understands, on a 400 (an invalid action call) or a 404 (an action nobody registered).
   */
  readonly refusal: 'service' | 'rasa-sdk';
  /** Where the platform carries the turn's id: each mutant gets its own, so it is a new turn, not a replay. */
  readonly turnIds: readonly Path[];
}

const PLATFORMS: readonly Platform[] = [
  {
    folder: 'dialogflow-es',
    path: '/v1/webhooks/dialogflow-es',
    replyErrors: dialogflowEsResponseErrors,
    refusal: 'service',
    turnIds: [['responseId']],
  },
  {
    folder: 'dialogflow-cx',
    path: '/v1/webhooks/dialogflow-cx',
    replyErrors: dialogflowCxResponseErrors,
    refusal: 'service',
    turnIds: [['detectIntentResponseId']],
  },
  {
    folder: 'lex-v2',
    path: '/v1/webhooks/lex-v2',
    replyErrors: lexV2ResponseErrors,
    refusal: 'service',
    turnIds: [['sessionState', 'originatingRequestId'], ['sessionId']],
  },
  {
    folder: 'rasa',
    path: '/v1/webhooks/rasa',
    replyErrors: rasaActionResponseErrors,
    refusal: 'rasa-sdk',
    turnIds: [['sender_id'], ['tracker', 'sender_id']],
  },
  {
    folder: 'generic',
    path: '/v1/webhooks/generic',
    replyErrors: genericReplyErrors,
    refusal: 'service',
    turnIds: [['requestId']],
  },
];

/** The generic format is the service's own: a reply has its text. */
function genericReplyErrors(json: Json): string[] {
  const reply = json as { text?: unknown } | null;
  return typeof reply?.text === 'string' ? [] : ['a generic reply without its text'];
}

/** Every JSON fixture of a platform: its samples, its intents, and the real requests collected from the wild. */
function fixturesOf(folder: string): { name: string; body: Json }[] {
  const found: { name: string; body: Json }[] = [];
  for (const sub of ['', 'intents', 'real']) {
    const dir = join(FIXTURES, folder, sub);
    let names: string[];
    try {
      names = readdirSync(dir).filter((name) => name.endsWith('.json'));
    } catch {
      continue;
    }
    for (const name of names.sort()) {
      found.push({ name: join(folder, sub, name), body: JSON.parse(readFileSync(join(dir, name), 'utf8')) as Json });
    }
  }
  if (folder === 'dialogflow-es') {
    const readme = readFileSync(join(FIXTURES, 'dialogflow-es-readme-request.json'), 'utf8');
    found.push({ name: 'dialogflow-es-readme-request.json', body: JSON.parse(readme) as Json });
  }
  return found;
}

// ---- seeded mutations ----

/** mulberry32: small, seedable, good enough to pick mutations. */
function randomSource(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** An object that has `key` as its own property, `__proto__` included (plain assignment would set the prototype). */
function withOwn(target: Record<string, Json>, key: string, value: Json): void {
  Object.defineProperty(target, key, { value, enumerable: true, configurable: true, writable: true });
}

function nested(depth: number, leaf: Json, asArray: boolean): Json {
  let value = leaf;
  for (let level = 0; level < depth; level += 1) {
    if (asArray) value = [value];
    else {
      const wrapper: Record<string, Json> = {};
      withOwn(wrapper, 'a', value);
      value = wrapper;
    }
  }
  return value;
}

const HOSTILE_KEYS = ['__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', '', 'k'.repeat(300)];

function hostileValue(random: () => number): Json {
  const pick = <T>(values: readonly T[]): T => values[Math.floor(random() * values.length)];
  const proto: Record<string, Json> = {};
  withOwn(proto, '__proto__', { polluted: true });
  const candidates: (() => Json)[] = [
    () => null,
    () => pick([true, false]),
    () => pick([0, -1, 1.5, -0.000001, 1e308, -1e308, 2 ** 53, 12345]),
    () =>
      pick(['', ' ', '12345', 'true', 'null', '{"a":1}', '\u0000', '\u202e\u200b', 'ñandú 🐍', '%s%n', '../../etc']),
    () => 'x'.repeat(pick([300, 5000, 70_000])),
    () => pick([[], {}, [null], [''], [{}]]),
    () => nested(pick([10, 70]), 'deep', random() < 0.5),
    () => proto,
    () => Array.from({ length: pick([100, 2000]) }, (_, index) => `item-${index}`),
  ];
  return pick(candidates)();
}

/** Every path in the document, the root ([]) first. */
function pathsOf(value: Json, prefix: Path = [], into: Path[] = []): Path[] {
  into.push(prefix);
  if (Array.isArray(value)) value.forEach((item, index) => pathsOf(item, [...prefix, index], into));
  else if (value && typeof value === 'object') {
    for (const key of Object.keys(value)) pathsOf(value[key], [...prefix, key], into);
  }
  return into;
}

/** The value at `path`; undefined where the path leaves the document. */
function at(root: Json, path: Path): Json {
  let value: Json | undefined = root;
  for (const step of path) value = (value as Record<string | number, Json> | null | undefined)?.[step];
  return value as Json;
}

/** Mutates a copy of `body` in 1–3 steps; returns the copy and what was done. */
function mutate(body: Json, random: () => number): { body: Json; steps: string[] } {
  let root = JSON.parse(JSON.stringify(body)) as Json;
  const steps: string[] = [];
  const count = 1 + Math.floor(random() * 3);
  for (let step = 0; step < count; step += 1) {
    const paths = pathsOf(root);
    const path = paths[Math.floor(random() * paths.length)];
    const where = path.join('.') || '(root)';
    const parent = path.length > 0 ? at(root, path.slice(0, -1)) : undefined;
    const last = path[path.length - 1];
    const target = at(root, path);
    const roll = random();
    if (path.length === 0 && roll < 0.1) {
      root = hostileValue(random);
      steps.push('the whole body replaced');
    } else if (roll < 0.5 && parent !== undefined) {
      const value = hostileValue(random);
      if (Array.isArray(parent)) parent[last as number] = value;
      else withOwn(parent as Record<string, Json>, last as string, value);
      steps.push(`${where} = ${JSON.stringify(value)?.slice(0, 60)}`);
    } else if (roll < 0.7 && parent !== undefined) {
      if (Array.isArray(parent)) parent.splice(last as number, 1);
      else delete (parent as Record<string, Json>)[last as string];
      steps.push(`${where} dropped`);
    } else if (roll < 0.9 && target && typeof target === 'object' && !Array.isArray(target)) {
      const key = HOSTILE_KEYS[Math.floor(random() * HOSTILE_KEYS.length)];
      withOwn(target, key, hostileValue(random));
      steps.push(`${where}.${key.slice(0, 20)} added`);
    } else if (Array.isArray(target) && target.length > 0) {
      const copies = 1 + Math.floor(random() * 500);
      target.push(...Array.from({ length: copies }, () => JSON.parse(JSON.stringify(target[0])) as Json));
      steps.push(`${where} grown by ${copies}`);
    } else {
      steps.push(`${where} left as it was`);
    }
  }
  return { body: root, steps };
}

/** A copy of `body` with a turn id of its own wherever the platform carries one (and the fixture has it). */
function withTurnIds(body: Json, platform: Platform, tag: string): Json {
  const copy = JSON.parse(JSON.stringify(body)) as Json;
  for (const path of platform.turnIds) {
    const parent = at(copy, path.slice(0, -1)) as Record<string, Json> | undefined;
    const key = path[path.length - 1] as string;
    if (parent && typeof parent === 'object' && typeof parent[key] === 'string') parent[key] = `mutant-${tag}`;
  }
  return copy;
}

// ---- what an answer may be ----

const REFUSALS = new Set([400, 409, 413, 422]);

function problemsOf(platform: Platform, status: number, text: string): string[] {
  if (LEAKS.test(text)) return [`the answer gives away internals: ${text.slice(0, 300)}`];
  let json: Json;
  try {
    json = JSON.parse(text) as Json;
  } catch {
    return [`status ${status} with a body that is not JSON: ${text.slice(0, 200)}`];
  }
  if (status === 200) return platform.replyErrors(json, text);
  if (platform.refusal === 'rasa-sdk' && (status === 400 || status === 404)) {
    const error = json as { error?: unknown; action_name?: unknown } | null;
    const clear = typeof error?.error === 'string' && ['string', 'undefined'].includes(typeof error.action_name);
    return clear ? [] : [`status ${status} without the Rasa SDK's error body: ${text.slice(0, 300)}`];
  }
  if (!REFUSALS.has(status)) return [`status ${status}: ${text.slice(0, 300)}`];
  return isServiceErrorBody(status, json)
    ? []
    : [`status ${status} without the service's error body: ${text.slice(0, 300)}`];
}

describe(`every platform's requests, mutated at random (seed ${SEED}, real HTTP, real PostgreSQL)`, () => {
  let t: TestApp;

  beforeAll(async () => {
    // Thousands of turns from one caller: its rate limit is not what this test is about.
    t = await startTestApp({ imports: [TestHandlersModule], env: { THROTTLE_LIMIT: '1000000' } });
  });
  afterAll(() => t.close());

  for (const [index, platform] of PLATFORMS.entries()) {
    it(`${platform.folder}: a reply in the platform's format or a clear refusal, never a 5xx`, async () => {
      const random = randomSource(SEED + index);
      const failures: string[] = [];
      const statuses = new Map<number, number>();
      let turns = 0;
      for (const fixture of fixturesOf(platform.folder)) {
        for (let mutant = 0; mutant < MUTANTS_PER_FIXTURE; mutant += 1) {
          const { body, steps } = mutate(withTurnIds(fixture.body, platform, `${index}-${++turns}`), random);
          const response = await sendRaw(t.baseUrl, platform.path, {
            headers: { ...LOCAL_DEV_AUTH, 'Content-Type': 'application/json' },
            body: JSON.stringify(body) ?? 'null',
          });
          statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1);
          for (const problem of problemsOf(platform, response.status, response.text)) {
            failures.push(`${fixture.name} #${mutant} [${steps.join('; ')}]: ${problem}`);
          }
        }
      }
      expect(failures).toEqual([]);
      // The mutations reach both sides: some requests are still answered, some are refused.
      expect(statuses.get(200)).toBeGreaterThan(0);
      expect([...statuses.keys()].some((status) => status >= 400)).toBe(true);
    }, 120_000);
  }

  it('still answers the README request afterwards', async () => {
    const readme = readFileSync(join(FIXTURES, 'dialogflow-es-readme-request.json'), 'utf8');
    const response = await sendRaw(t.baseUrl, '/v1/webhooks/dialogflow-es', {
      headers: { ...LOCAL_DEV_AUTH, 'Content-Type': 'application/json' },
      body: readme,
    });
    expect(response.status).toBe(200);
  });
});
