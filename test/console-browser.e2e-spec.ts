/// <reference lib="dom" />
import { dump as toYaml } from 'js-yaml';
import { randomBytes, randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Browser, BrowserContext, Locator, Page } from 'playwright-core';
import request from 'supertest';
import { serviceReadiness } from '../src/app.factory';
import { type AdminListener, startAdminListener } from '../src/console/admin/admin-app';
import { AppConfig } from '../src/config';
import {
  axeViolations,
  describeWithChromium,
  launchChromium,
  newLocalContext,
  signInInBrowser,
} from './support/browser';
import { type CallbackReceiver, startCallbackReceiver, verifyCallback } from './support/callback-receiver';
import { declinedTransfer, esRequest } from './support/dialogflow-es.fixtures';
import { eventually } from './support/eventually';
import { type LocalOidcProvider, signIn, startOidcProvider } from './support/oidc-sign-in';
import { freePort } from './support/service-process';
import { startTestApp, TestApp } from './support/test-app';

const ROOT = join(__dirname, '..');
/** Where each page's screenshot goes (docs/console holds the ones the README shows). */
const SCREENSHOTS = resolve(ROOT, process.env.CONSOLE_SCREENSHOTS_DIR || 'test-output/console-screenshots');

const TOKEN = `bot-${randomBytes(16).toString('hex')}`;
const CALLBACK_SECRET = `whsec_${randomBytes(32).toString('base64')}`;
const CALLER = 'banking-assistant';
/** A customer's id and a PIN said aloud: what a captured request must never show. */
const USER_ID = '12345';
const PIN = '482193';

/** A delivery id that never exists (the API answers it as not replayable). */
const NO_SUCH_DELIVERY = `msg_${'0'.repeat(32)}`;

interface DeliveryRow {
  id: string;
  status: string;
  lastStatus: number | null;
}

/**
 * The operator console in a real browser (Debian's Chromium through playwright-core): sign-in at a real OpenID
 * provider, the live tail, capture and the inspector, replaying a dead callback, a viewer's limits, the CSRF
 * token and the CSP as the browser enforces them, and every page checked with axe-core and photographed.
 */
describeWithChromium()('operator console in a real browser (Chromium, a real OpenID provider, PostgreSQL)', () => {
  let workDir: string | undefined;
  let provider: LocalOidcProvider;
  let receiver: CallbackReceiver;
  let browser: Browser;
  let t: TestApp;
  let admin: AdminListener;
  let consoleUrl: string;
  /** An operator's session outside the browser, to look things up and set them up through the API. */
  let operatorCookie: string;

  beforeAll(async () => {
    if (!existsSync(join(ROOT, 'dist', 'console-ui', 'index.html'))) {
      throw new Error('dist/console-ui is not built: run node scripts/build.mjs (npm test does) first');
    }
    workDir = mkdtempSync(join(tmpdir(), 'wf-console-browser-'));
    const adminPort = await freePort();
    consoleUrl = `http://127.0.0.1:${adminPort}`;
    // Each kept as soon as it runs, so that afterAll closes it even when another one failed to start.
    await Promise.all([
      freePort().then(async (port) => (provider = await startOidcProvider(port, `${consoleUrl}/callback`))),
      startCallbackReceiver(() => 503).then((started) => (receiver = started)),
      launchChromium().then((launched) => (browser = launched)),
    ]);
    const callersFile = join(workDir, 'callers.yaml');
    writeFileSync(
      callersFile,
      toYaml({
        callers: [
          {
            id: CALLER,
            platforms: ['dialogflow-es', 'generic'],
            auth: { bearer: { tokens: [TOKEN] } },
            callback: { url: receiver.url, secrets: [CALLBACK_SECRET], allowPrivateNetwork: true },
          },
        ],
      }),
    );
    t = await startTestApp({
      env: {
        CALLERS_FILE: callersFile,
        TURN_LOG_FLUSH_MS: '100',
        TRACE_PARAMETER_ALLOWLIST: 'account_type',
        ASYNC_POLL_INTERVAL_MS: '500',
        CALLBACK_RETRY_SCHEDULE: '100ms',
        CALLBACK_RETRY_HORIZON_HOURS: '0',
        CALLBACK_TIMEOUT_MS: '2000',
        ADMIN_PORT: String(adminPort),
        ADMIN_PUBLIC_URL: consoleUrl,
        ADMIN_OIDC_ISSUER: provider.issuer,
        ADMIN_OIDC_CLIENT_ID: provider.clientId,
        ADMIN_OIDC_CLIENT_SECRET: provider.clientSecret,
        ADMIN_SESSION_SECRET: 'a-session-secret-of-at-least-32-characters',
      },
    });
    admin = await startAdminListener(t.app, t.app.get(AppConfig), serviceReadiness(t.app));
    operatorCookie = (await signIn(consoleUrl, 'ada')).consoleCookie();
  }, 90_000);

  afterAll(async () => {
    await browser?.close();
    await admin?.close();
    await t?.close();
    await provider?.close();
    await receiver?.close();
    if (workDir) rmSync(workDir, { recursive: true, force: true });
  });

  // --- The service and its API, outside the browser ---------------------------------------------------------------

  const consoleGet = async <T>(path: string): Promise<T> =>
    (await request(consoleUrl).get(path).set('Cookie', operatorCookie).expect(200)).body as T;
  const consolePost = async (path: string, body: object, status: number) => {
    const { csrfToken } = await consoleGet<{ csrfToken: string }>('/api/session');
    await request(consoleUrl)
      .post(path)
      .set('Cookie', operatorCookie)
      .set('X-CSRF-Token', csrfToken)
      .send(body)
      .expect(status);
  };

  /** Sends a turn to the webhook port as the bot does; resolves with its request id. */
  async function sendTurn(path: string, body: Record<string, unknown>, requestId: string): Promise<string> {
    await request(t.baseUrl).post(path).set('Authorization', `Bearer ${TOKEN}`).send(body).expect(200);
    return requestId;
  }

  /** A balance turn whose request holds a customer's id and, in what they said, their PIN. */
  function balanceTurn(): Promise<string> {
    const body = esRequest('GetAccountBalance', { user_id: USER_ID, account_type: 'checking' });
    (body.queryResult as { queryText: string }).queryText = `what is my balance, my PIN is ${PIN}`;
    return sendTurn('/v1/webhooks/dialogflow-es', body, String(body.responseId));
  }

  /** A RequestStatement turn: asynchronous, its result goes to the caller's callback URL (the receiver). */
  function statementTurn(): Promise<string> {
    const requestId = `r-${randomUUID()}`;
    return sendTurn(
      '/v1/webhooks/generic',
      {
        requestId,
        sessionId: 's',
        intent: 'RequestStatement',
        parameters: { user_id: USER_ID, account_type: 'checking' },
      },
      requestId,
    );
  }

  /** The turn log id of a turn, once the turn log has written it. */
  function turnIdOf(requestId: string): Promise<string> {
    return eventually(async () => {
      const { turns } = await consoleGet<{ turns: { id: string; requestId: string }[] }>('/api/turns?limit=200');
      const row = turns.find((turn) => turn.requestId === requestId);
      expect(row).toBeDefined();
      return row!.id;
    }, 15_000);
  }

  /** A new callback delivery that the receiver refuses (503) until it is dead; resolves with its id. */
  async function deadDelivery(): Promise<string> {
    receiver.respondWith(() => 503);
    const dead = async () =>
      (await consoleGet<{ deliveries: DeliveryRow[] }>('/api/deliveries?status=dead')).deliveries.map((d) => d.id);
    const before = new Set(await dead());
    await statementTurn();
    return eventually(async () => {
      const fresh = (await dead()).filter((id) => !before.has(id));
      expect(fresh).toHaveLength(1);
      return fresh[0];
    }, 20_000);
  }

  // --- The browser ------------------------------------------------------------------------------------------------

  /** A fresh browser (no cookies) signed in as `login` through the provider's pages. */
  async function signedInPage(
    login: string,
    permissions: string[] = [],
  ): Promise<{ context: BrowserContext; page: Page }> {
    const context = await newLocalContext(browser, { permissions });
    const page = await context.newPage();
    await signInInBrowser(page, consoleUrl, provider.issuer, login);
    return { context, page };
  }

  /** Goes to a console page by its hash route and waits for its heading. */
  async function openPage(page: Page, route: string, heading: string): Promise<void> {
    await page.goto(`${consoleUrl}/#${route}`);
    await page.getByRole('heading', { level: 1, name: heading, exact: true }).waitFor();
  }

  /** The visible text and the markup of the whole page. */
  const everything = async (page: Page) => `${await page.locator('body').innerText()}\n${await page.content()}`;

  describe('signing in', () => {
    let context: BrowserContext;
    afterAll(() => context?.close());

    it('sends the browser to the identity provider, signs the operator in there, and shows them on the console', async () => {
      context = await newLocalContext(browser);
      const page = await context.newPage();
      await page.goto(consoleUrl);
      // No session yet: the console sends the browser to the provider's own sign-in page.
      await page.waitForURL((url) => url.href.startsWith(`${provider.issuer}/`));
      await page.locator('input[name="login"]').waitFor();

      await signInInBrowser(page, consoleUrl, provider.issuer, 'ada');
      expect(new URL(page.url()).origin).toBe(consoleUrl);
      const user = page.getByRole('banner').locator('.user');
      expect(await user.locator('.user-name').innerText()).toBe('Ada Operator');
      expect(await user.locator('.badge').innerText()).toBe('operator');
      await page.getByRole('heading', { level: 1, name: 'Turns', exact: true }).waitFor();
      // The session cookie is HttpOnly: the page's scripts cannot read it.
      const cookies = await context.cookies(consoleUrl);
      expect(cookies.find((cookie) => cookie.name === 'wf_console')).toMatchObject({ httpOnly: true });
      expect(await page.evaluate(() => document.cookie)).not.toContain('wf_console');

      await page.getByRole('button', { name: 'Sign out' }).click();
      await page.getByRole('heading', { level: 1, name: 'Signed out' }).waitFor();
      expect(await page.evaluate(async () => (await fetch('/api/session')).status)).toBe(401);
    });
  });

  describe('as an operator', () => {
    let context: BrowserContext;
    let page: Page;
    beforeAll(async () => {
      ({ context, page } = await signedInPage('ada', ['clipboard-read', 'clipboard-write']));
    }, 30_000);
    afterAll(() => context?.close());

    it('shows "Page not found" for an address whose percent-encoding is cut short, not a blank console', async () => {
      await openPage(page, '/turns/%E0%A4', 'Page not found');
      await openPage(page, '/turns', 'Turns');
    });

    it('shows a new turn in the recent turns as it finishes, with Live on, without reloading', async () => {
      await openPage(page, '/turns', 'Turns');
      await page
        .getByRole('table', { name: 'Recent turns' })
        .or(page.getByText('No turns match yet.'))
        .first()
        .waitFor();
      await page.evaluate(() => {
        (window as unknown as { sameDocument: boolean }).sameDocument = true;
      });
      await page.getByRole('switch', { name: 'Live' }).check();
      await page.getByText('New turns appear at the top as they finish.').waitFor();

      const id = await turnIdOf(await balanceTurn());
      const link = page.getByRole('link', { name: new RegExp(`^Inspect turn ${id} at `) });
      await link.waitFor();
      // Added by the live tail (a reload would not mark it fresh, nor keep the page's state).
      const row = page.getByRole('row').filter({ has: link });
      expect(await row.getAttribute('class')).toContain('fresh');
      expect(await row.innerText()).toContain('GetAccountBalance');
      expect(await page.evaluate(() => (window as unknown as { sameDocument?: boolean }).sameDocument)).toBe(true);
      await page.getByRole('switch', { name: 'Live' }).uncheck();
    });

    it('starts a capture, and shows a captured turn redacted in the inspector, with its curl command', async () => {
      await openPage(page, '/inspector', 'Inspector');
      const form = page.getByRole('form', { name: 'Start a capture' });
      await form.getByLabel('Platform', { exact: true }).selectOption('dialogflow-es');
      await form.getByLabel('For (minutes)', { exact: true }).fill('10');
      await form.getByRole('button', { name: 'Start capture' }).click();
      await page.getByText('Capture started: matching turns are recorded until it expires.').waitFor();
      const rules = page.getByRole('table', { name: 'Active capture rules' });
      await rules.getByRole('cell', { name: 'dialogflow-es', exact: true }).first().waitFor();
      expect(await rules.innerText()).toContain('oidc:ada');

      const id = await turnIdOf(await balanceTurn());
      await openPage(page, `/turns/${id}`, `Turn ${id}`);
      const captured = page.getByLabel('Captured request (redacted)', { exact: true });
      await captured.waitFor();
      const shown = JSON.parse(await captured.innerText()) as {
        queryResult: { queryText: string; parameters: Record<string, string>; intent: { displayName: string } };
      };
      expect(shown.queryResult).toMatchObject({
        queryText: 'REDACTED',
        parameters: { user_id: 'REDACTED', account_type: 'checking' },
        intent: { displayName: 'GetAccountBalance' },
      });
      await page.getByLabel('Captured response (redacted)', { exact: true }).waitFor();
      const text = await everything(page);
      expect(text).not.toContain(USER_ID);
      expect(text).not.toContain(PIN);

      await page.getByRole('button', { name: 'Copy as curl' }).click();
      await page.getByText('Copied to the clipboard.').waitFor();
      const curl = await page.evaluate(() => navigator.clipboard.readText());
      expect(curl).toMatch(/^curl -sS -X POST '?http:\/\/127\.0\.0\.1:\d+\/v1\/webhooks\/dialogflow-es/);
      expect(curl).toContain('"user_id":"REDACTED"');
      expect(curl).not.toContain(USER_ID);
      expect(curl).not.toContain(PIN);
    });

    it('replays a dead callback delivery selected on the Deliveries page; the receiver gets it, validly signed', async () => {
      const id = await deadDelivery();
      receiver.respondWith(() => 204);
      const before = receiver.received.length;

      await openPage(page, '/deliveries?status=dead', 'Deliveries');
      const replay = page.getByRole('button', { name: 'Replay', exact: true });
      await page.getByRole('table', { name: 'Callback deliveries' }).waitFor();
      expect(await replay.isDisabled()).toBe(true);
      await page.getByRole('checkbox', { name: `Select delivery ${id}` }).check();
      await replay.click();
      await page.getByText(/^Replayed 1 delivery\./).waitFor();

      const delivered = await eventually(() => {
        const callback = receiver.received.slice(before).find((entry) => entry.headers['webhook-id'] === id);
        expect(callback).toBeDefined();
        return callback!;
      }, 15_000);
      expect(verifyCallback(delivered, CALLBACK_SECRET)).toMatchObject({ ok: true });
      await eventually(async () => {
        const { deliveries } = await consoleGet<{ deliveries: DeliveryRow[] }>('/api/deliveries');
        expect(deliveries.find((delivery) => delivery.id === id)?.status).toBe('delivered');
      });
    }, 60_000);

    it('refuses an action without the CSRF token, and runs no inline script (CSP), reporting the violation', async () => {
      await openPage(page, '/turns', 'Turns');
      const answers = await page.evaluate(async (id) => {
        const replay = (headers: Record<string, string>) =>
          fetch('/api/deliveries/replay', {
            method: 'POST',
            headers: { 'Content-Type': 'application/json', ...headers },
            body: JSON.stringify({ ids: [id] }),
          });
        const session = (await (await fetch('/api/session')).json()) as { csrfHeader: string; csrfToken: string };
        const without = await replay({});
        const forged = await replay({ [session.csrfHeader]: 'x'.repeat(43) });
        const withToken = await replay({ [session.csrfHeader]: session.csrfToken });
        return {
          without: { status: without.status, body: (await without.json()) as unknown },
          forged: forged.status,
          withToken: { status: withToken.status, body: (await withToken.json()) as unknown },
        };
      }, NO_SUCH_DELIVERY);
      expect(answers.without).toEqual({ status: 403, body: expect.objectContaining({ statusCode: 403 }) });
      expect(answers.forged).toBe(403);
      expect(answers.withToken).toEqual({ status: 200, body: { replayed: [], notReplayable: [NO_SUCH_DELIVERY] } });

      const reported = page.waitForEvent('console', {
        predicate: (message) => /Content Security Policy/i.test(message.text()),
      });
      // Awaited below; a failure before that must not leave its rejection unhandled.
      reported.catch(() => undefined);
      const violation = await page.evaluate(
        () =>
          new Promise<{ directive: string; blocked: string; disposition: string } | 'none'>((done) => {
            document.addEventListener(
              'securitypolicyviolation',
              (event) =>
                done({
                  directive: event.effectiveDirective,
                  blocked: event.blockedURI,
                  disposition: event.disposition,
                }),
              { once: true },
            );
            setTimeout(() => done('none'), 10_000);
            const script = document.createElement('script');
            script.textContent = 'window.injectedScriptRan = true;';
            document.body.append(script);
          }),
      );
      expect(violation).toEqual({ directive: 'script-src-elem', blocked: 'inline', disposition: 'enforce' });
      expect((await reported).text()).toMatch(/script-src 'self'/);
      expect(await page.evaluate(() => (window as unknown as { injectedScriptRan?: boolean }).injectedScriptRan)).toBe(
        undefined,
      );
    });
  });

  describe('as a viewer', () => {
    let context: BrowserContext;
    let page: Page;
    beforeAll(async () => {
      // Something to act on, had the viewer the right.
      const { deliveries } = await consoleGet<{ deliveries: DeliveryRow[] }>('/api/deliveries?status=dead');
      if (deliveries.length === 0) await deadDelivery();
      ({ context, page } = await signedInPage('vic'));
    }, 45_000);
    afterAll(() => context?.close());

    it('shows no Replay button and no checkboxes, and the API refuses the page’s own replay with a 403', async () => {
      expect(await page.getByRole('banner').locator('.user-name').innerText()).toBe('Vic Viewer');
      await openPage(page, '/deliveries?status=dead', 'Deliveries');
      const table = page.getByRole('table', { name: 'Callback deliveries' });
      await table.waitFor();
      expect(await table.getByRole('row').count()).toBeGreaterThan(1);
      expect(await page.getByRole('button', { name: 'Replay' }).count()).toBe(0);
      expect(await page.getByRole('button', { name: 'Disable URL' }).count()).toBe(0);
      expect(await page.getByRole('checkbox').count()).toBe(0);
      const id = (await table.getByRole('row').nth(1).locator('code').first().innerText()).trim();
      expect(id).toMatch(/^msg_/);

      const refused = await page.evaluate(async (deliveryId) => {
        const session = (await (await fetch('/api/session')).json()) as { csrfHeader: string; csrfToken: string };
        const response = await fetch('/api/deliveries/replay', {
          method: 'POST',
          headers: { 'Content-Type': 'application/json', [session.csrfHeader]: session.csrfToken },
          body: JSON.stringify({ ids: [deliveryId] }),
        });
        return { status: response.status, body: (await response.json()) as { message: string } };
      }, id);
      expect(refused).toEqual({
        status: 403,
        body: expect.objectContaining({ message: 'This needs the operator role; you have viewer.' }),
      });

      // Nor may a viewer start a capture: the inspector offers none.
      await openPage(page, '/inspector', 'Inspector');
      await page.getByRole('heading', { name: 'Capture rules' }).waitFor();
      await page.getByText(/^Loading capture rules/).waitFor({ state: 'detached' });
      expect(await page.getByRole('button', { name: 'Start capture' }).count()).toBe(0);
    });
  });

  describe('every page: axe-core finds nothing serious, and a screenshot shows it with data', () => {
    let context: BrowserContext;
    let page: Page;
    let capturedTurn: string;

    beforeAll(async () => {
      // Turns of a few intents (one of them captured), a dead delivery, and the audit trail that all this writes.
      const rules = await consoleGet<{ rules: { platform: string | null }[] }>('/api/captures');
      if (!rules.rules.some((rule) => rule.platform === 'dialogflow-es')) {
        await consolePost('/api/captures', { platform: 'dialogflow-es', minutes: 15 }, 201);
      }
      for (let i = 0; i < 3; i++) await balanceTurn();
      await sendTurn('/v1/webhooks/dialogflow-es', declinedTransfer(), 'transfer');
      await sendTurn(
        '/v1/webhooks/generic',
        { requestId: `r-${randomUUID()}`, sessionId: 's', intent: 'CloseAccount' },
        'fallback',
      );
      await deadDelivery();
      capturedTurn = await turnIdOf(await balanceTurn());
      ({ context, page } = await signedInPage('ada'));
      mkdirSync(SCREENSHOTS, { recursive: true });
    }, 60_000);
    afterAll(() => context?.close());

    const PAGES: { name: string; route: () => string; heading: () => string; shown: (page: Page) => Locator }[] = [
      {
        name: 'turns',
        route: () => '/turns',
        heading: () => 'Turns',
        shown: (p) => p.getByRole('table', { name: 'Recent turns' }),
      },
      {
        name: 'inspector',
        route: () => `/turns/${capturedTurn}`,
        heading: () => `Turn ${capturedTurn}`,
        shown: (p) => p.getByRole('table', { name: 'Active capture rules' }),
      },
      {
        name: 'deliveries',
        route: () => '/deliveries',
        heading: () => 'Deliveries',
        shown: (p) => p.getByRole('table', { name: 'Callback deliveries' }),
      },
      {
        name: 'audit',
        route: () => '/audit',
        heading: () => 'Audit trail',
        shown: (p) => p.getByRole('table', { name: 'Audit trail entries' }),
      },
      {
        name: 'intents',
        route: () => '/intents',
        heading: () => 'Intents',
        // Both charts drawn.
        shown: (p) => p.locator('.chart canvas').nth(1),
      },
      {
        name: 'health',
        route: () => '/health',
        heading: () => 'Health',
        shown: (p) => p.getByRole('table', { name: 'Readiness checks' }),
      },
    ];

    it.each(PAGES.map((entry) => [entry.name, entry] as const))('%s', async (name, entry) => {
      await openPage(page, entry.route(), entry.heading());
      await entry.shown(page).waitFor();
      if (name === 'inspector') await page.getByLabel('Captured request (redacted)', { exact: true }).waitFor();
      await page
        .getByRole('status')
        .filter({ hasText: /^Loading|^Reading|^Searching/ })
        .first()
        .waitFor({
          state: 'detached',
        });

      const serious = (await axeViolations(page)).filter(
        (violation) => violation.impact === 'serious' || violation.impact === 'critical',
      );
      expect(
        serious.map(
          (violation) => `${violation.id} (${violation.impact}): ${violation.help} at ${violation.targets.join(', ')}`,
        ),
      ).toEqual([]);

      await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`) });
    });
  });
});
