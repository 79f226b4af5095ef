import type { NestExpressApplication } from '@nestjs/platform-express';
import { get as httpGet, type IncomingMessage } from 'node:http';
import request from 'supertest';
import { createHttpApp, serviceReadiness } from '../src/app.factory';
import { type AdminListener, startAdminListener } from '../src/console/admin/admin-app';
import { AppConfig, loadConfig } from '../src/config';
import { eventually } from './support/eventually';
import { type LocalOidcProvider, signIn, startOidcProvider } from './support/oidc-sign-in';
import { freePort } from './support/service-process';
import { startTestApp, type TestApp } from './support/test-app';
import { queryTestDatabase } from './support/test-database';
import { type CommandResult, runCommand } from './support/command-process';

function consoleSessionsCli(env: Record<string, string>, ...args: string[]): Promise<CommandResult> {
  return runCommand('console-sessions.cli.js', args, env);
}

describe('operator console: the local operator behind a proxy on the same machine (development, no sign-in)', () => {
  let t: TestApp;
  let admin: AdminListener;
  let consoleUrl: string;

  beforeAll(async () => {
    const adminPort = await freePort();
    consoleUrl = `http://127.0.0.1:${adminPort}`;
    // nginx on this machine in front of the console, and listed as a trusted proxy.
    t = await startTestApp({ env: { ADMIN_PORT: String(adminPort), TRUSTED_PROXIES: '127.0.0.1/32' } });
    admin = await startAdminListener(t.app, t.app.get(AppConfig), serviceReadiness(t.app));
  }, 60_000);
  afterAll(async () => {
    await admin?.close();
    await t?.close();
  });

  it('is the browser on this machine itself', async () => {
    const session = await request(consoleUrl).get('/api/session').expect(200);
    expect(session.body).toMatchObject({ subject: 'local-operator', roles: ['operator'], via: 'local' });
  });

  it('is not a client elsewhere the proxy forwarded: its requests are unauthenticated, its actions not taken', async () => {
    const refused = await request(consoleUrl).get('/api/session').set('X-Forwarded-For', '203.0.113.5').expect(401);
    expect(refused.body).toMatchObject({ error: 'UNAUTHENTICATED' });
    const { csrfToken } = (await request(consoleUrl).get('/api/session').expect(200)).body as { csrfToken: string };
    await request(consoleUrl)
      .post('/api/captures')
      .set('X-Forwarded-For', '203.0.113.5')
      .set('X-CSRF-Token', csrfToken)
      .send({ platform: 'generic', minutes: 5 })
      .expect(401);
    expect((await request(consoleUrl).get('/api/captures').expect(200)).body).toEqual({ rules: [] });
  });

  it('is not anyone a proxy relayed, even when it names a loopback client or only the host it was asked for', async () => {
    await request(consoleUrl).get('/api/session').set('X-Forwarded-For', '127.0.0.1').expect(401);
    await request(consoleUrl).get('/api/session').set('Forwarded', 'for=unknown').expect(401);
    await request(consoleUrl).get('/api/session').set('X-Forwarded-Host', 'console.example').expect(401);
    await request(consoleUrl).get('/api/session').set('X-Real-IP', '203.0.113.5').expect(401);
  });
});

/** A second replica of the service and its console, on the first one's database and behind the same public URL. */
async function startReplica(
  databaseUrl: string,
  env: Record<string, string>,
): Promise<{ app: NestExpressApplication; admin: AdminListener; url: string }> {
  const adminPort = await freePort();
  const config = loadConfig({
    NODE_ENV: 'test',
    LOG_LEVEL: 'fatal',
    DB_POOL_SIZE: '4',
    GRPC_ENABLED: 'false',
    METRICS_ENABLED: 'false',
    OVERLOAD_DELAY_MS: '0',
    ...env,
    ADMIN_PORT: String(adminPort),
    DATABASE_URL: databaseUrl,
    PORT: '0',
  });
  const app = await createHttpApp(config);
  await app.listen(0, '127.0.0.1');
  const admin = await startAdminListener(app, app.get(AppConfig), serviceReadiness(app));
  return { app, admin, url: `http://127.0.0.1:${adminPort}` };
}

describe('operator console: ending every session of a person, on every replica', () => {
  let provider: LocalOidcProvider;
  let t: TestApp;
  let adminA: AdminListener;
  let replicaB: { app: NestExpressApplication; admin: AdminListener; url: string };
  let consoleA: string;
  let consoleB: string;

  beforeAll(async () => {
    const adminPort = await freePort();
    consoleA = `http://127.0.0.1:${adminPort}`;
    provider = await startOidcProvider(await freePort(), `${consoleA}/callback`);
    const env = {
      ADMIN_OIDC_ISSUER: provider.issuer,
      ADMIN_OIDC_CLIENT_ID: provider.clientId,
      ADMIN_OIDC_CLIENT_SECRET: provider.clientSecret,
      ADMIN_SESSION_SECRET: 'a-session-secret-of-at-least-32-characters',
      ADMIN_PUBLIC_URL: consoleA,
      // Loopback is a trusted proxy, as the ingress in front of the admin port is in a cluster.
      TRUSTED_PROXIES: '127.0.0.1/32',
    };
    t = await startTestApp({ env: { ...env, ADMIN_PORT: String(adminPort) } });
    adminA = await startAdminListener(t.app, t.app.get(AppConfig), serviceReadiness(t.app));
    replicaB = await startReplica(t.database.url, env);
    consoleB = replicaB.url;
  }, 90_000);
  afterAll(async () => {
    await replicaB?.admin.close();
    await replicaB?.app.close();
    await adminA?.close();
    await t?.close();
    await provider?.close();
  });

  const session = (url: string, cookie: string) => request(url).get('/api/session').set('Cookie', cookie);

  it('from the command line: the old cookie is refused on every replica, a new sign-in is not', async () => {
    // `long-…` logins are operators whose subject is the login itself.
    const before = (await signIn(consoleA, 'long-dave')).consoleCookie();
    await session(consoleA, before).expect(200);
    await session(consoleB, before).expect(200);

    const ended = await consoleSessionsCli({ DATABASE_URL: t.database.url }, 'end', 'long-dave');
    expect(ended).toMatchObject({ code: 0, stderr: '' });
    expect(ended.stdout).toMatch(/^Ended the console sessions of "long-dave" signed in before \d{4}-/);

    const refused = await session(consoleB, before).expect(401);
    expect(refused.body).toMatchObject({ error: 'UNAUTHENTICATED' });
    await session(consoleA, before).expect(401);
    await request(consoleB).get('/api/turns').set('Cookie', before).expect(401);

    const after = (await signIn(consoleA, 'long-dave')).consoleCookie();
    await session(consoleB, after).expect(200);
  });

  it('from the console, by an operator only (audited): it also ends their live tail there at once', async () => {
    const dave = (await signIn(consoleA, 'long-dave')).consoleCookie();
    const ada = (await signIn(consoleA, 'ada')).consoleCookie();
    const vic = (await signIn(consoleA, 'vic')).consoleCookie();
    const tokenOf = async (cookie: string) =>
      ((await session(consoleA, cookie).expect(200)).body as { csrfToken: string }).csrfToken;

    await request(consoleA)
      .post('/api/session/revocations')
      .set('Cookie', vic)
      .set('X-CSRF-Token', await tokenOf(vic))
      .send({ subject: 'long-dave' })
      .expect(403);
    await session(consoleB, dave).expect(200);

    const tail = await new Promise<IncomingMessage>((resolve, reject) =>
      httpGet(`${consoleA}/api/turns/stream`, { headers: { Cookie: dave } }, resolve).once('error', reject),
    );
    expect(tail.statusCode).toBe(200);
    tail.resume();
    const tailEnded = new Promise<void>((resolve) => tail.once('end', () => resolve()));

    const ended = await request(consoleA)
      .post('/api/session/revocations')
      .set('Cookie', ada)
      .set('X-CSRF-Token', await tokenOf(ada))
      .send({ subject: 'long-dave' })
      .expect(201);
    expect(ended.body).toEqual({ subject: 'long-dave', signedInBefore: expect.any(String) });
    await tailEnded;
    await session(consoleB, dave).expect(401);
    await session(consoleA, ada).expect(200);
    await eventually(async () =>
      expect(
        await queryTestDatabase<{ caller_id: string; detail: string }>(
          t.database.url,
          "SELECT caller_id, detail FROM audit_events WHERE event = 'authz_admin' AND reason = 'console_sessions_end'",
        ),
      ).toEqual([{ caller_id: 'console:ada', detail: 'long-dave' }]),
    );
  });

  it("audits a signed-in person's refused requests under the client's address the trusted proxy forwarded", async () => {
    const ada = (await signIn(consoleA, 'ada')).consoleCookie();
    // An action without its CSRF token, and a read another site started: refused, and audited.
    await request(consoleA)
      .post('/api/deliveries/replay')
      .set('Cookie', ada)
      .set('X-Forwarded-For', '203.0.113.7')
      .set('Origin', consoleA)
      .send({ ids: ['msg_unknown'] })
      .expect(403);
    await request(consoleA)
      .get('/api/audit/export?limit=10')
      .set('Cookie', ada)
      .set('Sec-Fetch-Site', 'cross-site')
      .set('X-Forwarded-For', '203.0.113.7')
      .expect(403);
    await eventually(async () => {
      const { events } = (
        await request(consoleA).get('/api/audit?event=authz_fail&source=203.0.113.7').set('Cookie', ada).expect(200)
      ).body as { events: { remoteAddress: string; callerId: string; reason: string }[] };
      expect(events.map(({ remoteAddress, callerId, reason }) => ({ remoteAddress, callerId, reason }))).toEqual([
        { remoteAddress: '203.0.113.7', callerId: 'console:ada', reason: 'console_cross_site' },
        { remoteAddress: '203.0.113.7', callerId: 'console:ada', reason: 'console_csrf' },
      ]);
    });
  });

  it('refuses to end sessions without a subject', async () => {
    const ada = (await signIn(consoleA, 'ada')).consoleCookie();
    const { csrfToken } = (await session(consoleA, ada).expect(200)).body as { csrfToken: string };
    await request(consoleA)
      .post('/api/session/revocations')
      .set('Cookie', ada)
      .set('X-CSRF-Token', csrfToken)
      .send({ subject: '' })
      .expect(400);
  });

  it('exchanges a sign-in state for a code once across replicas: a kept state cookie is refused on another', async () => {
    const started = await request(consoleA).get('/login').expect(302);
    const loginCookie = started.headers['set-cookie'][0].split(';')[0];
    const state = new URL(started.headers.location).searchParams.get('state') as string;
    const first = await request(consoleA)
      .get(`/callback?code=made-up&state=${encodeURIComponent(state)}`)
      .set('Cookie', loginCookie)
      .expect(401);
    expect(first.body.message).toMatch(/^The identity provider did not exchange the code/);
    const again = await request(consoleB)
      .get(`/callback?code=made-up-too&state=${encodeURIComponent(state)}`)
      .set('Cookie', loginCookie)
      .expect(401);
    expect(again.body.message).toBe('This sign-in was already completed or tried; start again.');
  });
});

describe('console-sessions command line', () => {
  it('answers a mistake with its usage (exit 2), before it needs a database', async () => {
    for (const args of [[], ['finish', 'dave'], ['end'], ['end', 'dave', 'eve'], ['end', 'dave', '--now']]) {
      const result = await consoleSessionsCli({}, ...args);
      expect(result.code).toBe(2);
      expect(result.stderr).toContain('usage: npm run console-sessions -- end <subject>');
    }
    // Five process starts: over 30 s on a loaded CI machine.
  }, 120_000);

  it('needs DATABASE_URL (exit 2)', async () => {
    const result = await consoleSessionsCli({}, 'end', 'dave');
    expect(result).toMatchObject({ code: 2, stderr: 'DATABASE_URL must be set (the service database)\n' });
  });
});
