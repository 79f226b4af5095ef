/// <reference lib="dom" />
// A real browser for the console's tests: Debian's Chromium driven by playwright-core (which brings no browser of
// its own). Every context it opens reaches 127.0.0.1 only.
import { existsSync, readFileSync } from 'node:fs';
import { chromium, type Browser, type BrowserContext, type BrowserContextOptions, type Page } from 'playwright-core';

/** Where Chromium is: CHROMIUM_PATH, or Debian's package (`apt-get install chromium`). */
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH || '/usr/bin/chromium';

const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  // No host name resolves: a page that names another host (the provider's sign-in page imports a web font) gets
  // nothing, and nothing leaves the machine.
  '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1',
];

/**
 * `describe` when Chromium is there. Without it: on CI (CI set) the file fails, saying how to install it;
 * elsewhere it is skipped with a warning, so a newcomer without Chromium still gets a green `npm test`.
 */
export function describeWithChromium(): jest.Describe {
  if (existsSync(CHROMIUM_PATH)) return describe;
  const problem = `Chromium is not at ${CHROMIUM_PATH}: apt-get install chromium (or set CHROMIUM_PATH to a Chromium)`;
  if (process.env.CI) throw new Error(`${problem}. The console's browser tests need it on CI.`);
  console.warn(`${problem}. Skipping the console's browser tests.`);
  return describe.skip;
}

export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS, timeout: 30_000 });
}

/** Waits long enough for a loaded 2-core CI machine; a condition never met still fails well within jest's time. */
export const BROWSER_TIMEOUT_MS = 15_000;

/**
 * A fresh context (no cookies, no storage) at 1280x800 in UTC and English, whose requests to any host but 127.0.0.1
 * are refused before they leave the browser.
 */
export async function newLocalContext(browser: Browser, options: BrowserContextOptions = {}): Promise<BrowserContext> {
  const context = await browser.newContext({
    viewport: { width: 1280, height: 800 },
    locale: 'en-GB',
    timezoneId: 'UTC',
    ...options,
  });
  context.setDefaultTimeout(BROWSER_TIMEOUT_MS);
  await context.route(
    (url) => url.hostname !== '127.0.0.1',
    (route) => route.abort('blockedbyclient'),
  );
  return context;
}

/**
 * Signs in to the console at `consoleUrl` in `page` as a person does (from the console, or from the provider's page
 * it sent the browser to): the console sends the browser to the
 * identity provider (test/support/oidc-provider.mjs), whose sign-in form takes `login` (any password) and whose
 * consent page is continued; back on the console, resolves once its frame shows the signed-in person.
 */
export async function signInInBrowser(page: Page, consoleUrl: string, issuer: string, login: string): Promise<void> {
  // (Once sent there, not again: the console sends a browser to sign in only once in a while, against loops.)
  if (!page.url().startsWith(issuer)) await page.goto(consoleUrl);
  await page.waitForURL((url) => url.href.startsWith(issuer));
  await page.locator('input[name="login"]').fill(login);
  await page.locator('input[name="password"]').fill('any password');
  await page.getByRole('button', { name: 'Sign-in' }).click();
  // The consent page, when the provider asks (a fresh browser always gets it).
  const consent = page.getByRole('button', { name: 'Continue' });
  const signedIn = page.getByRole('banner').locator('.user-name');
  await consent.or(signedIn).first().waitFor();
  if (await consent.isVisible()) await consent.click();
  await page.waitForURL((url) => url.href.startsWith(consoleUrl));
  await signedIn.waitFor();
}

/** axe-core's source, injected into pages by evaluation (the console's CSP refuses an injected script element). */
const AXE_SOURCE = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');

export interface AxeViolation {
  readonly id: string;
  readonly impact: string | null;
  readonly help: string;
  readonly targets: string[];
}

/** Runs axe-core on the page as it is now; resolves with its violations of every impact. */
export async function axeViolations(page: Page): Promise<AxeViolation[]> {
  await page.evaluate(AXE_SOURCE);
  return page.evaluate(async () => {
    const axe = (window as unknown as { axe: typeof import('axe-core') }).axe;
    const results = await axe.run(document, { resultTypes: ['violations'] });
    return results.violations.map((violation) => ({
      id: violation.id,
      impact: violation.impact ?? null,
      help: violation.help,
      targets: violation.nodes.map((node) => node.target.join(' ')),
    }));
  });
}
