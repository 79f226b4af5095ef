// The overload row of npm run bench: twice the load that saturates the service's core, open loop, with some
// turns going to a handler slower than the deadline (GetShippingEstimate on a carrier API that answers after
// 6 s). The figure that matters: the share of replies within the platform's 5 s deadline (target 100 %):
// load shedding (503 OVERLOADED, before the body is read) and deadline-bounded turns keep every reply fast,
// even when the service cannot do all the work.
import { spawn } from 'node:child_process';
import { createServer } from 'node:http';
import { join } from 'node:path';

export const OVERLOAD_RUN =
  'overload: service at 2× its saturating load, open loop, 5 % of turns on a handler slower than the deadline';
const PLATFORM_DEADLINE_MS = 5000;
const CARRIER_DELAY_MS = 6000;
const SATURATION_SECONDS = 5;
const OVERLOAD_SECONDS = Number(process.env.BENCH_DURATION ?? 10);

const turn = (intent, parameters) =>
  JSON.stringify({ requestId: '__TURN_ID__', sessionId: 'bench-overload-__TURN_ID__', intent, parameters });
const BALANCE = turn('GetAccountBalance', { user_id: '12345', account_type: 'checking' });
const SHIPPING = turn('GetShippingEstimate', { sku: 'K7', postcode: '07030' });

/** A carrier estimate API slower than any deadline (it answers, eventually, as a real slow API would). */
async function startSlowCarrier() {
  const timers = new Set();
  const server = createServer((request, response) => {
    const timer = setTimeout(() => {
      timers.delete(timer);
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ carrier: 'SlowPost', service: 'ground', businessDays: 3 }));
    }, CARRIER_DELAY_MS);
    timers.add(timer);
    request.once('close', () => (clearTimeout(timer), timers.delete(timer)));
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    close: () => {
      for (const timer of timers) clearTimeout(timer);
      server.closeAllConnections();
      return new Promise((resolve) => server.close(resolve));
    },
  };
}

function openLoop(root, pinned, options) {
  const [command, args] = pinned(1, [process.execPath, join(root, 'bench', 'open-loop.mjs'), JSON.stringify(options)]);
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (chunk) => (out += chunk));
    child.once('exit', (code) =>
      code === 0 ? resolve(JSON.parse(out)) : reject(new Error(`open-loop exited ${code}`)),
    );
  });
}

/**
 * `startServer`, `load` and `pinned` are bench/run.mjs's (the service on core 0, load generators on core 1);
 * `env` is the service's environment there (database, callers file, throttle off).
 */
export async function measureOverload({ root, env, token, startServer, load, pinned, freePort }) {
  const carrier = await startSlowCarrier();
  const port = await freePort();
  const server = await startServer('overload', 'dist/main.js', {
    ...env,
    PORT: String(port),
    GRPC_ENABLED: 'false',
    METRICS_PORT: String(await freePort()),
    CARRIER_API_URL: carrier.url,
    CARRIER_TIMEOUT_MS: '10000',
    CARRIER_RETRIES: '0',
  });
  const url = `http://127.0.0.1:${port}/v1/webhooks/generic`;
  try {
    const saturated = await load(
      url,
      SATURATION_SECONDS,
      { kind: 'bearer', token },
      BALANCE.replaceAll('__TURN_ID__', 'saturation'),
    );
    const saturatingRps = Math.round(saturated.requests.average);
    const result = await openLoop(root, pinned, {
      url,
      rate: saturatingRps * 2,
      seconds: OVERLOAD_SECONDS,
      // Reported apart: the first seconds open hundreds of connections at once (a SYN the kernel drops is
      // retried a second or more later) and run code not yet optimised.
      warmupSeconds: 2,
      token,
      deadlineMs: PLATFORM_DEADLINE_MS,
      // As many connections as a platform would open: one per request in flight up to the deadline, so that
      // no request waits in this client for a free connection.
      connections: Math.ceil((saturatingRps * 2 * PLATFORM_DEADLINE_MS) / 1000),
      bodies: [
        { body: BALANCE, share: 95 },
        { body: SHIPPING, share: 5 },
      ],
    });
    return { name: OVERLOAD_RUN, saturatingRps, platformDeadlineMs: PLATFORM_DEADLINE_MS, ...result };
  } finally {
    await server.stop();
    await carrier.close();
  }
}
