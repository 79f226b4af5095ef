/**
 * Every platform's real and sample requests, mutated at random (a field given another type or a hostile value,
 * a field dropped, a key added, an array grown, the whole body replaced), sent to the real app over HTTP. Each
 * answer is a reply in the platform's own format (200, checked against the platform's schema) or a clear
 * refusal (a 4xx with the service's JSON error body); never a 5xx, and never a stack trace or a path of ours.
 * The targeted tests (hostile-json, the platform corpus) say what each refusal must be; this one looks for the
 * combinations nobody wrote down. The mutations are seeded: WF_MUTATION_SEED=<n> replays a run, and every
 * failure names its seed, fixture and mutations.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { isServiceErrorBody, LEAKS } from './support/answer-checks';
import { LOCAL_DEV_AUTH } from './support/dialogflow-es.fixtures';
import { at, FIXTURES, fixturesOf, type Json, mutate, type Path, randomSource } from './support/mutations';
import {
  dialogflowCxResponseErrors,
  dialogflowEsResponseErrors,
  lexV2ResponseErrors,
  rasaActionResponseErrors,
} from './support/platform-response-schemas';
import { sendRaw } from './support/raw-http';
import { startTestApp, type TestApp } from './support/test-app';
import { TestHandlersModule } from './support/test-handlers';

const SEED = Number(process.env.WF_MUTATION_SEED ?? 20261204);
const MUTANTS_PER_FIXTURE = 12;

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
