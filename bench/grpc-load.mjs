// The gRPC load generator, run as its own process like load.mjs (pinned to its own core by bench/run.mjs).
// Argument: JSON { target, seconds, connections, token, expected }. Each connection is its own HTTP/2 session
// with one call outstanding at a time (autocannon's model), calling FulfillmentService.Fulfill for
// GetAccountBalance with a static bearer token. Prints autocannon's result shape (the fields run.mjs reads).
// Exits 2 when the port does not answer (e.g. gRPC is not wired into the service), 1 on a wrong answer.
//
// Lean, as autocannon is for HTTP/1.1: the request is encoded once and sent on node:http2 as gRPC frames it, and
// a reply counts as answered when its trailers say `grpc-status: 0` and its message holds the expected text. A
// grpc-js client cost 1,550-1,970 CPU µs a call on the core it shares with PostgreSQL (this one 500-610, autocannon
// 220-320 a request), so the service's core sat idle while calls waited on that core. The first reply is decoded
// whole and checked, as before.
import { connect, constants } from 'node:http2';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const options = JSON.parse(process.argv[2]);
const protos = new protobuf.Root();
// google/protobuf/*.proto are protobufjs's own; the service's under src/grpc/proto.
protos.resolvePath = (_origin, target) =>
  target.startsWith('google/protobuf/') ? target : join(root, 'src', 'grpc', 'proto', target);
protos.loadSync('fulfillment/v1/fulfillment.proto');
const FulfillRequest = protos.lookupType('fulfillment.v1.FulfillRequest');
const FulfillResponse = protos.lookupType('fulfillment.v1.FulfillResponse');

const message = FulfillRequest.encode(
  FulfillRequest.fromObject({
    sessionId: 'bench-grpc',
    intent: 'GetAccountBalance',
    parameters: { fields: { user_id: { stringValue: '12345' }, account_type: { stringValue: 'checking' } } },
  }),
).finish();
/** The length-prefixed message (uncompressed flag, 4-byte length, bytes), as gRPC sends it in DATA frames. */
const frame = Buffer.alloc(5 + message.length);
frame.writeUInt32BE(message.length, 1);
frame.set(message, 5);
const headers = {
  ':method': 'POST',
  ':path': '/fulfillment.v1.FulfillmentService/Fulfill',
  'content-type': 'application/grpc',
  te: 'trailers',
  authorization: `Bearer ${options.token}`,
  'grpc-timeout': '10S',
};
const expected = Buffer.from(options.expected);
const { NGHTTP2_REFUSED_STREAM: REFUSED_STREAM } = constants;

const open = () =>
  new Promise((resolve, reject) => {
    const session = connect(`http://${options.target}`);
    session.once('connect', () => resolve(session));
    session.once('error', reject);
  });

/** One call: resolves with the grpc-status and the reply's bytes (the frame's prefix included). */
const fulfill = (session) =>
  new Promise((resolve, reject) => {
    const stream = session.request(headers);
    const chunks = [];
    let status;
    // A refusal comes trailers-only: its status in the response headers.
    stream.on('response', (responseHeaders) => (status = responseHeaders['grpc-status']));
    stream.on('trailers', (trailers) => (status = trailers['grpc-status']));
    stream.on('data', (chunk) => chunks.push(chunk));
    stream.once('end', () => resolve({ status, reply: chunks.length === 1 ? chunks[0] : Buffer.concat(chunks) }));
    // Not processed by the server (a connection going away): safe to send again, as gRPC clients do.
    stream.once('error', (error) => (stream.rstCode === REFUSED_STREAM ? resolve({ refused: true }) : reject(error)));
    stream.end(frame);
  });

let sessions;
try {
  sessions = await Promise.all(Array.from({ length: options.connections }, open));
  const { status, reply } = await fulfill(sessions[0]);
  const response = status === '0' && reply.length > 5 ? FulfillResponse.decode(reply.subarray(5)) : undefined;
  if (!response?.text.includes(options.expected)) {
    console.error(`Fulfill answered grpc-status ${status} ${JSON.stringify(response)}: expected ${options.expected}`);
    process.exit(1);
  }
} catch (error) {
  console.error(`gRPC Fulfill at ${options.target} failed: ${error.message}`);
  process.exit(2);
}

const latencies = [];
let errors = 0;
const until = performance.now() + options.seconds * 1000;
await Promise.all(
  sessions.map(async (_, slot) => {
    while (performance.now() < until) {
      const started = performance.now();
      try {
        // As a gRPC channel does: a connection the server closed (GOAWAY at its maximum age) is opened again.
        let answer;
        do {
          if (sessions[slot].closed || sessions[slot].destroyed) sessions[slot] = await open();
          answer = await fulfill(sessions[slot]);
        } while (answer.refused);
        const { status, reply } = answer;
        if (status !== '0' || reply.indexOf(expected) < 0) throw new Error(`grpc-status ${status}`);
        latencies.push(performance.now() - started);
      } catch {
        errors += 1;
        if (sessions[slot].closed || sessions[slot].destroyed) await new Promise((wait) => setTimeout(wait, 100));
      }
    }
  }),
);
sessions.forEach((session) => session.close());

latencies.sort((a, b) => a - b);
const percentile = (p) => (latencies.length ? Math.round(latencies[Math.floor((latencies.length - 1) * p)]) : 0);
const total = latencies.length + errors;
process.stdout.write(
  JSON.stringify({
    requests: { average: total / options.seconds, total },
    latency: { p50: percentile(0.5), p99: percentile(0.99) },
    errors,
    timeouts: 0,
    non2xx: 0,
  }),
);
