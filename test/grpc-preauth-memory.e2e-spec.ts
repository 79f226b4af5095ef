/**
 * What gRPC calls may hold before their caller is known. grpc-js read a call's whole request (up to the message size
 * limit) before any guard ran and waited HTTP_REQUEST_TIMEOUT_MS (30 s) for its end: one connection with 100
 * credential-less HandleWebhook streams, each sending 1 MiB without ending its request, held about 200 MiB; three
 * such connections went past the chart's 512 MiB. The real application; the flooding client runs in a child
 * process (a raw node:http2 client), so the memory measured here is the server's alone.
 */
import { credentials, status } from '@grpc/grpc-js';
import { spawn } from 'node:child_process';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { waitForAuditRow } from './support/audit-events';
import { toStruct } from '../src/grpc/struct';
import { grpcMetadata, grpcServices as proto, openGrpcClient, rawUnary, unary } from './support/grpc-client';
import { startTestApp, type TestApp } from './support/test-app';

const MIB = 1024 * 1024;

setFlagsFromString('--expose-gc');
const collectGarbage = runInNewContext('gc') as () => void;

/** Memory outside the JS heap (Buffers: what HTTP/2 data frames become), after a full collection. */
function externalBytes(): number {
  collectGarbage();
  return process.memoryUsage().external;
}

interface FloodResult {
  /** Each stream's grpc-status (as a string), or `none` when it had none when the client stopped. */
  readonly statuses: string[];
  /** Each stream's grpc-message, in the same order. */
  readonly messages: string[];
  /** When each stream's status came, in ms from the start (Infinity: none). */
  readonly answeredAfterMs: number[];
}

/**
 * The reviewer's flood, from a child process: `connections` HTTP/2 connections, `streams` calls on each, each sending a
 * whole framed HandleWebhook message of `bytes` without ending its request. `whileHeld` runs, with the flood still in
 * place, once the server has dealt with every stream (answered it, or read all its bytes: HTTP/2 flow control lets a
 * write finish only as the server reads) or, at the latest, `maxHoldMs` after the start; then the client reports
 * what each stream got. Waiting for the server rather than a fixed time: on a busy machine it took the server more
 * than 3 s to read a flood it answers in under one on an idle one.
 */
async function flood(
  port: number,
  options: { connections: number; streams: number; bytes: number; maxHoldMs: number; metadata: Record<string, string> },
  whileHeld: () => unknown,
): Promise<FloodResult> {
  const script = `
    const http2 = require('node:http2');
    const { port, connections, streams, bytes, maxHoldMs, metadata } = JSON.parse(process.argv[1]);
    const varint = (n) => { const b = []; while (n > 127) { b.push((n & 127) | 128); n = Math.floor(n / 128); } b.push(n); return Buffer.from(b); };
    const field = (number, payload) => Buffer.concat([varint(number * 8 + 2), varint(payload.length), payload]);
    const message = Buffer.concat([field(1, Buffer.from('generic')), field(2, Buffer.alloc(bytes, 0x20))]);
    const prefix = Buffer.alloc(5); prefix.writeUInt32BE(message.length, 1);
    const framed = Buffer.concat([prefix, message]);
    const started = performance.now();
    const results = [];
    let unsettled = connections * streams;
    let held = false;
    const hold = () => { if (!held) { held = true; process.stdout.write('held\\n'); } };
    const settle = (result) => { if (result.settled) return; result.settled = true; if (--unsettled === 0) hold(); };
    for (let c = 0; c < connections; c++) {
      // Node's client would refuse to queue this much (ENHANCE_YOUR_CALM) before the server saw a byte of it.
      const session = http2.connect('http://127.0.0.1:' + port, { maxSessionMemory: 4096 });
      session.on('error', () => {});
      for (let s = 0; s < streams; s++) {
        const result = { status: 'none', message: '', after: null, settled: false };
        results.push(result);
        const stream = session.request({ ':method': 'POST', ':path': '/fulfillment.v1.FulfillmentService/HandleWebhook',
          'content-type': 'application/grpc', te: 'trailers', ...metadata });
        const seen = (headers) => {
          if (headers['grpc-status'] === undefined || result.status !== 'none') return;
          result.status = String(headers['grpc-status']);
          result.message = decodeURIComponent(String(headers['grpc-message'] ?? ''));
          result.after = performance.now() - started;
          settle(result);
        };
        stream.on('response', seen); stream.on('trailers', seen); stream.on('error', () => {});
        stream.on('close', () => settle(result));
        stream.resume();
        stream.write(framed, () => settle(result)); // and never the end of the request
      }
    }
    setTimeout(hold, maxHoldMs);
    process.stdin.once('data', () => { process.stdout.write(JSON.stringify(results) + '\\n'); process.exit(0); });
  `;
  const child = spawn(process.execPath, ['-e', script, JSON.stringify({ port, ...options })], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  let output = '';
  let held = false;
  const lines = new Promise<string[]>((resolve, reject) => {
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      if (!held && output.includes('held\n')) {
        held = true;
        const reportWhenDone = () => void child.stdin.write('report\n');
        Promise.resolve()
          .then(whileHeld)
          .then(reportWhenDone, (error: unknown) => {
            reportWhenDone();
            reject(error instanceof Error ? error : new Error(String(error)));
          });
      }
      if (output.endsWith(']\n')) resolve(output.split('\n'));
    });
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? undefined : reject(new Error(`flooding client exited with ${code}`))));
  });
  const report = JSON.parse((await lines).find((line) => line.startsWith('[')) ?? '[]') as {
    status: string;
    message: string;
    after: number | null;
  }[];
  return {
    statuses: report.map((result) => result.status),
    messages: report.map((result) => result.message),
    answeredAfterMs: report.map((result) => result.after ?? Infinity),
  };
}

const count = (values: readonly string[], value: string): number => values.filter((v) => v === value).length;

describe('gRPC calls without credentials hold no memory', () => {
  let t: TestApp;
  let port: number;

  beforeAll(async () => {
    t = await startTestApp({
      env: {
        GRPC_ENABLED: 'true',
        // Long enough that what the flood holds is still held when it is measured.
        HTTP_REQUEST_TIMEOUT_MS: '20000',
        // 100 credential-less calls from one address: below the pre-auth limit, so each is answered for itself.
        PREAUTH_LIMIT: '100000',
      },
    });
    port = t.grpcPort ?? 0;
  });

  afterAll(() => t?.close());

  it('refuses credential-less calls from their metadata, before their 1 MiB requests are read', async () => {
    const before = externalBytes();
    let grown = 0;
    const result = await flood(
      port,
      {
        connections: 1,
        streams: 100,
        bytes: MIB,
        maxHoldMs: 15_000,
        metadata: { 'x-request-id': 'flood-no-credential' },
      },
      () => (grown = externalBytes() - before),
    );
    expect(count(result.statuses, String(status.UNAUTHENTICATED))).toBe(100);
    expect(new Set(result.messages)).toEqual(new Set(['Missing or invalid credentials.']));
    // From their metadata: not at HTTP_REQUEST_TIMEOUT_MS (20 s).
    expect(Math.max(...result.answeredAfterMs)).toBeLessThan(15_000);
    // Without the check it grew by over 100 MiB (each call's megabyte read and held).
    expect(grown).toBeLessThan(24 * MIB);
    // Audited as the guard audits a call without credentials, with the method as the route.
    const row = await waitForAuditRow(t.database.url, (r) => r.request_id === 'flood-no-credential');
    expect(row).toMatchObject({
      event: 'authn_login_fail',
      reason: 'no-credentials',
      route: '/fulfillment.v1.FulfillmentService/HandleWebhook',
    });
  }, 45_000);
});

describe('gRPC calls carrying a credential not yet checked hold bounded memory', () => {
  let t: TestApp;
  let port: number;

  beforeAll(async () => {
    t = await startTestApp({
      env: {
        GRPC_ENABLED: 'true',
        // Long enough that what the flood holds is still held when it is measured.
        HTTP_REQUEST_TIMEOUT_MS: '20000',
        // 100 credential-less calls from one address: below the pre-auth limit, so each is answered for itself.
        PREAUTH_LIMIT: '100000',
      },
    });
    port = t.grpcPort ?? 0;
  });

  afterAll(() => t?.close());

  it('bounds what calls carrying an unchecked credential hold, refusing those past the budget with UNAVAILABLE', async () => {
    const before = externalBytes();
    let grown = 0;
    const result = await flood(
      port,
      {
        connections: 2,
        streams: 100,
        bytes: MIB,
        maxHoldMs: 15_000,
        metadata: { authorization: 'Bearer not-checked-yet' },
      },
      () => (grown = externalBytes() - before),
    );
    const refused = count(result.statuses, String(status.UNAVAILABLE));
    // About 16 MiB of requests may wait for their end; the rest are refused at once.
    expect(refused).toBeGreaterThanOrEqual(170);
    expect(result.messages).toContain(
      'Too many request bytes are arriving from calls not yet authenticated; retry shortly.',
    );
    // Those let through wait for the end of their request (HTTP_REQUEST_TIMEOUT_MS): no other answer yet.
    expect(count(result.statuses, 'none') + refused).toBe(200);
    // Without the budget it grew by over 200 MiB.
    expect(grown).toBeLessThan(80 * MIB);
  }, 45_000);

  it('serves callers again once the flood is gone', async () => {
    const client = openGrpcClient(port, credentials.createInsecure());
    try {
      const answer = await unary<{ outcome: string }>(
        client,
        'Fulfill',
        { sessionId: 'after-flood', intent: 'GetAccountBalance', parameters: toStruct({ user_id: '12345' }) },
        grpcMetadata({ authorization: 'Bearer local-dev-token' }),
      );
      expect(answer.outcome).toBe('OUTCOME_FULFILLED');
    } finally {
      client.close();
    }
  });
});

describe('one client address flooding with unchecked credentials (behind a trusted proxy)', () => {
  let t: TestApp;
  let port: number;

  beforeAll(async () => {
    t = await startTestApp({
      env: {
        GRPC_ENABLED: 'true',
        HTTP_REQUEST_TIMEOUT_MS: '20000',
        PREAUTH_LIMIT: '100000',
        // The proxy on 127.0.0.1 forwards each client's address.
        TRUSTED_PROXIES: '127.0.0.1',
      },
    });
    port = t.grpcPort ?? 0;
  });

  afterAll(() => t?.close());

  it('holds only its own share of the budget: other clients and health checks are served while it floods', async () => {
    const client = openGrpcClient(port, credentials.createInsecure());
    const health = openGrpcClient(port, credentials.createInsecure(), proto.grpc.health.v1.Health);
    const during: { outcome?: string; health?: string } = {};
    try {
      const result = await flood(
        port,
        {
          connections: 1,
          streams: 100,
          bytes: 200 * 1024,
          maxHoldMs: 15_000,
          metadata: { authorization: 'Bearer not-checked-yet', 'x-forwarded-for': '203.0.113.7' },
        },
        async () => {
          const answer = await unary<{ outcome: string }>(
            client,
            'Fulfill',
            { sessionId: 'during-flood', intent: 'GetAccountBalance', parameters: toStruct({ user_id: '12345' }) },
            // From the proxy's own address (the development token is for local callers only).
            grpcMetadata({ authorization: 'Bearer local-dev-token' }),
          );
          during.outcome = answer.outcome;
          during.health = (await unary<{ status: string }>(health, 'Check', { service: '' })).status;
        },
      );
      // The flooding address was refused past its quarter of the budget (4 MiB of its 20 MiB).
      expect(count(result.statuses, String(status.UNAVAILABLE))).toBeGreaterThanOrEqual(70);
      expect(during).toEqual({ outcome: 'OUTCOME_FULFILLED', health: 'SERVING' });
    } finally {
      client.close();
      health.close();
    }
  }, 45_000);
});

describe('gRPC health requests whose bytes do not decode', () => {
  let t: TestApp;
  let port: number;

  beforeAll(async () => {
    t = await startTestApp({ env: { GRPC_ENABLED: 'true' } });
    port = t.grpcPort ?? 0;
  });

  afterAll(() => t?.close());

  it('answers INVALID_ARGUMENT for a truncated service name (protobufjs read it as a whole one), SERVING for a whole one', async () => {
    const client = openGrpcClient(port, credentials.createInsecure(), proto.grpc.health.v1.Health);
    try {
      for (const bytes of [
        [0x0a, 0xff, 0xff, 0xff, 0x0f],
        [0x0a, 0x05, 0x41],
        [0x0a, 0x01, 0xff],
      ]) {
        const error = await rawUnary(client, '/grpc.health.v1.Health/Check', Buffer.from(bytes));
        expect({ bytes, code: error?.code }).toEqual({ bytes, code: status.INVALID_ARGUMENT });
        expect(error?.details).toMatch(/^The request is not a HealthCheckRequest that can be decoded: /);
      }
      expect(await rawUnary(client, '/grpc.health.v1.Health/Check', Buffer.from([0x0a, 0x00]))).toBeNull();
      expect(await rawUnary(client, '/grpc.health.v1.Health/Check', Buffer.alloc(0))).toBeNull();
    } finally {
      client.close();
    }
  });

  it('refuses the same bytes on Watch', async () => {
    const client = openGrpcClient(port, credentials.createInsecure(), proto.grpc.health.v1.Health);
    try {
      const code = await new Promise<number>((resolve) => {
        const call = client.makeServerStreamRequest(
          '/grpc.health.v1.Health/Watch',
          (value: Buffer) => value,
          (value: Buffer) => value,
          Buffer.from([0x0a, 0xff, 0xff, 0xff, 0x0f]),
        );
        call.on('data', () => resolve(-1));
        call.on('error', (error: { code: number }) => resolve(error.code));
      });
      expect(code).toBe(status.INVALID_ARGUMENT);
    } finally {
      client.close();
    }
  });
});
