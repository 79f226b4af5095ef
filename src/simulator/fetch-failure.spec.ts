import { createServer, type Server } from 'node:net';
import { fetch } from 'undici';
import { describeFetchFailure } from './fetch-failure';

describe('describeFetchFailure', () => {
  it('names the URL and a refused connection, from a real refused fetch', async () => {
    const server: Server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as { port: number };
    await new Promise((resolve) => server.close(resolve));
    const url = `http://127.0.0.1:${port}/v1/webhooks/generic`;
    const error = await fetch(url, { method: 'POST' }).catch((caught: unknown) => caught);
    expect(describeFetchFailure(url, error)).toBe(
      `could not reach ${url}: connection refused (is the service running? npm start)`,
    );
  });

  it('explains a TLS failure and what to pass', () => {
    const error = Object.assign(new TypeError('fetch failed'), {
      cause: Object.assign(new Error('self-signed certificate in certificate chain'), {
        code: 'SELF_SIGNED_CERT_IN_CHAIN',
      }),
    });
    expect(describeFetchFailure('https://127.0.0.1:8443/x', error)).toBe(
      "TLS error talking to https://127.0.0.1:8443/x: the server's certificate chains to a CA we do not trust: pass that CA with --ca (SELF_SIGNED_CERT_IN_CHAIN)",
    );
  });

  it('says what fetch itself refused (a port browsers block) instead of "fetch failed"', async () => {
    const url = 'http://127.0.0.1:1/v1/webhooks/generic';
    const error = await fetch(url, { method: 'POST' }).catch((caught: unknown) => caught);
    expect(describeFetchFailure(url, error)).toBe(`request to ${url} failed: bad port`);
  });

  it('falls back to the innermost code and message', () => {
    const error = Object.assign(new TypeError('fetch failed'), {
      cause: Object.assign(new Error('odd'), { code: 'EWHATEVER' }),
    });
    expect(describeFetchFailure('http://h/x', error)).toBe('request to http://h/x failed: EWHATEVER: odd');
  });
});
