import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { hashPassword } from '../src/auth/passwords';
import { eventually } from './support/eventually';
import { startTestApp, type TestApp } from './support/test-app';

const USERNAME = 'legacy-bot';
// Not ASCII: the challenge's charset="UTF-8" says how the service reads it.
const PASSWORD = 'pässwörd-0123456789';
const TOKEN = 'basic-challenge-token-0123456789abcdef';
const BODY = JSON.stringify({
  sessionId: 'basic-challenge',
  intent: 'GetAccountBalance',
  parameters: { user_id: '12345', account_type: 'checking' },
  languageCode: 'en',
  text: 'hi',
});

/** One POST to the generic webhook; every WWW-Authenticate line as received, one entry per line. */
function post(
  baseUrl: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; challenges: string[] }> {
  return new Promise((resolve, reject) => {
    const req = request(
      `${baseUrl}/v1/webhooks/generic`,
      { method: 'POST', headers: { 'content-type': 'application/json', ...headers } },
      (res) => {
        const challenges: string[] = [];
        for (let i = 0; i < res.rawHeaders.length; i += 2) {
          if (res.rawHeaders[i].toLowerCase() === 'www-authenticate') challenges.push(res.rawHeaders[i + 1]);
        }
        res.resume();
        res.on('end', () => resolve({ status: res.statusCode ?? 0, challenges }));
      },
    );
    req.on('error', reject);
    req.end(BODY);
  });
}

/**
 * A 401 challenges for Basic too when basic callers are configured (RFC 7617), so that clients which answer a
 * challenge rather than send credentials up front (curl --anyauth, .NET, Java) can sign in. Before, it only ever
 * offered Bearer, and such clients never sent the password.
 */
describe('WWW-Authenticate offers Basic where basic callers are configured (real curl)', () => {
  const root = mkdtempSync(join(tmpdir(), 'wf-basic-challenge-'));
  const callers = join(root, 'callers.yaml');
  let t: TestApp;

  const file = (hash?: string) =>
    [
      'callers:',
      '  - id: token-bot',
      '    platforms: [generic]',
      `    auth: { bearer: { tokens: [${TOKEN}] } }`,
      ...(hash
        ? [
            '  - id: legacy',
            '    platforms: [generic]',
            `    auth: { basic: { username: ${USERNAME}, passwordHashes: ['${hash}'] } }`,
          ]
        : []),
      '',
    ].join('\n');

  beforeAll(async () => {
    writeFileSync(callers, file(await hashPassword(PASSWORD)));
    t = await startTestApp({ env: { CALLERS_FILE: callers, CALLERS_RELOAD_INTERVAL_MS: '200' } });
  });

  afterAll(async () => {
    await t?.close();
    rmSync(root, { recursive: true, force: true });
  });

  it('challenges a request without credentials, or with a wrong password, for Bearer and Basic (one line each)', async () => {
    const both = ['Bearer realm="webhook-fulfillment"', 'Basic realm="webhook-fulfillment", charset="UTF-8"'];
    expect(await post(t.baseUrl)).toEqual({ status: 401, challenges: both });
    const wrong = `Basic ${Buffer.from(`${USERNAME}:nope`).toString('base64')}`;
    expect(await post(t.baseUrl, { Authorization: wrong })).toEqual({ status: 401, challenges: both });
  });

  it('tells a client that sent a bearer token about its token only (RFC 6750)', async () => {
    expect(await post(t.baseUrl, { Authorization: 'Bearer not-a-token' })).toEqual({
      status: 401,
      challenges: ['Bearer realm="webhook-fulfillment", error="invalid_token"'],
    });
  });

  it('lets curl --anyauth sign in: it sends the password only once challenged for Basic', async () => {
    const { stdout } = await promisify(execFile)('curl', [
      '--silent',
      '--anyauth',
      '--user',
      `${USERNAME}:${PASSWORD}`,
      '--header',
      'Content-Type: application/json',
      '--data',
      BODY,
      '--write-out',
      '\n%{http_code}',
      `${t.baseUrl}/v1/webhooks/generic`,
    ]);
    const [answer, status] = stdout.split('\n');
    expect(status).toBe('200');
    expect(answer).toContain('$3,247.82');
  });

  it('challenges for Bearer only once no basic caller is left', async () => {
    writeFileSync(callers, file());
    await eventually(async () => {
      expect(await post(t.baseUrl)).toEqual({ status: 401, challenges: ['Bearer realm="webhook-fulfillment"'] });
    });
  });
});
