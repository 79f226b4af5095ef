import { status } from '@grpc/grpc-js';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { type ClientHttp2Session, connect, type IncomingHttpHeaders, type OutgoingHttpHeaders } from 'node:http2';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { toStruct } from '../src/grpc/struct';
import { waitForAuditRow } from './support/audit-events';
import { grpcServices } from './support/grpc-client';
import { startTestApp, type TestApp } from './support/test-app';
import { generateCertificates, pem } from './support/tls-fixtures';

const TOKEN = 'grpc-unreadable-token-0123456789abcdef';

const fulfill = grpcServices.fulfillment.v1.FulfillmentService as unknown as {
  service: { Fulfill: { requestSerialize: (request: object) => Buffer } };
};

/** A whole Fulfill request on the wire: what an authenticated caller is answered OK for. */
function balanceRequest(): Buffer {
  const message = fulfill.service.Fulfill.requestSerialize({
    sessionId: 'grpc-unreadable',
    intent: 'GetAccountBalance',
    parameters: toStruct({ user_id: '12345', account_type: 'checking' }),
  });
  const prefix = Buffer.alloc(5);
  prefix.writeUInt32BE(message.length, 1);
  return Buffer.concat([prefix, message]);
}

/**
 * An `authorization` value gRPC metadata cannot hold (a tab, a byte over 0x7e), sent by a raw HTTP/2 client (grpc-js
 * will not send it): refused as malformed, INVALID_ARGUMENT, as HTTP answers 400. Before, it became the word
 * `unreadable`, a well-formed scheme we do not support: UNAUTHENTICATED, or, with a client certificate, the call was
 * authenticated by the certificate and served.
 */
describe('gRPC: an authorization value metadata cannot hold (real TLS, raw HTTP/2 client)', () => {
  const root = mkdtempSync(join(tmpdir(), 'wf-grpc-unreadable-'));
  const certs = join(root, 'certs');
  let t: TestApp;
  let port: number;

  beforeAll(async () => {
    generateCertificates(certs);
    const callers = join(root, 'callers.yaml');
    writeFileSync(
      callers,
      [
        'callers:',
        '  - id: grpc-mtls',
        '    platforms: [generic]',
        '    certificate: { uriSAN: spiffe://bank.example/ns/bots/sa/dialogflow }',
        '    auth: { mtls: {} }',
        '  - id: grpc-token',
        '    platforms: [generic]',
        `    auth: { bearer: { tokens: [${TOKEN}] } }`,
        '',
      ].join('\n'),
    );
    t = await startTestApp({
      env: {
        GRPC_ENABLED: 'true',
        CALLERS_FILE: callers,
        TLS_CERT_FILE: join(certs, 'server.crt'),
        TLS_KEY_FILE: join(certs, 'server.key'),
        TLS_CA_FILE: join(certs, 'ca.crt'),
        TLS_CRL_FILE: join(certs, 'ca.crl.pem'),
        TLS_CLIENT_AUTH: 'optional',
      },
    });
    port = t.grpcPort ?? 0;
  }, 60_000);

  afterAll(async () => {
    await t?.close();
    rmSync(root, { recursive: true, force: true });
  });

  function session(withCertificate: boolean): ClientHttp2Session {
    const opened = connect(`https://localhost:${port}`, {
      host: '127.0.0.1',
      ca: pem(certs, 'ca.crt'),
      ...(withCertificate && { cert: pem(certs, 'client.crt'), key: pem(certs, 'client.key') }),
    });
    opened.on('error', () => undefined);
    return opened;
  }

  /** One Fulfill call with these headers; its grpc-status and grpc-message. */
  function call(on: ClientHttp2Session, headers: OutgoingHttpHeaders): Promise<{ code?: string; message?: string }> {
    const request = on.request({
      ':method': 'POST',
      ':path': '/fulfillment.v1.FulfillmentService/Fulfill',
      'content-type': 'application/grpc',
      te: 'trailers',
      ...headers,
    });
    const answer: { code?: string; message?: string } = {};
    const read = (fields: IncomingHttpHeaders) => {
      if (fields['grpc-status'] === undefined) return;
      answer.code = String(fields['grpc-status']);
      answer.message = decodeURIComponent(String(fields['grpc-message'] ?? ''));
    };
    request.on('response', read);
    request.on('trailers', read);
    request.on('error', () => undefined);
    request.resume();
    request.end(balanceRequest());
    return new Promise((resolve) => request.on('close', () => resolve(answer)));
  }

  // Header values as node:http2 sends them: one byte per character (latin1).
  const values = [
    ['a tab', `Bearer ${TOKEN.slice(0, 8)}\t${TOKEN.slice(8)}`],
    ['a byte over 0x7e', `Bearer ${TOKEN}\u00e9`],
    ['a tab in an unsupported scheme', 'Digest\tusername="x"'],
  ] as const;

  for (const withCertificate of [false, true]) {
    describe(withCertificate ? 'with a client certificate' : 'without a client certificate', () => {
      let h2: ClientHttp2Session;
      beforeAll(() => (h2 = session(withCertificate)));
      afterAll(() => h2.close());

      it.each(values)('refuses %s as malformed: INVALID_ARGUMENT, audited', async (what, value) => {
        const requestId = `unreadable-${withCertificate ? 'cert' : 'plain'}-${what.replace(/\W+/g, '-')}`;
        const answer = await call(h2, { authorization: value, 'x-request-id': requestId });
        expect(answer).toEqual({
          code: String(status.INVALID_ARGUMENT),
          message: expect.stringContaining('The authorization header is malformed.'),
        });
        const row = await waitForAuditRow(t.database.url, (r) => r.request_id === requestId);
        expect(row).toMatchObject({
          event: 'authn_login_fail',
          reason: 'unknown-token',
          detail: 'malformed authorization header',
        });
      });

      it('still serves the same call with a readable credential', async () => {
        const answer = await call(h2, withCertificate ? {} : { authorization: `Bearer ${TOKEN}` });
        expect(answer.code).toBe(String(status.OK));
      });
    });
  }
});
