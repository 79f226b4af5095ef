import { request as httpRequest } from 'node:http';
import { connect, type Socket } from 'node:net';
import { LOCAL_DEV_AUTH } from './support/dialogflow-es.fixtures';
import { sendRaw } from './support/raw-http';
import { startTestApp, TestApp } from './support/test-app';
import { TestHandlersModule } from './support/test-handlers';

const LIMIT = 4096;
const ES_PATH = '/v1/webhooks/dialogflow-es';

describe('HTTP semantics (real HTTP, real PostgreSQL)', () => {
  let t: TestApp;
  let port: number;

  beforeAll(async () => {
    t = await startTestApp({ env: { BODY_LIMIT_BYTES: String(LIMIT) }, imports: [TestHandlersModule] });
    port = Number(new URL(t.baseUrl).port);
  });
  afterAll(() => t.close());

  describe('a chunked body past BODY_LIMIT_BYTES', () => {
    /**
     * Streams a chunked body of `totalChunks` chunks of 512 bytes, one every 25 ms, over a raw socket, and stops
     * at the first byte of an answer. Resolves with what was sent by then and what the server said and did.
     */
    function streamSlowly(totalChunks: number): Promise<{ sentBytes: number; response: string; ended: boolean }> {
      return new Promise((resolve, reject) => {
        const socket: Socket = connect(port, '127.0.0.1');
        let sentBytes = 0;
        let response = '';
        let timer: NodeJS.Timeout | undefined;
        let answered = false;
        const done = (ended: boolean) => {
          clearInterval(timer);
          socket.destroy();
          resolve({ sentBytes, response, ended });
        };
        socket.once('connect', () => {
          socket.write(
            [
              `POST ${ES_PATH} HTTP/1.1`,
              'Host: 127.0.0.1',
              `Authorization: ${LOCAL_DEV_AUTH.Authorization}`,
              'Content-Type: application/json',
              'Transfer-Encoding: chunked',
              '',
              '',
            ].join('\r\n'),
          );
          let chunks = 0;
          timer = setInterval(() => {
            if (answered) return;
            if (chunks === totalChunks) {
              clearInterval(timer);
              socket.write('0\r\n\r\n');
              return;
            }
            const chunk = chunks === 0 ? `{"a":"${'x'.repeat(506)}` : 'x'.repeat(512);
            socket.write(`${chunk.length.toString(16)}\r\n${chunk}\r\n`, (error) => {
              if (!error && !answered) sentBytes += chunk.length;
            });
            chunks++;
          }, 25);
        });
        socket.on('data', (data: Buffer) => {
          answered = true;
          response += data.toString('latin1');
        });
        // The server ends the connection after its answer (FIN), or resets it once more data arrives unread.
        socket.once('end', () => done(true));
        socket.once('error', (error: NodeJS.ErrnoException) =>
          answered ? done(error.code === 'ECONNRESET' || error.code === 'EPIPE') : reject(error),
        );
        setTimeout(() => done(false), 20_000).unref();
      });
    }

    it('is answered 413 as soon as it crosses the limit, and the connection is closed without reading the rest', async () => {
      const totalChunks = 200; // 100 KiB over 5 s, far past the 4 KiB limit
      const started = Date.now();
      const { sentBytes, response, ended } = await streamSlowly(totalChunks);
      const [head, body] = response.split('\r\n\r\n');
      expect(head).toMatch(/^HTTP\/1\.1 413 /);
      expect(head).toMatch(/\r\nconnection: close\r\n/i);
      expect(JSON.parse(body)).toMatchObject({ statusCode: 413, error: 'PAYLOAD_TOO_LARGE' });
      // Answered while the client was still sending: a little past the limit, long before the body's end.
      expect(sentBytes).toBeGreaterThan(LIMIT - 512);
      expect(sentBytes).toBeLessThan(LIMIT + 4 * 512);
      expect(Date.now() - started).toBeLessThan(totalChunks * 25);
      expect(ended).toBe(true);
    });

    it('leaves a chunked body within the limit alone', async () => {
      const response = await new Promise<{ status: number; body: string }>((resolve, reject) => {
        const req = httpRequest(
          `${t.baseUrl}${ES_PATH}`,
          { method: 'POST', agent: false, headers: { ...LOCAL_DEV_AUTH, 'Content-Type': 'application/json' } },
          (res) => {
            let body = '';
            res.on('data', (chunk: Buffer) => (body += chunk.toString()));
            res.once('end', () => resolve({ status: res.statusCode ?? 0, body }));
          },
        );
        req.once('error', reject);
        // No Content-Length: node:http sends these as chunks.
        req.write(`{"a":"${'x'.repeat(LIMIT / 2)}`);
        req.write(`${'x'.repeat(LIMIT / 2 - 20)}"}`);
        req.end();
      });
      // Read whole and validated: a 400 for the shape, not a 413.
      expect([response.status, JSON.parse(response.body).error]).toEqual([400, 'VALIDATION_FAILED']);
    });
  });

  describe('a method a known route does not take', () => {
    it('is answered 405 with an Allow header and the usual JSON error body', async () => {
      for (const platform of ['generic', 'dialogflow-es', 'dialogflow-cx', 'lex-v2', 'rasa']) {
        for (const method of ['GET', 'PUT', 'DELETE', 'PATCH']) {
          const response = await sendRaw(t.baseUrl, `/v1/webhooks/${platform}`, {
            method,
            headers: { ...LOCAL_DEV_AUTH, 'X-Request-Id': 'method-check' },
          });
          expect([platform, method, response.status]).toEqual([platform, method, 405]);
          expect(response.headers.allow).toBe('POST');
          expect(response.headers['content-type']).toMatch(/^application\/json/);
          expect(response.json()).toEqual({
            statusCode: 405,
            error: 'METHOD_NOT_ALLOWED',
            message: 'Method not allowed on this endpoint.',
            requestId: 'method-check',
          });
        }
      }
    });

    it('lists every method of the path, from the registered routes (GET brings HEAD)', async () => {
      const post = await sendRaw(t.baseUrl, '/v1/fulfillments/some-id', { method: 'POST', headers: LOCAL_DEV_AUTH });
      expect([post.status, post.headers.allow]).toEqual([405, 'GET, HEAD']);
      const live = await sendRaw(t.baseUrl, '/health/live', { method: 'DELETE' });
      expect([live.status, live.headers.allow]).toEqual([405, 'GET, HEAD']);
    });

    it('a PUT with a JSON body is 405 too (the body is read and refused like any other)', async () => {
      const response = await sendRaw(t.baseUrl, '/v1/webhooks/generic', {
        method: 'PUT',
        headers: { ...LOCAL_DEV_AUTH, 'Content-Type': 'application/json' },
        body: '{"intent":"GetAccountBalance","sessionId":"s"}',
      });
      expect([response.status, response.headers.allow]).toEqual([405, 'POST']);
    });
  });

  describe('an unknown path', () => {
    it('stays 404 whatever the method, without an Allow header', async () => {
      for (const method of ['GET', 'POST', 'DELETE']) {
        const response = await sendRaw(t.baseUrl, '/v1/webhooks/no-such-platform', { method, headers: LOCAL_DEV_AUTH });
        expect([method, response.status, response.headers.allow]).toEqual([method, 404, undefined]);
        expect(response.json()).toMatchObject({ statusCode: 404, error: 'NOT_FOUND' });
      }
    });

    it('keeps a 404 a route itself answers for a method it takes', async () => {
      const response = await sendRaw(t.baseUrl, '/v1/fulfillments/unknown-id', {
        method: 'GET',
        headers: LOCAL_DEV_AUTH,
      });
      expect(response.status).toBe(404);
      expect(response.headers.allow).toBeUndefined();
    });
  });

  describe('an ambiguous Content-Type', () => {
    const body = JSON.stringify({ queryResult: { intent: { displayName: 'GetAccountBalance' } } });

    it('refuses two Content-Type headers with 400 (Node would keep the first), and a repeated charset with 415', async () => {
      const twice = await sendRaw(t.baseUrl, ES_PATH, {
        headers: { ...LOCAL_DEV_AUTH, 'Content-Type': ['application/json', 'text/plain'] },
        body,
      });
      expect(twice.status).toBe(400);
      expect(twice.json()).toMatchObject({
        error: 'MALFORMED_REQUEST',
        message: 'The request has more than one Content-Type header.',
      });
      const charsets = await sendRaw(t.baseUrl, ES_PATH, {
        headers: { ...LOCAL_DEV_AUTH, 'Content-Type': 'application/json; charset=utf-8; charset=latin1' },
        body,
      });
      expect(charsets.status).toBe(415);
      expect(charsets.json()).toMatchObject({ error: 'UNSUPPORTED_MEDIA_TYPE' });
    });
  });
});
