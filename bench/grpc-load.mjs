// The gRPC load generator, run as its own process like load.mjs (pinned to its own core by bench/run.mjs).
// Argument: JSON { target, seconds, connections, token, expected }. Each connection is its own HTTP/2 channel
// with one call outstanding at a time (autocannon's model), calling FulfillmentService.Fulfill for
// GetAccountBalance with a static bearer token. Prints autocannon's result shape (the fields run.mjs reads).
// Exits 2 when the port does not answer (e.g. gRPC is not wired into the service), 1 on a wrong answer.
import { credentials, loadPackageDefinition, Metadata } from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const options = JSON.parse(process.argv[2]);
const definition = loadSync('fulfillment/v1/fulfillment.proto', {
  keepCase: false,
  longs: String,
  enums: String,
  defaults: false,
  oneofs: true,
  includeDirs: [join(root, 'src', 'grpc', 'proto')],
});
const { FulfillmentService } = loadPackageDefinition(definition).fulfillment.v1;
const request = {
  sessionId: 'bench-grpc',
  intent: 'GetAccountBalance',
  parameters: {
    fields: { user_id: { stringValue: '12345' }, account_type: { stringValue: 'checking' } },
  },
};
const metadata = new Metadata();
metadata.set('authorization', `Bearer ${options.token}`);

const clients = Array.from(
  { length: options.connections },
  () => new FulfillmentService(options.target, credentials.createInsecure(), { 'grpc.use_local_subchannel_pool': 1 }),
);
const fulfill = (client) =>
  new Promise((resolve, reject) =>
    client.Fulfill(request, metadata, { deadline: Date.now() + 10_000 }, (error, response) =>
      error ? reject(error) : resolve(response),
    ),
  );

try {
  const response = await fulfill(clients[0]);
  if (!response.text.includes(options.expected)) {
    console.error(`Fulfill answered ${JSON.stringify(response)}: expected it to contain ${options.expected}`);
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
  clients.map(async (client) => {
    while (performance.now() < until) {
      const started = performance.now();
      try {
        await fulfill(client);
        latencies.push(performance.now() - started);
      } catch {
        errors += 1;
      }
    }
  }),
);
clients.forEach((client) => client.close());

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
