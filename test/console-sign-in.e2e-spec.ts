import { get as httpGet, type IncomingMessage } from 'node:http';
import request from 'supertest';
import { serviceReadiness } from '../src/app.factory';
import { type AdminListener, startAdminListener } from '../src/console/admin/admin-app';
import { AppConfig } from '../src/config';
import { eventually } from './support/eventually';
import { type LocalOidcProvider, signIn, startOidcProvider } from './support/oidc-sign-in';
import { freePort } from './support/service-process';
import { queryTestDatabase } from './support/test-database';
import { startTestApp, TestApp } from './support/test-app';

/** Sign-in to the console through a real OpenID Connect provider (oidc-provider) run locally. */
describe('operator console: sign-in with OpenID Connect (a real provider, real HTTP)', () => {
  let provider: LocalOidcProvider;
  let t: TestApp;
  let admin: AdminListener;
  let consoleUrl: string;

  beforeAll(async () => {
    const adminPort = await freePort();
    consoleUrl = `http://127.0.0.1:${adminPort}`;
    provider = await startOidcProvider(await freePort(), `${consoleUrl}/callback`);
    t = await startTestApp({
      env: {
        ADMIN_PORT: String(adminPort),
        ADMIN_OIDC_ISSUER: provider.issuer,
        ADMIN_OIDC_CLIENT_ID: provider.clientId,
        ADMIN_OIDC_CLIENT_SECRET: provider.clientSecret,
        ADMIN_SESSION_SECRET: 'a-session-secret-of-at-least-32-characters',
      },
    });
    admin = await startAdminListener(t.app, t.app.get(AppConfig), serviceReadiness(t.app));
  }, 60_000);
  afterAll(async () => {
    await admin?.close();
    await t?.close();
    await provider?.close();
  });

  const auditRows = (event: string) =>
    queryTestDatabase<{ caller_id: string; reason: string; detail: string | null }>(
      t.database.url,
      'SELECT caller_id, reason, detail FROM audit_events WHERE event = $1 ORDER BY id',
      [event],
    );

  it('asks everyone to sign in once an identity provider is configured (no local operator)', async () => {
    const response = await request(consoleUrl).get('/api/session').expect(401);
    expect(response.body).toMatchObject({ error: 'UNAUTHENTICATED' });
  });

  it('signs an operator in: code flow with PKCE, a sealed HttpOnly session cookie, audited', async () => {
    const signedIn = await signIn(consoleUrl, 'ada');
    expect(signedIn).toMatchObject({ status: 302, location: '/' });
    const session = await request(consoleUrl).get('/api/session').set('Cookie', signedIn.consoleCookie()).expect(200);
    expect(session.body).toMatchObject({ subject: 'ada', name: 'Ada Operator', roles: ['operator'], via: 'oidc' });
    await eventually(async () =>
      expect(await auditRows('authn_login_success')).toEqual([
        expect.objectContaining({
          caller_id: 'console:ada',
          reason: 'console_login',
          detail: 'Ada Operator as operator',
        }),
      ]),
    );
  });

  it('lets a viewer read but not act: the API answers 403 and the refusal is audited', async () => {
    const signedIn = await signIn(consoleUrl, 'vic');
    const cookie = signedIn.consoleCookie();
    await request(consoleUrl).get('/api/turns').set('Cookie', cookie).expect(200);
    const { csrfToken } = (await request(consoleUrl).get('/api/session').set('Cookie', cookie).expect(200)).body as {
      csrfToken: string;
    };
    const refused = await request(consoleUrl)
      .post('/api/deliveries/replay')
      .set('Cookie', cookie)
      .set('X-CSRF-Token', csrfToken)
      .send({ ids: [`msg_${'1'.repeat(32)}`] })
      .expect(403);
    expect(refused.body.message).toBe('This needs the operator role; you have viewer.');
    await request(consoleUrl)
      .post('/api/captures')
      .set('Cookie', cookie)
      .set('X-CSRF-Token', csrfToken)
      .send({ platform: 'generic', minutes: 5 })
      .expect(403);
    await request(consoleUrl)
      .delete('/api/captures/1')
      .set('Cookie', cookie)
      .set('X-CSRF-Token', csrfToken)
      .expect(403);
    await request(consoleUrl)
      .post('/api/turns/1/send-again')
      .set('Cookie', cookie)
      .set('X-CSRF-Token', csrfToken)
      .expect(403);
    expect((await request(consoleUrl).get('/api/captures').set('Cookie', cookie).expect(200)).body).toEqual({
      rules: [],
    });
    await eventually(async () =>
      expect(await auditRows('authz_fail')).toEqual(
        expect.arrayContaining([expect.objectContaining({ caller_id: 'console:vic', reason: 'console_role' })]),
      ),
    );
  });

  it('lets one session hold 3 live tails at once: the fourth is refused with 429, and closing one frees its place', async () => {
    const vic = (await signIn(consoleUrl, 'vic')).consoleCookie();
    const open = (cookie = vic) =>
      new Promise<IncomingMessage>((resolve, reject) =>
        httpGet(`${consoleUrl}/api/turns/stream`, { headers: { Cookie: cookie } }, resolve).once('error', reject),
      );
    const body = (response: IncomingMessage) =>
      new Promise<string>((resolve) => {
        let text = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => (text += chunk)).once('end', () => resolve(text));
      });
    const tails = [await open(), await open(), await open()];
    expect(tails.map((tail) => tail.statusCode)).toEqual([200, 200, 200]);
    const refused = await open();
    expect(refused.statusCode).toBe(429);
    expect(refused.headers['retry-after']).toBe('15');
    expect(JSON.parse(await body(refused))).toMatchObject({
      error: 'RATE_LIMITED',
      message: expect.stringContaining('This session has 3 live tails open'),
    });
    // Another session has places of its own.
    const adaTail = await open((await signIn(consoleUrl, 'ada')).consoleCookie());
    expect(adaTail.statusCode).toBe(200);
    adaTail.destroy();

    tails.shift()!.destroy();
    const reopened = await eventually(async () => {
      const tail = await open();
      if (tail.statusCode !== 200) tail.resume();
      expect(tail.statusCode).toBe(200);
      return tail;
    });
    tails.push(reopened);
    for (const tail of tails) tail.destroy();
  });

  it('refuses an account without a console role, and a forged answer, each audited', async () => {
    const nobody = await signIn(consoleUrl, 'nob');
    expect(nobody.status).toBe(401);
    expect(JSON.parse(nobody.body)).toMatchObject({
      message: 'Your account has no console role (viewer or operator).',
    });
    expect(nobody.cookies.get(consoleUrl, 'wf_console')).toBeUndefined();

    // A callback whose state is not the one this browser's sign-in started with.
    const started = await request(consoleUrl).get('/login').expect(302);
    const loginCookie = started.headers['set-cookie'][0].split(';')[0];
    const forged = await request(consoleUrl)
      .get('/callback?code=stolen&state=not-the-state')
      .set('Cookie', loginCookie)
      .expect(401);
    expect(forged.body.message).toBe('The sign-in answer does not match; start again.');
    await eventually(async () =>
      expect((await auditRows('authn_login_fail')).map((row) => row.reason)).toEqual(
        expect.arrayContaining(['no_role', 'state_mismatch']),
      ),
    );
  });

  it('takes a subject of the 255 characters OpenID Connect allows, into the records that name it, and refuses a longer one', async () => {
    const longest = `long-${'s'.repeat(250)}`;
    const signedIn = await signIn(consoleUrl, longest);
    expect(signedIn).toMatchObject({ status: 302, location: '/' });
    const cookie = signedIn.consoleCookie();
    const { csrfToken } = (await request(consoleUrl).get('/api/session').set('Cookie', cookie).expect(200)).body as {
      csrfToken: string;
    };
    const rule = await request(consoleUrl)
      .post('/api/captures')
      .set('Cookie', cookie)
      .set('X-CSRF-Token', csrfToken)
      .send({ platform: 'generic', minutes: 5 })
      .expect(201);
    expect(rule.body).toMatchObject({ createdBy: `oidc:${longest}` });
    await request(consoleUrl)
      .delete(`/api/captures/${rule.body.id}`)
      .set('Cookie', cookie)
      .set('X-CSRF-Token', csrfToken)
      .expect(204);

    const tooLong = await signIn(consoleUrl, `${longest}s`);
    expect(tooLong.status).toBe(401);
    expect(JSON.parse(tooLong.body)).toMatchObject({ message: "The ID token's sub is longer than 255 characters." });
  });

  it('exchanges a code once per sign-in: a kept state cookie replayed against /callback is refused before the provider is asked', async () => {
    const started = await request(consoleUrl).get('/login').expect(302);
    const loginCookie = started.headers['set-cookie'][0].split(';')[0];
    const state = new URL(started.headers.location).searchParams.get('state') as string;
    const first = await request(consoleUrl)
      .get(`/callback?code=made-up&state=${encodeURIComponent(state)}`)
      .set('Cookie', loginCookie);
    expect(first.status).toBe(401);
    const again = await request(consoleUrl)
      .get(`/callback?code=made-up-too&state=${encodeURIComponent(state)}`)
      .set('Cookie', loginCookie)
      .expect(401);
    expect(again.body.message).toBe('This sign-in was already completed or tried; start again.');
    await eventually(async () =>
      expect((await auditRows('authn_login_fail')).map((row) => row.reason)).toContain('state_reused'),
    );
  });

  it('refuses a session cookie someone changed (say, to give themselves a role)', async () => {
    const signedIn = await signIn(consoleUrl, 'vic');
    const [name, value] = signedIn.consoleCookie().split('=');
    const [payload, mac] = value.split('.');
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString()) as Record<string, unknown>;
    const raised = Buffer.from(JSON.stringify({ ...claims, roles: ['operator'] })).toString('base64url');
    await request(consoleUrl).get('/api/session').set('Cookie', `${name}=${raised}.${mac}`).expect(401);
  });

  it('signs out (an action, with the CSRF token), clearing the cookie and refusing any copy of it from then on', async () => {
    const signedIn = await signIn(consoleUrl, 'ada');
    const cookie = signedIn.consoleCookie();
    const { csrfToken } = (await request(consoleUrl).get('/api/session').set('Cookie', cookie).expect(200)).body as {
      csrfToken: string;
    };
    await request(consoleUrl).post('/logout').set('Cookie', cookie).expect(403);
    // A live tail opened before signing out ends with the session (it went on sending turns for good).
    const tail = await new Promise<IncomingMessage>((resolve, reject) =>
      httpGet(`${consoleUrl}/api/turns/stream`, { headers: { Cookie: cookie } }, resolve).once('error', reject),
    );
    expect(tail.statusCode).toBe(200);
    tail.resume();
    const tailEnded = new Promise<void>((resolve) => tail.once('end', () => resolve()));
    const out = await request(consoleUrl)
      .post('/logout')
      .set('Cookie', cookie)
      .set('X-CSRF-Token', csrfToken)
      .expect(204);
    expect(out.headers['set-cookie']).toEqual(
      expect.arrayContaining([expect.stringMatching(/^wf_console=; Path=\/; Max-Age=0/)]),
    );
    await tailEnded;
    // The cookie is still sealed and unexpired: a copy kept elsewhere must not outlive the sign-out.
    const copied = await request(consoleUrl).get('/api/turns').set('Cookie', cookie).expect(401);
    expect(copied.body).toMatchObject({
      error: 'UNAUTHENTICATED',
      message: 'This session was signed out; sign in again.',
    });
    const another = await signIn(consoleUrl, 'ada');
    await request(consoleUrl).get('/api/turns').set('Cookie', another.consoleCookie()).expect(200);
  });
});
