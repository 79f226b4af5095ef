import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import request from 'supertest';
import { LOCAL_DEV_AUTH } from './support/dialogflow-es.fixtures';
import {
  dialogflowCxRequestErrors,
  dialogflowCxResponseErrors,
  dialogflowEsRequestErrors,
  dialogflowEsResponseErrors,
  lexV2ResponseErrors,
  rasaActionResponseErrors,
} from './support/platform-response-schemas';
import { startTestApp, TestApp } from './support/test-app';

/**
 * Every request in test/fixtures/<platform>/real/ (real-format payloads; each folder's README.md says where each
 * file comes from) is sent to the real app on real PostgreSQL. Each must be accepted (HTTP 200) and answered with
 * a response that the platform's own schema accepts (Google's WebhookResponse protos for ES and CX; the documented
 * Lex V2 Lambda response; Rasa's action server response schema). Where the intent has a handler, the answer must
 * be the handler's; where it has none, the service's fallback.
 */

type Platform = 'dialogflow-es' | 'dialogflow-cx' | 'lex-v2' | 'rasa';

const PLATFORMS: Record<
  Platform,
  {
    path: string;
    responseErrors: (body: unknown, raw: string) => string[];
    requestErrors?: (body: unknown) => string[];
  }
> = {
  'dialogflow-es': {
    path: '/v1/webhooks/dialogflow-es',
    responseErrors: dialogflowEsResponseErrors,
    requestErrors: dialogflowEsRequestErrors,
  },
  'dialogflow-cx': {
    path: '/v1/webhooks/dialogflow-cx',
    responseErrors: dialogflowCxResponseErrors,
    requestErrors: dialogflowCxRequestErrors,
  },
  'lex-v2': { path: '/v1/webhooks/lex-v2', responseErrors: lexV2ResponseErrors },
  rasa: { path: '/v1/webhooks/rasa', responseErrors: rasaActionResponseErrors },
};

/** The service's default FALLBACK_TEXT, sent for an intent without a handler. */
const FALLBACK = "Sorry, I can't help with that yet. Could you try asking another way?";

/**
 * What each file's answer must contain: a handler's words (demo data from the banking seeder: customer 12345 has
 * checking $3,247.82 and savings $12,500.00, customer 67890 checking €1,843.15), the fallback, or — for turns the
 * service hands back to the platform (a Lex dialog code hook before the slots are filled, a CX form parameter that
 * is INVALID, a Rasa form still running) — only "not the fallback".
 */
const EXPECTED: Record<string, string | { notFallback: true }> = {
  'dialogflow-es/telephony-voice-get-account-balance.json': 'Your checking account balance is $3,247.82.',
  'dialogflow-es/audio-detect-intent-recent-transactions.json':
    'Here are the last 3 transactions on your checking account',
  'dialogflow-es/facebook-messenger-get-recent-transactions.json':
    'Here are the last 2 transactions on your savings account',
  'dialogflow-es/knowledge-answers-alongside-get-account-balance.json': 'Your savings account balance is $12,500.00.',
  'dialogflow-es/knowledge-answer-primary-no-handler.json': FALLBACK,
  'dialogflow-es/knowledge-connector-alternative-without-intent.json': FALLBACK,
  'dialogflow-es/actions-on-google-voice-no-handler.json': FALLBACK,
  'dialogflow-cx/dtmf-get-account-balance.json': 'Your checking account balance is $3,247.82.',
  'dialogflow-cx/voice-transcript-get-recent-transactions.json':
    'Here are the last 3 transactions on your checking account',
  'dialogflow-cx/form-page-parameter-states.json': { notFallback: true },
  'dialogflow-cx/data-store-knowledge-info-card-no-handler.json': FALLBACK,
  'dialogflow-cx/messenger-small-talk-no-handler.json': FALLBACK,
  'lex-v2/speech-get-account-balance.json': 'Your checking account balance is $3,247.82.',
  'lex-v2/nlu-confidence-object-get-account-balance.json': 'Your savings account balance is $12,500.00.',
  'lex-v2/dtmf-customer-number-dialog.json': { notFallback: true },
  'lex-v2/composite-slot-no-handler.json': FALLBACK,
  'lex-v2/dotnet-fixture-list-slot-nlu-object-no-handler.json': { notFallback: true },
  'rasa/tracker-slots-domain-message-id.json': 'Your checking account balance is €1,843.15.',
  'rasa/tracker-without-domain-digest.json': 'Here are the last 2 transactions on your savings account',
  // An action a rule runs while a form (active_loop) is active is answered as at any other time.
  'rasa/active-loop-form.json': { notFallback: true },
  'rasa/no-slots-capped-history.json': 'I need your customer number',
};

const FIXTURES = join(__dirname, 'fixtures');

const corpus = (Object.keys(PLATFORMS) as Platform[]).flatMap((platform) =>
  readdirSync(join(FIXTURES, platform, 'real'))
    .filter((name) => name.endsWith('.json'))
    .sort()
    .map((file) => ({ platform, file, key: `${platform}/${file}` })),
);

const load = (platform: Platform, file: string): unknown =>
  JSON.parse(readFileSync(join(FIXTURES, platform, 'real', file), 'utf8'));

describe('real-format request corpus', () => {
  it('has files for every platform, each with an expected answer and cited in its folder README', () => {
    for (const platform of Object.keys(PLATFORMS) as Platform[]) {
      const readme = readFileSync(join(FIXTURES, platform, 'real', 'README.md'), 'utf8');
      const files = corpus.filter((c) => c.platform === platform);
      expect(files.length).toBeGreaterThanOrEqual(4);
      for (const { file } of files) expect(readme).toContain(file);
    }
    expect(corpus.map((c) => c.key).sort()).toEqual(Object.keys(EXPECTED).sort());
  });

  it.each(corpus.filter((c) => PLATFORMS[c.platform].requestErrors))(
    '$key is a valid request under the official WebhookRequest proto',
    ({ platform, file }) => {
      expect(PLATFORMS[platform].requestErrors!(load(platform, file))).toEqual([]);
    },
  );
});

describe('real-format requests, answered by the real app (real HTTP, real PostgreSQL)', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(async () => {
    await t.close();
  });

  it.each(corpus)('$key is accepted and answered in the platform schema', async ({ platform, file, key }) => {
    const response = await request(t.baseUrl)
      .post(PLATFORMS[platform].path)
      .set(LOCAL_DEV_AUTH)
      .send(load(platform, file) as object);

    // The body in the message makes a rejection (400 with the validation errors) readable in the report.
    expect({ status: response.status, body: response.status === 200 ? 'ok' : response.text }).toEqual({
      status: 200,
      body: 'ok',
    });
    expect(response.headers['content-type']).toMatch(/^application\/json/);
    expect(PLATFORMS[platform].responseErrors(response.body, response.text)).toEqual([]);

    const expected = EXPECTED[key];
    if (typeof expected === 'string') expect(response.text).toContain(JSON.stringify(expected).slice(1, -1));
    else expect(response.text).not.toContain(JSON.stringify(FALLBACK).slice(1, -1));
  });
});
