import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';

/** A local OpenID Connect provider process (test/support/oidc-provider.mjs). */
export interface LocalOidcProvider {
  readonly issuer: string;
  readonly clientId: string;
  readonly clientSecret: string;
  close(): Promise<void>;
}

export async function startOidcProvider(port: number, redirectUri: string): Promise<LocalOidcProvider> {
  const child: ChildProcess = spawn(
    process.execPath,
    [join(__dirname, 'oidc-provider.mjs'), String(port), redirectUri],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let output = '';
  const issuer = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the OIDC provider did not start:\n${output}`)), 20_000);
    const onData = (chunk: Buffer): void => {
      output += chunk.toString();
      const match = /ready (\S+)/.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', () => reject(new Error(`the OIDC provider exited:\n${output}`)));
  });
  return {
    issuer,
    clientId: 'console',
    clientSecret: 'console-secret-for-tests',
    close: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

/** Cookies per origin, as a browser keeps them (name → value; path and expiry are not needed here). */
class CookieJar {
  private readonly byOrigin = new Map<string, Map<string, string>>();

  take(url: string, response: Response): void {
    const jar = this.jar(url);
    for (const line of response.headers.getSetCookie()) {
      const [pair, ...attributes] = line.split(';');
      const eq = pair.indexOf('=');
      const [name, value] = [pair.slice(0, eq).trim(), pair.slice(eq + 1).trim()];
      const maxAge = attributes.map((a) => a.trim().toLowerCase()).find((a) => a.startsWith('max-age='));
      if (value === '' || maxAge === 'max-age=0') jar.delete(name);
      else jar.set(name, value);
    }
  }

  header(url: string): string {
    return [...this.jar(url)].map(([name, value]) => `${name}=${value}`).join('; ');
  }

  get(url: string, name: string): string | undefined {
    return this.jar(url).get(name);
  }

  private jar(url: string): Map<string, string> {
    const origin = new URL(url).origin;
    let jar = this.byOrigin.get(origin);
    if (!jar) this.byOrigin.set(origin, (jar = new Map()));
    return jar;
  }
}

/** Where a sign-in ended: the console's last answer, and the browser's cookies. */
export interface SignInResult {
  readonly status: number;
  readonly location?: string;
  readonly body: string;
  readonly cookies: CookieJar;
  /** The Cookie header the browser now sends to the console. */
  consoleCookie(): string;
}

/**
 * Signs in to the console at `consoleUrl` as `login` the way a browser does, without one: follows every redirect by
 * hand, keeps each origin's cookies, and submits the provider's sign-in and consent forms.
 */
export async function signIn(consoleUrl: string, login: string): Promise<SignInResult> {
  const cookies = new CookieJar();
  let url = `${consoleUrl}/login`;
  let method = 'GET';
  let body: string | undefined;
  for (let step = 0; step < 20; step++) {
    const response = await fetch(url, {
      method,
      redirect: 'manual',
      headers: {
        Cookie: cookies.header(url),
        ...(body && { 'Content-Type': 'application/x-www-form-urlencoded' }),
      },
      body,
    });
    cookies.take(url, response);
    const text = await response.text();
    const location = response.headers.get('location') ?? undefined;
    const onConsole = url.startsWith(consoleUrl);
    if (onConsole && !url.endsWith('/login')) {
      return {
        status: response.status,
        location,
        body: text,
        cookies,
        consoleCookie: () => cookies.header(consoleUrl),
      };
    }
    if (location) {
      [url, method, body] = [new URL(location, url).toString(), 'GET', undefined];
      continue;
    }
    // A provider page: the sign-in form, or the consent form.
    const action = /<form[^>]*action="([^"]+)"/.exec(text)?.[1];
    if (!action) throw new Error(`no form on ${url} (${response.status}):\n${text.slice(0, 500)}`);
    const prompt = /name="prompt" value="([^"]+)"/.exec(text)?.[1] ?? '';
    const fields = new URLSearchParams({ prompt });
    if (prompt === 'login') {
      fields.set('login', login);
      fields.set('password', 'any password');
    }
    [url, method, body] = [new URL(action.replaceAll('&amp;', '&'), url).toString(), 'POST', fields.toString()];
  }
  throw new Error('the sign-in did not come back to the console');
}
