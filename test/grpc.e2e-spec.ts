import { type ChannelCredentials, credentials, Metadata, type ServiceError, status } from '@grpc/grpc-js';
import { createHmac, randomBytes } from 'node:crypto';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'node:tls';
import { FileDescriptorProto, type IFileDescriptorProto } from 'protobufjs/ext/descriptor';
import { GrpcEndpoint } from '../src/grpc/grpc-endpoint';
import { fromStruct, type ProtoStruct, toStruct } from '../src/grpc/struct';
import { Readiness } from '../src/health/readiness';
import { auditRows, waitForAuditRow } from './support/audit-events';
import { startTestApp, TestApp } from './support/test-app';
import { SlowHandler, TestHandlersModule } from './support/test-handlers';
import { generateCertificates, httpsPost, pem } from './support/tls-fixtures';
import { transferTurnBody } from './support/generic-turns';
import {
  grpcFailure as failure,
  grpcMetadata as metadata,
  grpcServices as proto,
  openGrpcClient,
  type ServiceClient,
  unary,
} from './support/grpc-client';
import { H2_FLAG, H2_FRAME, rawH2cRequest } from './support/raw-h2c';
import {
  type ClientHttp2Session,
  connect as connectHttp2,
  type IncomingHttpHeaders,
  type OutgoingHttpHeaders,
  type Settings as Http2Settings,
} from 'node:http2';
import { Module } from '@nestjs/common';
import { type FulfillmentHandler, type FulfillmentResult, IntentHandler } from '../src/fulfillment';
import { MAX_CONCURRENT_STREAMS } from '../src/grpc/grpc.transport';

const GENERIC_TOKEN = 'grpc-generic-token-0123456789abcdef';
const ES_ONLY_TOKEN = 'grpc-es-only-token-0123456789abcdef';
const LIMITED_TOKEN = 'grpc-limited-token-0123456789abcdef';
const SIGNING_KEY = randomBytes(32);
const ES_FIXTURE = join(__dirname, 'fixtures', 'dialogflow-es', 'intents', 'GetAccountBalance.json');
const BALANCE = { user_id: '12345', account_type: 'checking' };

// Protobuf written by hand: what a raw client can send and protobufjs would never write.
const wireVarint = (value: number): number[] =>
  value > 127 ? [(value & 0x7f) | 0x80, ...wireVarint(value >>> 7)] : [value];
const wireField = (number: number, bytes: number[]) => [
  ...wireVarint(number * 8 + 2),
  ...wireVarint(bytes.length),
  ...bytes,
];
const wireText = (value: string) => [...Buffer.from(value)];

/** A gRPC message as it goes on the wire: not compressed, its length, its bytes. */
function grpcFrame(message: Buffer): Buffer {
  const prefix = Buffer.alloc(5);
  prefix.writeUInt32BE(message.length, 1);
  return Buffer.concat([prefix, message]);
}

interface H2Answer {
  /** grpc-status and grpc-message, from the trailers or a trailers-only answer. */
  grpcStatus?: string;
  grpcMessage?: string;
  /** When the stream closed, from the request's start, and with which RST_STREAM code (0: NO_ERROR, or none). */
  closedAfterMs?: number;
  rstCode?: number;
}

/**
 * A call as a raw HTTP/2 client makes it, for what grpc-js will not send: the headers given, then `body`, and the end
 * of the request unless `end` is false. Resolves when the stream closes, or after `waitMs` with what came so far.
 */
function rawGrpcCall(
  session: ClientHttp2Session,
  headers: OutgoingHttpHeaders,
  body: Buffer,
  { end = true, waitMs = 10_000 } = {},
): Promise<H2Answer> {
  const started = performance.now();
  const request = session.request(
    {
      ':method': 'POST',
      ':path': '/fulfillment.v1.FulfillmentService/Fulfill',
      'content-type': 'application/grpc',
      te: 'trailers',
      ...headers,
    },
    { endStream: false },
  );
  const answer: H2Answer = {};
  const status = (fields: IncomingHttpHeaders) => {
    if (fields['grpc-status'] === undefined) return;
    answer.grpcStatus = String(fields['grpc-status']);
    answer.grpcMessage = decodeURIComponent(String(fields['grpc-message'] ?? ''));
  };
  request.on('response', status);
  request.on('trailers', status);
  request.on('error', () => undefined);
  request.resume();
  request.write(body);
  if (end) request.end();
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(answer), waitMs);
    request.on('close', () => {
      clearTimeout(timer);
      resolve({ ...answer, closedAfterMs: performance.now() - started, rstCode: request.rstCode });
    });
  });
}

/** A state-changing handler answering with a date in its payload: JSON has none, so the date goes out as its text. */
@IntentHandler('TestDated', { changesState: true })
class DatedHandler implements FulfillmentHandler {
  handle(): Promise<FulfillmentResult> {
    return Promise.resolve({ text: 'dated', payload: { at: new Date('2026-03-04T05:06:07.000Z') } });
  }
}

@Module({ providers: [DatedHandler] })
class DatedHandlerModule {}

interface FulfillResponse {
  requestId: string;
  outcome: string;
  text: string;
  messages?: Record<string, Record<string, unknown>>[];
  contexts?: { name: string; lifespan?: number; parameters?: ProtoStruct }[];
  sessionParameters?: ProtoStruct;
  followupEvent?: { name: string; parameters?: ProtoStruct; languageCode?: string };
  payload?: ProtoStruct;
  elicit?: { parameter: string };
  replayed?: boolean;
}

interface WebhookResponse {
  json: Buffer;
  status: number;
  replayed?: boolean;
}

function tls(set: string, client?: string, ca = set): ChannelCredentials {
  return client
    ? credentials.createSsl(pem(ca, 'ca.crt'), pem(set, `${client}.key`), pem(set, `${client}.crt`))
    : credentials.createSsl(pem(ca, 'ca.crt'));
}

function bearer(token: string, extra: Record<string, string> = {}): Metadata {
  return metadata({ authorization: `Bearer ${token}`, ...extra });
}

const balanceRequest = (extra: Record<string, unknown> = {}) => ({
  sessionId: 'grpc-session',
  intent: 'GetAccountBalance',
  parameters: toStruct(BALANCE),
  ...extra,
});

const fulfillService = proto.fulfillment.v1.FulfillmentService as unknown as {
  service: { Fulfill: { requestSerialize: (request: object) => Buffer } };
};
const encodedBalanceRequest = (extra: Record<string, unknown> = {}) =>
  grpcFrame(fulfillService.service.Fulfill.requestSerialize(balanceRequest(extra)));

function callersFile(root: string): string {
  const file = join(root, 'callers.yaml');
  writeFileSync(
    file,
    [
      'callers:',
      '  - id: dialogflow-mtls',
      '    platforms: [dialogflow-es, generic, rasa]',
      '    certificate: { uriSAN: spiffe://bank.example/ns/bots/sa/dialogflow }',
      '    auth: { mtls: {} }',
      '  - id: generic-token',
      '    platforms: [generic]',
      `    auth: { bearer: { tokens: [${GENERIC_TOKEN}] } }`,
      '  - id: es-only',
      '    platforms: [dialogflow-es]',
      `    auth: { bearer: { tokens: [${ES_ONLY_TOKEN}] } }`,
      '  - id: limited',
      '    platforms: [generic]',
      `    auth: { bearer: { tokens: [${LIMITED_TOKEN}] } }`,
      '    rateLimit: { requests: 2, perSeconds: 60 }',
      '  - id: es-signer',
      '    platforms: [dialogflow-es, generic]',
      `    auth: { standardWebhooks: { secrets: [whsec_${SIGNING_KEY.toString('base64')}] } }`,
      '',
    ].join('\n'),
  );
  return file;
}

describe('gRPC over TLS, client certificates optional (real TLS, raw grpc-js client)', () => {
  const root = mkdtempSync(join(tmpdir(), 'wf-grpc-'));
  const certs = join(root, 'certs');
  let t: TestApp;
  let port: number;
  let httpsPort: number;
  let withCertificate: ServiceClient;
  let withoutCertificate: ServiceClient;

  beforeAll(async () => {
    generateCertificates(certs);
    t = await startTestApp({
      env: {
        GRPC_ENABLED: 'true',
        CALLERS_FILE: callersFile(root),
        TLS_CERT_FILE: join(certs, 'server.crt'),
        TLS_KEY_FILE: join(certs, 'server.key'),
        TLS_CA_FILE: join(certs, 'ca.crt'),
        TLS_CRL_FILE: join(certs, 'ca.crl.pem'),
        TLS_CLIENT_AUTH: 'optional',
      },
      imports: [TestHandlersModule],
    });
    port = t.grpcPort ?? 0;
    httpsPort = (t.app.getHttpServer().address() as AddressInfo).port;
    withCertificate = openGrpcClient(port, tls(certs, 'client'));
    withoutCertificate = openGrpcClient(port, tls(certs));
  }, 60_000);

  afterAll(async () => {
    withCertificate?.close();
    withoutCertificate?.close();
    await t?.close();
    rmSync(root, { recursive: true, force: true });
  });

  it('binds a free port for GRPC_PORT=0', () => {
    expect(port).toBeGreaterThan(0);
  });

  it('fulfils GetAccountBalance for customer 12345 with the client certificate as the credential', async () => {
    const response = await unary<FulfillResponse>(withCertificate, 'Fulfill', balanceRequest({ requestId: 'grpc-1' }));
    expect(response).toMatchObject({
      requestId: 'grpc-1',
      outcome: 'OUTCOME_FULFILLED',
      text: expect.stringContaining('$3,247.82') as string,
    });
    expect(response.messages?.map((message) => message.message)).toEqual(['text', 'quickReplies']);
    expect(response.messages?.[0].text).toEqual({ text: 'Your checking account balance is $3,247.82.' });
    expect(response.messages?.[1].quickReplies).toMatchObject({ replies: ['Show recent transactions', 'No, thanks'] });
    expect(response.replayed).toBeFalsy();
  });

  it('relays a Dialogflow ES payload and answers exactly the bytes HTTPS answers', async () => {
    const body = readFileSync(ES_FIXTURE);
    const https = await httpsPost({
      port: httpsPort,
      body: body.toString('utf8'),
      ca: pem(certs, 'ca.crt'),
      cert: pem(certs, 'client.crt'),
      key: pem(certs, 'client.key'),
    });
    expect(https.status).toBe(200);
    const response = await unary<WebhookResponse>(withCertificate, 'HandleWebhook', {
      platform: 'dialogflow-es',
      json: body,
    });
    expect(response.status).toBe(200);
    expect(response.json.toString('utf8')).toBe(https.text);
    expect(https.text).toContain('$12,500.00');
  });

  it("relays the Rasa action server's own 404 answer with its status", async () => {
    const body = Buffer.from(JSON.stringify({ next_action: 'action_unknown', tracker: { sender_id: 's' } }));
    const https = await httpsPost({
      port: httpsPort,
      path: '/v1/webhooks/rasa',
      body: body.toString('utf8'),
      ca: pem(certs, 'ca.crt'),
      cert: pem(certs, 'client.crt'),
      key: pem(certs, 'client.key'),
    });
    const response = await unary<WebhookResponse>(withCertificate, 'HandleWebhook', { platform: 'rasa', json: body });
    expect(https.status).toBe(404);
    expect(response.status).toBe(404);
    expect(response.json.toString('utf8')).toBe(https.text);
  });

  it('carries every field of a rich result in typed form', async () => {
    const response = await unary<FulfillResponse>(
      withCertificate,
      'Fulfill',
      balanceRequest({
        intent: 'TestRich',
        contexts: [{ name: 'account-info', lifespan: 2, parameters: toStruct({ a: 1 }) }],
      }),
    );
    expect(response.outcome).toBe('OUTCOME_FULFILLED');
    expect(response.messages?.map((message) => Object.keys(message).find((key) => key !== 'message'))).toEqual([
      'text',
      'quickReplies',
      'card',
      'image',
      'payload',
    ]);
    expect(response.messages?.[2].card).toMatchObject({ title: 'Card', buttons: [{ text: 'Go', postback: 'go' }] });
    expect(fromStruct(response.messages?.[4].payload as ProtoStruct, 'payload', 64)).toEqual({
      custom: { nested: true },
    });
    expect(fromStruct(response.contexts?.[0].parameters, 'p', 64)).toEqual({ contexts: ['account-info'] });
    expect(response.followupEvent).toMatchObject({ name: 'NEXT_STEP', languageCode: 'en' });
    expect(fromStruct(response.followupEvent?.parameters, 'p', 64)).toEqual({ step: 2 });
    expect(fromStruct(response.payload, 'p', 64)).toEqual({ google: { expectUserResponse: true } });
  });

  it('keeps a null session value, which removes the key', async () => {
    const response = await unary<FulfillResponse>(
      withCertificate,
      'Fulfill',
      balanceRequest({ intent: 'TestConversation', parameters: toStruct({ feature: 'session' }) }),
    );
    expect(fromStruct(response.sessionParameters, 'p', 64)).toEqual({ visits: 1, obsolete: null });
  });

  it('accepts a bearer token in the metadata without a client certificate', async () => {
    const response = await unary<FulfillResponse>(
      withoutCertificate,
      'Fulfill',
      balanceRequest(),
      bearer(GENERIC_TOKEN),
    );
    expect(response.text).toContain('$3,247.82');
  });

  it('refuses a certificate from an unknown CA with UNAUTHENTICATED and audits why', async () => {
    const client = openGrpcClient(port, tls(certs, 'client-unknown'));
    try {
      const error = await failure(
        unary(client, 'Fulfill', balanceRequest(), bearer(GENERIC_TOKEN, { 'x-request-id': 'grpc-untrusted' })),
      );
      expect(error.code).toBe(status.UNAUTHENTICATED);
      expect(error.details).toBe('Missing or invalid credentials.');
      expect(error.metadata.get('x-request-id')).toEqual(['grpc-untrusted']);
      const row = await waitForAuditRow(t.database.url, (r) => r.request_id === 'grpc-untrusted');
      expect(row).toMatchObject({ event: 'authn_login_fail', method: 'mtls', reason: 'certificate-untrusted' });
    } finally {
      client.close();
    }
  });

  it('refuses a revoked certificate (CRL)', async () => {
    const client = openGrpcClient(port, tls(certs, 'client-revoked'));
    try {
      const error = await failure(unary(client, 'Fulfill', balanceRequest(), metadata({ 'x-request-id': 'grpc-rev' })));
      expect(error.code).toBe(status.UNAUTHENTICATED);
      const row = await waitForAuditRow(t.database.url, (r) => r.request_id === 'grpc-rev');
      expect(row.reason).toBe('certificate-revoked');
    } finally {
      client.close();
    }
  });

  it('refuses a bad bearer token with UNAUTHENTICATED and audits it', async () => {
    const error = await failure(
      unary(
        withoutCertificate,
        'Fulfill',
        balanceRequest(),
        bearer('not-a-known-token-0123456789', { 'x-request-id': 'grpc-bad-token' }),
      ),
    );
    expect(error.code).toBe(status.UNAUTHENTICATED);
    const row = await waitForAuditRow(t.database.url, (r) => r.request_id === 'grpc-bad-token');
    expect(row).toMatchObject({ event: 'authn_login_fail', method: 'bearer', reason: 'unknown-token' });
  });

  it('refuses a call with no credentials at all', async () => {
    const error = await failure(unary(withoutCertificate, 'Fulfill', balanceRequest()));
    expect(error.code).toBe(status.UNAUTHENTICATED);
  });

  it('refuses a platform the caller may not call with PERMISSION_DENIED', async () => {
    const fulfill = await failure(
      unary(withoutCertificate, 'Fulfill', balanceRequest(), bearer(ES_ONLY_TOKEN, { 'x-request-id': 'grpc-authz' })),
    );
    expect(fulfill.code).toBe(status.PERMISSION_DENIED);
    const row = await waitForAuditRow(t.database.url, (r) => r.request_id === 'grpc-authz');
    expect(row).toMatchObject({ event: 'authz_fail', caller_id: 'es-only', reason: 'platform-not-allowed' });

    const relay = await failure(
      unary(withCertificate, 'HandleWebhook', { platform: 'lex-v2', json: readFileSync(ES_FIXTURE) }),
    );
    expect(relay.code).toBe(status.PERMISSION_DENIED);
  });

  it('answers INVALID_ARGUMENT naming the invalid fields, without internals', async () => {
    const error = await failure(
      unary(withCertificate, 'Fulfill', { intent: 'GetAccountBalance', languageCode: 'english please' }),
    );
    expect(error.code).toBe(status.INVALID_ARGUMENT);
    expect(error.details).toBe(
      'FulfillRequest is invalid: session_id, language_code. session_id: is required; ' +
        'language_code: must be a language tag such as en or de-DE',
    );
    const nul = await failure(unary(withCertificate, 'Fulfill', balanceRequest({ sessionId: 'grpc\u0000session' })));
    expect(nul).toMatchObject({
      code: status.INVALID_ARGUMENT,
      details: 'FulfillRequest is invalid: session_id. session_id: must be text without control characters',
    });
    // PostgreSQL cannot store a NUL; a JSON body holding one is refused as well.
    const nulParameter = await failure(
      unary(
        withCertificate,
        'Fulfill',
        balanceRequest({ parameters: toStruct({ ...BALANCE, memo: ['ok', 'x\u0000'] }) }),
      ),
    );
    expect(nulParameter).toMatchObject({
      code: status.INVALID_ARGUMENT,
      details:
        'The request has a NUL character (\\u0000) in parameters.memo.1. ' +
        'parameters.memo.1: holds a NUL character (\\u0000)',
    });
    const nulContext = await failure(
      unary(
        withCertificate,
        'Fulfill',
        balanceRequest({ contexts: [{ name: 'ctx', lifespan: 2, parameters: toStruct({ 'note\u0000': 1 }) }] }),
      ),
    );
    expect(nulContext).toMatchObject({
      code: status.INVALID_ARGUMENT,
      details:
        'The request has a NUL character (\\u0000) in contexts.0.parameters.note\u0000. ' +
        'contexts.0.parameters.note\u0000: holds a NUL character (\\u0000)',
    });
    const stage = await failure(unary(withCertificate, 'Fulfill', balanceRequest({ stage: 7 })));
    expect(stage.code).toBe(status.INVALID_ARGUMENT);
    expect(stage.details).toMatch(/^FulfillRequest is invalid: stage\. stage: must be one of/);
  });

  it('answers INVALID_ARGUMENT for a relayed payload that is not JSON, invalid, or for an unknown platform', async () => {
    const notJson = await failure(
      unary(withCertificate, 'HandleWebhook', { platform: 'dialogflow-es', json: Buffer.from('{nope') }),
    );
    expect(notJson).toMatchObject({ code: status.INVALID_ARGUMENT, details: 'The request body is not valid JSON.' });
    const bare = await failure(
      unary(withCertificate, 'HandleWebhook', { platform: 'dialogflow-es', json: Buffer.from('null') }),
    );
    expect(bare).toMatchObject({
      code: status.INVALID_ARGUMENT,
      details: 'The request body must be a JSON object, not a bare JSON null.',
    });
    const invalid = await failure(
      unary(withCertificate, 'HandleWebhook', { platform: 'dialogflow-es', json: Buffer.from('{"session":1}') }),
    );
    expect(invalid.code).toBe(status.INVALID_ARGUMENT);
    expect(invalid.details).toMatch(/^Dialogflow ES WebhookRequest is invalid: .*session: /);
    const platform = await failure(
      unary(withCertificate, 'HandleWebhook', { platform: 'telegram', json: Buffer.from('{}') }),
    );
    expect(platform.code).toBe(status.INVALID_ARGUMENT);
    expect(platform.details).toMatch(/platform: must be one of dialogflow-es/);
  });

  it('refuses an ambiguous relayed payload as over HTTP: a repeated key, a prototype key, bytes that are not UTF-8', async () => {
    const relay = (json: Buffer) => failure(unary(withCertificate, 'HandleWebhook', { platform: 'generic', json }));
    const repeated = await relay(
      Buffer.from('{"sessionId":"s","intent":"x","parameters":{"amount":1,"\\u0061mount":900}}'),
    );
    expect(repeated.code).toBe(status.INVALID_ARGUMENT);
    expect(repeated.details).toMatch(/parameters\.amount/);
    const prototype = await relay(Buffer.from('{"sessionId":"s","intent":"x","\\u005f_proto__":{"admin":true}}'));
    expect(prototype.code).toBe(status.INVALID_ARGUMENT);
    expect(prototype.details).toMatch(/__proto__/);
    const notUtf8 = await relay(Buffer.from([0x7b, 0x22, 0xc0, 0xaf, 0x22, 0x3a, 0x31, 0x7d]));
    expect(notUtf8).toMatchObject({ code: status.INVALID_ARGUMENT, details: 'The request body is not valid UTF-8.' });
    // A repeated key that is a lone surrogate, and one whose path is cut inside an emoji's surrogate pair: the status
    // message names them well-formed (grpc-js percent-encodes it with encodeURI, which throws on a lone surrogate,
    // and that throw ended the process).
    const lone = await relay(Buffer.from('{"sessionId":"s","intent":"x","\\ud800":1,"\\ud800":2}'));
    expect(lone).toMatchObject({
      code: status.INVALID_ARGUMENT,
      details: expect.stringContaining('\ufffd: is a duplicate key'),
    });
    const cut = await relay(
      Buffer.from(`{"sessionId":"s","intent":"x","${'x'.repeat(199)}😀":1,"${'x'.repeat(199)}😀":2}`),
    );
    expect(cut.code).toBe(status.INVALID_ARGUMENT);
    expect(cut.details).toContain(`${'x'.repeat(199)}…: is a duplicate key`);
    // The server lived through both.
    const served = await unary<FulfillResponse>(
      withCertificate,
      'Fulfill',
      balanceRequest({ requestId: 'grpc-after' }),
    );
    expect(served.outcome).toBe('OUTCOME_FULFILLED');
  });

  /** Sends bytes written by hand as a Fulfill request; resolves with the encoded reply. */
  const rawFulfill = (bytes: number[]) =>
    new Promise<Buffer>((resolve, reject) =>
      withCertificate.makeUnaryRequest(
        '/fulfillment.v1.FulfillmentService/Fulfill',
        (message: Buffer) => message,
        (reply: Buffer) => reply,
        Buffer.from(bytes),
        new Metadata(),
        (error, reply) => (error ? reject(error) : resolve(reply as Buffer)),
      ),
    );

  it('refuses a typed Fulfill whose Struct repeats a key on the wire (decoding keeps the last) or has a prototype key', async () => {
    // Written by hand: protobufjs never writes a map key twice, an attacker's encoder may.
    const entry = (key: string, value: string) =>
      wireField(1, [...wireField(1, wireText(key)), ...wireField(2, wireField(3, wireText(value)))]);
    const request = (...entries: number[][]) => [
      ...wireField(2, wireText('grpc-session')),
      ...wireField(3, wireText('TransferFunds')),
      ...wireField(4, [...entry('user_id', '12345'), ...entries.flat()]),
    ];
    const repeated = await failure(rawFulfill(request(entry('amount', '1.00'), entry('amount', '9.00'))));
    expect(repeated).toMatchObject({
      code: status.INVALID_ARGUMENT,
      details: expect.stringContaining('The request repeats the key parameters.amount.'),
    });
    const prototype = await failure(rawFulfill(request(entry('constructor', 'x'))));
    expect(prototype).toMatchObject({
      code: status.INVALID_ARGUMENT,
      details: expect.stringContaining('The request has a key that is not allowed: parameters.constructor.'),
    });
  });

  it('refuses a typed Fulfill that hides what the check reads: a scalar sent length-delimited, a Struct sent twice', async () => {
    const entry = (key: string, value: number[]) =>
      wireField(1, [...wireField(1, wireText(key)), ...wireField(2, value)]);
    const text = (value: string) => wireField(3, wireText(value));
    const repeatedKey = [...entry('amount', text('1.00')), ...entry('amount', text('9.00'))];
    const turn = (...fields: number[][]) => [
      ...wireField(2, wireText('grpc-session')),
      ...wireField(3, wireText('GetAccountBalance')),
      ...fields.flat(),
    ];
    const balance = wireField(4, [...entry('user_id', text('12345')), ...entry('account_type', text('checking'))]);
    const refusals: [number[], string][] = [
      // number_value (a double) sent length-delimited: protobufjs reads 8 bytes as the number, then the string after
      // them as the same Value's string_value, which a proxy in front never saw.
      [
        turn(wireField(4, entry('user_id', wireField(2, [0, 0, 0, 0, 0, 0, 0, ...text('12345')])))),
        'number_value of parameters.user_id with wire type 2',
      ],
      // A context's lifespan (a varint) sent length-delimited, holding parameters that repeat a key.
      [
        turn(balance, wireField(5, [...wireField(1, wireText('c')), ...wireField(2, wireField(3, repeatedKey))])),
        'contexts.0.lifespan with wire type 2',
      ],
      // parameters twice: protobufjs keeps the second alone, protobuf (Go, C++, Java, a proxy) merges the two.
      [
        turn(wireField(4, entry('user_id', text('12345'))), wireField(4, entry('account_type', text('savings')))),
        'parameters occurs twice',
      ],
    ];
    for (const [bytes, reason] of refusals) {
      expect(await failure(rawFulfill(bytes))).toMatchObject({
        code: status.INVALID_ARGUMENT,
        details: expect.stringContaining(`The request is not a FulfillRequest that can be decoded: ${reason}.`),
      });
    }
    // The same turn encoded as an encoder writes it is answered.
    expect((await rawFulfill(turn(balance))).toString('latin1')).toContain('$3,247.82');
  });

  it('throttles per caller with RESOURCE_EXHAUSTED and a retry-after trailer', async () => {
    await unary(withoutCertificate, 'Fulfill', balanceRequest(), bearer(LIMITED_TOKEN));
    await unary(withoutCertificate, 'Fulfill', balanceRequest(), bearer(LIMITED_TOKEN));
    const error = await failure(
      unary(withoutCertificate, 'Fulfill', balanceRequest(), bearer(LIMITED_TOKEN, { 'x-request-id': 'grpc-429' })),
    );
    expect(error.code).toBe(status.RESOURCE_EXHAUSTED);
    expect(Number(error.metadata.get('retry-after')[0])).toBeGreaterThan(0);
    const row = await waitForAuditRow(t.database.url, (r) => r.request_id === 'grpc-429');
    expect(row).toMatchObject({ event: 'excess_rate_limit_exceeded', caller_id: 'limited' });
  });

  it("answers within the caller's deadline: the handler budget is the deadline minus a margin", async () => {
    try {
      const response = await unary<FulfillResponse>(
        withCertificate,
        'Fulfill',
        balanceRequest({ intent: 'TestSlow' }),
        new Metadata(),
        1500,
      );
      // The interim reply within the client's own 1500 ms deadline (past it, the call would fail DEADLINE_EXCEEDED).
      expect(response.outcome).toBe('OUTCOME_TIMED_OUT');
    } finally {
      t.app.get(SlowHandler).releaseNow();
    }
  });

  it('answers a call with a deadline 30 days away (grpc-js took its timeout as already past)', async () => {
    // grpc-js turns grpc-timeout into a 32-bit millisecond count: 2592000S wrapped round to a negative timeout.
    const response = await unary<FulfillResponse>(
      withCertificate,
      'Fulfill',
      balanceRequest(),
      new Metadata(),
      30 * 86_400_000,
    );
    expect(response.text).toContain('$3,247.82');
  });

  it('answers DEADLINE_EXCEEDED when the deadline leaves no time', async () => {
    const error = await failure(unary(withCertificate, 'Fulfill', balanceRequest(), new Metadata(), 50));
    expect(error.code).toBe(status.DEADLINE_EXCEEDED);
  });

  it('accepts a Standard Webhooks signature over the relayed bytes, and binds its webhook-id to them', async () => {
    const json = readFileSync(ES_FIXTURE);
    const id = `msg_${randomBytes(8).toString('hex')}`;
    const timestamp = String(Math.floor(Date.now() / 1000));
    const signature = createHmac('sha256', SIGNING_KEY).update(`${id}.${timestamp}.`).update(json).digest('base64');
    const signed = () =>
      metadata({ 'webhook-id': id, 'webhook-timestamp': timestamp, 'webhook-signature': `v1,${signature}` });
    const response = await unary<WebhookResponse>(
      withoutCertificate,
      'HandleWebhook',
      { platform: 'dialogflow-es', json },
      signed(),
    );
    expect(response.status).toBe(200);
    // A redelivery of the same bytes goes through; other bytes signed under the same id are refused.
    const again = await unary<WebhookResponse>(
      withoutCertificate,
      'HandleWebhook',
      { platform: 'dialogflow-es', json },
      signed(),
    );
    expect(again.status).toBe(200);
    const other = Buffer.from(json.toString('utf8').replace('"12345"', '"12346"'));
    expect(other.equals(json)).toBe(false);
    const otherSignature = createHmac('sha256', SIGNING_KEY)
      .update(`${id}.${timestamp}.`)
      .update(other)
      .digest('base64');
    const reused = await failure(
      unary(
        withoutCertificate,
        'HandleWebhook',
        { platform: 'dialogflow-es', json: other },
        metadata({ 'webhook-id': id, 'webhook-timestamp': timestamp, 'webhook-signature': `v1,${otherSignature}` }),
      ),
    );
    expect(reused.code).toBe(status.FAILED_PRECONDITION);
    // Fulfill has no signed bytes: a signature there is no credential.
    const fulfill = await failure(unary(withoutCertificate, 'Fulfill', balanceRequest(), signed()));
    expect(fulfill.code).toBe(status.UNAUTHENTICATED);
  });

  it('keys a signed generic turn without an id by its webhook-id, as over HTTP: its redelivery is a replay', async () => {
    const id = `msg_${randomBytes(8).toString('hex')}`;
    const { requestId: _none, ...body } = transferTurnBody('unused', '12345', 1n);
    const json = Buffer.from(JSON.stringify(body));
    const timestamp = String(Math.floor(Date.now() / 1000));
    const signature = createHmac('sha256', SIGNING_KEY).update(`${id}.${timestamp}.`).update(json).digest('base64');
    const send = () =>
      unary<WebhookResponse>(
        withoutCertificate,
        'HandleWebhook',
        { platform: 'generic', json },
        metadata({ 'webhook-id': id, 'webhook-timestamp': timestamp, 'webhook-signature': `v1,${signature}` }),
      );
    const first = await send();
    expect(first).toMatchObject({ status: 200, replayed: false });
    expect(JSON.parse(first.json.toString('utf8'))).toMatchObject({ requestId: id });
    const again = await send();
    expect(again).toMatchObject({ status: 200, replayed: true });
    expect(again.json.equals(first.json)).toBe(true);
  });

  it('does not take an unsigned webhook-id as the turn key of a Fulfill call (nothing vouches for it)', async () => {
    const transfer = {
      sessionId: 'grpc-unsigned-webhook-id',
      intent: 'TransferFunds',
      stage: 'STAGE_FULFILLMENT',
      confirmation: 'CONFIRMATION_CONFIRMED',
      parameters: toStruct({ user_id: '12345', from_account: 'checking', to_account: 'savings', amount: 1 }),
    };
    const refused = await failure(
      unary(withoutCertificate, 'Fulfill', transfer, bearer(GENERIC_TOKEN, { 'webhook-id': 'x'.repeat(4000) })),
    );
    expect(refused.code).toBe(status.INVALID_ARGUMENT);
    expect(refused.details).toMatch(/idempotency-key: is required for intent "TransferFunds"/);
  });

  it('answers grpc.health.v1 Check for the server and the service, NOT_FOUND for another name', async () => {
    const health = openGrpcClient(port, tls(certs), proto.grpc.health.v1.Health);
    try {
      await expect(unary(health, 'Check', {})).resolves.toEqual({ status: 'SERVING' });
      await expect(unary(health, 'Check', { service: 'fulfillment.v1.FulfillmentService' })).resolves.toEqual({
        status: 'SERVING',
      });
      expect((await failure(unary(health, 'Check', { service: 'nope' }))).code).toBe(status.NOT_FOUND);
    } finally {
      health.close();
    }
  });
});

describe('gRPC with TLS_CLIENT_AUTH=require and certificate reload', () => {
  const root = mkdtempSync(join(tmpdir(), 'wf-grpc-require-'));
  const setA = join(root, 'a');
  const setB = join(root, 'b');
  const live = join(root, 'live');
  let t: TestApp;
  let port: number;

  const fulfillment = (channel: ChannelCredentials) => openGrpcClient(port, channel);

  beforeAll(async () => {
    generateCertificates(setA);
    generateCertificates(setB);
    mkdirSync(live);
    for (const file of ['server.crt', 'server.key', 'ca.crt', 'ca.crl.pem']) {
      copyFileSync(join(setA, file), join(live, file));
    }
    t = await startTestApp({
      env: {
        GRPC_ENABLED: 'true',
        CALLERS_FILE: callersFile(root),
        TLS_CERT_FILE: join(live, 'server.crt'),
        TLS_KEY_FILE: join(live, 'server.key'),
        TLS_CA_FILE: join(live, 'ca.crt'),
        TLS_CRL_FILE: join(live, 'ca.crl.pem'),
        TLS_CLIENT_AUTH: 'require',
        TLS_RELOAD_INTERVAL_MS: '200',
      },
    });
    port = t.grpcPort ?? 0;
  }, 60_000);

  afterAll(async () => {
    await t?.close();
    rmSync(root, { recursive: true, force: true });
  });

  it('serves a caller with a trusted certificate', async () => {
    const client = fulfillment(tls(setA, 'client'));
    try {
      const response = await unary<FulfillResponse>(client, 'Fulfill', balanceRequest());
      expect(response.text).toContain('$3,247.82');
    } finally {
      client.close();
    }
  });

  it.each([
    ['no certificate', undefined, 'certificate-required'],
    ['a certificate from an unknown CA', 'client-unknown', 'certificate-untrusted'],
    ['an expired certificate', 'client-expired', 'certificate-expired'],
    ['a revoked certificate', 'client-revoked', 'certificate-revoked'],
  ])(
    'closes a connection with %s before any call is read (UNAVAILABLE) and audits why',
    async (_label, name, reason) => {
      const client = fulfillment(tls(setA, name));
      try {
        const error = await failure(unary(client, 'Fulfill', balanceRequest(), bearer(GENERIC_TOKEN)));
        expect(error.code).toBe(status.UNAVAILABLE);
        const row = await waitForAuditRow(
          t.database.url,
          (r) => r.reason === reason && (r.detail ?? '').startsWith('grpc'),
        );
        expect(row).toMatchObject({ event: 'authn_login_fail', method: 'mtls' });
      } finally {
        client.close();
      }
    },
  );

  it('runs a state-changing turn once per request_id: replayed, then FAILED_PRECONDITION for another body', async () => {
    const client = fulfillment(tls(setA, 'client'));
    const transfer = (amount: number) => ({
      requestId: 'grpc-transfer-1',
      sessionId: 'grpc-transfer',
      intent: 'TransferFunds',
      stage: 'STAGE_FULFILLMENT',
      confirmation: 'CONFIRMATION_CONFIRMED',
      parameters: toStruct({ user_id: '12345', from_account: 'checking', to_account: 'savings', amount }),
    });
    try {
      const first = await unary<FulfillResponse>(client, 'Fulfill', transfer(1));
      expect(first.outcome).toBe('OUTCOME_FULFILLED');
      expect(first.replayed).toBeFalsy();
      const again = await unary<FulfillResponse>(client, 'Fulfill', transfer(1));
      expect(again).toMatchObject({ text: first.text, replayed: true });
      const reused = await failure(unary(client, 'Fulfill', transfer(2)));
      expect(reused.code).toBe(status.FAILED_PRECONDITION);
    } finally {
      client.close();
    }
  });

  it('follows a trust store change: new CA trusted, connections verified under the old one drained', async () => {
    const oldClient = fulfillment(tls(setA, 'client'));
    // Set B's client certificate, while the server keeps set A's own certificate (so the client trusts set A's CA).
    const newClient = fulfillment(tls(setB, 'client', setA));
    try {
      await unary(oldClient, 'Fulfill', balanceRequest());
      const lastId = Math.max(0, ...(await auditRows(t.database.url)).map((row) => Number(row.id)));
      for (const file of ['ca.crt', 'ca.crl.pem']) {
        // Each file appears whole, as a Kubernetes secret update makes it.
        copyFileSync(join(setB, file), join(live, `.${file}.new`));
        renameSync(join(live, `.${file}.new`), join(live, file));
      }

      let served = false;
      for (let attempt = 0; attempt < 50 && !served; attempt++) {
        served = await unary(newClient, 'Fulfill', balanceRequest()).then(
          () => true,
          () => new Promise<boolean>((resolve) => setTimeout(() => resolve(false), 100)),
        );
      }
      expect(served).toBe(true);
      const error = await failure(unary(oldClient, 'Fulfill', balanceRequest()));
      expect(error.code).toBe(status.UNAVAILABLE);
      const reload = await waitForAuditRow(
        t.database.url,
        (row) => Number(row.id) > lastId && row.event === 'sys_config_reload',
      );
      expect(reload).toMatchObject({ reason: 'tls', detail: 'trust store changed' });
    } finally {
      oldClient.close();
      newClient.close();
    }
  });

  it('never resumes a TLS session, also after a reload (each connection verifies its certificate)', async () => {
    const handshake = (session?: Buffer) =>
      new Promise<{ reused: boolean; session?: Buffer }>((resolve, reject) => {
        const socket = connect({
          host: '127.0.0.1',
          port,
          servername: 'localhost',
          ca: pem(setA, 'ca.crt'),
          cert: pem(setB, 'client.crt'),
          key: pem(setB, 'client.key'),
          ALPNProtocols: ['h2'],
          session,
        });
        let issued: Buffer | undefined;
        socket.on('session', (ticket: Buffer) => (issued = ticket));
        socket.once('error', reject);
        socket.once('secureConnect', () =>
          // TLS 1.3 sends the session after the handshake.
          setTimeout(() => {
            const reused = socket.isSessionReused();
            socket.destroy();
            resolve({ reused, session: issued });
          }, 150),
        );
      });
    const first = await handshake();
    expect(first.session).toBeDefined();
    expect((await handshake(first.session)).reused).toBe(false);
  });
});

describe('gRPC without TLS (local development)', () => {
  let t: TestApp;
  let port: number;

  beforeAll(async () => {
    t = await startTestApp({ env: { GRPC_ENABLED: 'true' }, imports: [DatedHandlerModule] });
    port = t.grpcPort ?? 0;
  });

  afterAll(() => t?.close());

  it('refuses a call carrying authorization twice (which node:http2 would reduce to the first), and audits it', async () => {
    // grpc-js will not send this; a raw HTTP/2 client does. An empty FulfillRequest is enough: the guard runs first.
    const call = (requestId: string, tokens: readonly string[]) =>
      rawH2cRequest(
        port,
        [
          [':method', 'POST'],
          [':scheme', 'http'],
          [':path', '/fulfillment.v1.FulfillmentService/Fulfill'],
          [':authority', `127.0.0.1:${port}`],
          ['content-type', 'application/grpc'],
          ['te', 'trailers'],
          ['x-request-id', requestId],
          ...tokens.map((token) => ['authorization', `Bearer ${token}`] as const),
        ],
        Buffer.from([0, 0, 0, 0, 0]),
      );
    const twice = await call('grpc-raw-two-tokens', ['local-dev-token', 'local-dev-token']);
    // Refused before any answer: a trailers-only HEADERS frame ends the stream, no DATA.
    expect(twice).toEqual([{ type: H2_FRAME.HEADERS, flags: H2_FLAG.END_HEADERS | H2_FLAG.END_STREAM }]);
    const row = await waitForAuditRow(t.database.url, (r) => r.request_id === 'grpc-raw-two-tokens');
    expect(row).toMatchObject({ event: 'input_validation_fail', reason: 'duplicate-header' });

    // The same raw call with one token is authenticated (and refused later, for its empty request).
    await call('grpc-raw-one-token', ['local-dev-token']);
    const rows = await auditRows(t.database.url);
    expect(rows.filter((r) => r.request_id === 'grpc-raw-one-token')).toEqual([]);
  });

  it('serves the local development token over plaintext on loopback', async () => {
    const client = openGrpcClient(port, credentials.createInsecure());
    try {
      const response = await unary<FulfillResponse>(client, 'Fulfill', balanceRequest(), bearer('local-dev-token'));
      expect(response.text).toContain('$3,247.82');
    } finally {
      client.close();
    }
  });

  it('answers a fresh turn as its replay: a date in the payload is its text, not an empty Struct', async () => {
    const client = openGrpcClient(port, credentials.createInsecure());
    const dated = { requestId: 'grpc-dated-1', intent: 'TestDated' };
    try {
      const fresh = await unary<FulfillResponse>(client, 'Fulfill', balanceRequest(dated), bearer('local-dev-token'));
      const replay = await unary<FulfillResponse>(client, 'Fulfill', balanceRequest(dated), bearer('local-dev-token'));
      expect(replay.replayed).toBe(true);
      expect(fresh.replayed).toBe(false);
      for (const answer of [fresh, replay]) {
        expect(fromStruct(answer.payload, 'payload', 10)).toEqual({ at: '2026-03-04T05:06:07.000Z' });
      }
    } finally {
      client.close();
    }
  });

  it('reads a grpc-timeout sent twice or with 9 digits as meant, and refuses one that is not digits and a unit', async () => {
    // grpc-js read the first of two values unadapted (30 days wrapped round into the past), 8 of 9 digits
    // (300000000S as 0 s) and the digits and unit it found in any text (x0S as 0 s): DEADLINE_EXCEEDED at once.
    const session = connectHttp2(`http://127.0.0.1:${port}`);
    session.on('error', () => undefined);
    const call = (timeout: string | string[]) =>
      rawGrpcCall(
        session,
        { authorization: 'Bearer local-dev-token', 'grpc-timeout': timeout },
        encodedBalanceRequest(),
      );
    try {
      for (const timeout of [['2592000S', '2592000S'], ['2592000S', '20S'], '300000000S', '000000020S']) {
        expect(await call(timeout)).toMatchObject({ grpcStatus: String(status.OK) });
      }
      for (const timeout of ['x0S', '0.5S']) {
        expect(await call(timeout)).toMatchObject({
          grpcStatus: String(status.INTERNAL),
          grpcMessage: 'Invalid grpc-timeout value "malformed"',
        });
      }
    } finally {
      session.close();
    }
  });

  it('describes the services by server reflection, imports included (what grpcurl and buf curl need)', async () => {
    const client = openGrpcClient(port, credentials.createInsecure(), proto.grpc.reflection.v1.ServerReflection);
    const stream = (
      client as unknown as { ServerReflectionInfo(): NodeJS.ReadWriteStream & { write(message: object): boolean } }
    ).ServerReflectionInfo();
    const ask = <T>(request: object): Promise<T> =>
      new Promise<T>((resolve, reject) => {
        stream.once('data', resolve);
        stream.once('error', reject);
        stream.write(request);
      });
    try {
      const list = await ask<{ listServicesResponse: { service: { name: string }[] } }>({ listServices: '*' });
      expect(list.listServicesResponse.service.map((service) => service.name).sort()).toEqual([
        'fulfillment.v1.FulfillmentService',
        'grpc.health.v1.Health',
      ]);
      const found = await ask<{ fileDescriptorResponse: { fileDescriptorProto: Buffer[] } }>({
        fileContainingSymbol: 'fulfillment.v1.FulfillmentService',
      });
      const files = found.fileDescriptorResponse.fileDescriptorProto.map(
        (bytes) => FileDescriptorProto.decode(bytes) as unknown as IFileDescriptorProto,
      );
      expect(files.map((file) => [file.name, (file.dependency as string[] | undefined) ?? []])).toEqual([
        ['fulfillment_v1.proto', ['google/protobuf/struct.proto']],
        ['google/protobuf/struct.proto', []],
      ]);
      expect(files[0].service?.[0].method?.map((method) => method.name)).toEqual(['Fulfill', 'HandleWebhook']);
    } finally {
      stream.end();
      client.close();
    }
  });

  it('tells clients how many calls one connection may have in flight (unlimited by default in Node)', async () => {
    const session = connectHttp2(`http://127.0.0.1:${port}`);
    try {
      const settings = await new Promise<Http2Settings>((resolve) => session.once('remoteSettings', resolve));
      expect(settings.maxConcurrentStreams).toBe(MAX_CONCURRENT_STREAMS);
    } finally {
      session.close();
    }
  });

  it('streams health changes with Watch: NOT_SERVING once draining starts', async () => {
    const client = openGrpcClient(port, credentials.createInsecure(), proto.grpc.health.v1.Health);
    const stream = client.Watch({ service: '' });
    const seen: string[] = [];
    try {
      const notServing = new Promise<void>((resolve, reject) => {
        stream.on('data', (message: { status: string }) => {
          seen.push(message.status);
          if (message.status === 'SERVING') t.app.get(Readiness).startDraining();
          if (message.status === 'NOT_SERVING') resolve();
        });
        stream.on('error', (error: ServiceError) => {
          if (error.code !== status.CANCELLED) reject(error);
        });
      });
      await notServing;
      expect(seen).toEqual(['SERVING', 'NOT_SERVING']);
    } finally {
      stream.cancel();
      client.close();
    }
  });

  it('closes on shutdown: open Watch streams end, a call whose request never ends is cut after the time given, new calls are refused', async () => {
    const health = openGrpcClient(port, credentials.createInsecure(), proto.grpc.health.v1.Health);
    const fulfillment = openGrpcClient(port, credentials.createInsecure());
    // A client that sent a call's headers and never the end of its request: grpc-js would wait for it for ever.
    const stalled = connectHttp2(`http://127.0.0.1:${port}`);
    stalled.on('error', () => undefined);
    try {
      const stream = health.Watch({ service: '' });
      const ended = new Promise<void>((resolve) => {
        stream.on('data', () => undefined);
        stream.on('end', resolve);
        stream.on('error', () => resolve());
      });
      await new Promise((resolve) => stream.once('data', resolve));
      const call = stalled.request(
        {
          ':method': 'POST',
          ':path': '/fulfillment.v1.FulfillmentService/Fulfill',
          'content-type': 'application/grpc',
          te: 'trailers',
          // With a credential: a call without one is refused from its headers, before its request is awaited.
          authorization: 'Bearer local-dev-token',
        },
        { endStream: false },
      );
      call.on('error', () => undefined);
      let grpcStatus: unknown;
      call.on('response', (headers) => (grpcStatus ??= headers['grpc-status']));
      call.on('trailers', (trailers: Record<string, unknown>) => (grpcStatus ??= trailers['grpc-status']));
      const cut = new Promise<void>((resolve) => call.on('close', resolve));
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(await t.app.get(GrpcEndpoint).close(1_000)).toBe(false);
      await ended;
      await cut;
      // Told UNAVAILABLE, which clients retry on another replica, before its connection went (CANCELLED they do not).
      expect(grpcStatus).toBe(String(status.UNAVAILABLE));
      const error = await failure(unary(fulfillment, 'Fulfill', balanceRequest(), bearer('local-dev-token')));
      expect(error.code).toBe(status.UNAVAILABLE);
    } finally {
      stalled.destroy();
      health.close();
      fulfillment.close();
    }
  });
});

describe('gRPC without server reflection (GRPC_REFLECTION=false)', () => {
  let t: TestApp;
  let port: number;

  beforeAll(async () => {
    t = await startTestApp({ env: { GRPC_ENABLED: 'true', GRPC_REFLECTION: 'false' } });
    port = t.grpcPort ?? 0;
  });

  afterAll(() => t?.close());

  it('does not describe its services to anyone, and serves them and the health service as before', async () => {
    const reflection = openGrpcClient(port, credentials.createInsecure(), proto.grpc.reflection.v1.ServerReflection);
    const health = openGrpcClient(port, credentials.createInsecure(), proto.grpc.health.v1.Health);
    const fulfillment = openGrpcClient(port, credentials.createInsecure());
    try {
      const stream = (
        reflection as unknown as {
          ServerReflectionInfo(): NodeJS.ReadWriteStream & { write(message: object): boolean };
        }
      ).ServerReflectionInfo();
      const refused = await new Promise<{ code: number }>((resolve, reject) => {
        stream.once('data', () => reject(new Error('reflection answered')));
        stream.once('error', resolve);
        stream.write({ listServices: '*' });
      });
      expect(refused.code).toBe(status.UNIMPLEMENTED);
      await expect(unary(health, 'Check', {})).resolves.toEqual({ status: 'SERVING' });
      const answer = await unary<FulfillResponse>(fulfillment, 'Fulfill', balanceRequest(), bearer('local-dev-token'));
      expect(answer.outcome).toBe('OUTCOME_FULFILLED');
    } finally {
      reflection.close();
      health.close();
      fulfillment.close();
    }
  });
});

describe('gRPC connections that grow old (GRPC_MAX_CONNECTION_AGE_MS)', () => {
  let t: TestApp;
  let port: number;

  beforeAll(async () => {
    t = await startTestApp({ env: { GRPC_ENABLED: 'true', GRPC_MAX_CONNECTION_AGE_MS: '1000' } });
    port = t.grpcPort ?? 0;
  });

  afterAll(() => t?.close());

  it('asks a client to reconnect once its connection is old (GOAWAY), and the client goes on calling on a new one', async () => {
    const session = connectHttp2(`http://127.0.0.1:${port}`);
    session.on('error', () => undefined);
    const client = openGrpcClient(port, credentials.createInsecure());
    try {
      const goaway = await new Promise<number>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('no GOAWAY within 5 s')), 5_000);
        session.once('goaway', (code: number) => {
          clearTimeout(timer);
          resolve(code);
        });
      });
      expect(goaway).toBe(0); // NO_ERROR: a graceful request to reconnect
      for (let call = 0; call < 3; call++) {
        const answer = await unary<FulfillResponse>(client, 'Fulfill', balanceRequest(), bearer('local-dev-token'));
        expect(answer.outcome).toBe('OUTCOME_FULFILLED');
        await new Promise((resolve) => setTimeout(resolve, 700));
      }
    } finally {
      session.destroy();
      client.close();
    }
  });
});

describe('gRPC calls whose request does not arrive in full (HTTP_REQUEST_TIMEOUT_MS)', () => {
  const TIMEOUT_MS = 1000;
  let t: TestApp;
  let port: number;

  beforeAll(async () => {
    t = await startTestApp({ env: { GRPC_ENABLED: 'true', HTTP_REQUEST_TIMEOUT_MS: String(TIMEOUT_MS) } });
    port = t.grpcPort ?? 0;
  });

  afterAll(() => t?.close());

  it('ends such a call with DEADLINE_EXCEEDED, before any guard, and resets its stream (grpc-js held it for ever)', async () => {
    const session = connectHttp2(`http://127.0.0.1:${port}`);
    session.on('error', () => undefined);
    const announced = Buffer.alloc(5);
    announced.writeUInt32BE(1024 * 1024, 1);
    // With a credential: a call without one is refused from its headers, before its request is awaited.
    const partial = (body: Buffer) =>
      rawGrpcCall(session, { authorization: 'Bearer local-dev-token' }, body, { end: false, waitMs: 4 * TIMEOUT_MS });
    try {
      const started = performance.now();
      const answers = await Promise.all([
        // A message announced at 1 MiB, and what flow control lets through of it; headers alone; all of a message
        // but the end of the request. The guards never see them.
        ...Array.from({ length: 20 }, () => partial(Buffer.concat([announced, Buffer.alloc(60_000)]))),
        partial(Buffer.alloc(0)),
        partial(encodedBalanceRequest()),
      ]);
      for (const answer of answers) {
        expect(answer).toMatchObject({
          grpcStatus: String(status.DEADLINE_EXCEEDED),
          grpcMessage: `The request did not arrive in full within ${TIMEOUT_MS} ms.`,
          rstCode: 0,
        });
      }
      expect(performance.now() - started).toBeGreaterThanOrEqual(TIMEOUT_MS - 50);
      // The connection goes on serving calls whose request arrives.
      const served = await rawGrpcCall(session, { authorization: 'Bearer local-dev-token' }, encodedBalanceRequest());
      expect(served).toMatchObject({ grpcStatus: String(status.OK) });
    } finally {
      session.close();
    }
  });

  it('leaves alone a call whose request arrived, however long its answer takes (a health Watch)', async () => {
    const health = openGrpcClient(port, credentials.createInsecure(), proto.grpc.health.v1.Health);
    const stream = health.Watch({ service: '' });
    try {
      const ended = new Promise<string>((resolve) => {
        stream.on('error', (error: ServiceError) => resolve(status[error.code]));
        stream.on('end', () => resolve('end'));
      });
      stream.on('data', () => undefined);
      const quiet = new Promise<string>((resolve) => setTimeout(() => resolve('still open'), 2 * TIMEOUT_MS));
      expect(await Promise.race([ended, quiet])).toBe('still open');
    } finally {
      stream.cancel();
      health.close();
    }
  });
});
