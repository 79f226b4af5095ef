// Open-loop load, as platforms send it: requests start on a fixed schedule whatever the service's replies
// (a closed loop would slow down with the service and hide its overload). Run as its own process, pinned to
// its own core by bench/overload.mjs.
// Argument: JSON { url, rate, seconds, warmupSeconds, token, deadlineMs, bodies: [{ body, share }], connections }.
// The first warmupSeconds (new connections opening, code not yet optimised) are sent at the same rate and
// reported apart, as `warmup`.
// Each request's time counts from when it was due to start, so waiting in this client's queue counts too.
import { randomBytes } from 'node:crypto';
import { Pool } from 'undici';

const options = JSON.parse(process.argv[2]);
const url = new URL(options.url);
const pool = new Pool(url.origin, { connections: options.connections, pipelining: 1 });
const prefix = randomBytes(4).toString('hex');
const TICK_MS = 5;

const newCounts = () => ({ sent: 0, withinDeadline: 0, byStatus: {}, byOutcome: {}, lateByOutcome: {}, errors: {} });
const measured = { latencies: [], counts: newCounts() };
const warmup = { latencies: [], counts: newCounts() };
const warmupMs = (options.warmupSeconds ?? 0) * 1000;
const cumulative = [];
let total = 0;
for (const { share } of options.bodies) cumulative.push((total += share));

function pickBody(sequence) {
  const point = (sequence % 100) / 100;
  const index = cumulative.findIndex((edge) => point < edge / total);
  return options.bodies[index === -1 ? options.bodies.length - 1 : index].body;
}

async function one(sequence, dueAt, { latencies, counts }) {
  const body = pickBody(sequence).replaceAll('__TURN_ID__', `${prefix}-${sequence}`);
  try {
    const response = await pool.request({
      path: url.pathname,
      method: 'POST',
      headers: { authorization: `Bearer ${options.token}`, 'content-type': 'application/json' },
      body,
      headersTimeout: options.deadlineMs * 4,
      bodyTimeout: options.deadlineMs * 4,
    });
    const text = await response.body.text();
    const ms = performance.now() - dueAt;
    latencies.push(ms);
    counts.byStatus[response.statusCode] = (counts.byStatus[response.statusCode] ?? 0) + 1;
    let outcome = 'not JSON';
    try {
      const json = JSON.parse(text);
      outcome = json.outcome ?? json.error ?? 'none';
    } catch {
      // counted as not JSON
    }
    counts.byOutcome[outcome] = (counts.byOutcome[outcome] ?? 0) + 1;
    if (ms <= options.deadlineMs) counts.withinDeadline += 1;
    else {
      counts.lateByOutcome[outcome] = (counts.lateByOutcome[outcome] ?? 0) + 1;
    }
  } catch (error) {
    latencies.push(performance.now() - dueAt);
    const code = error.code ?? error.message;
    counts.errors[code] = (counts.errors[code] ?? 0) + 1;
  }
}

const started = performance.now();
const inFlight = [];
let sequence = 0;
while (performance.now() - started < warmupMs + options.seconds * 1000) {
  const due = Math.floor(((performance.now() - started) / 1000) * options.rate);
  for (; sequence < due; sequence += 1) {
    const dueAt = started + (sequence / options.rate) * 1000;
    const into = dueAt - started < warmupMs ? warmup : measured;
    into.counts.sent += 1;
    inFlight.push(one(sequence, dueAt, into));
  }
  await new Promise((resolve) => setTimeout(resolve, TICK_MS));
}
await Promise.all(inFlight);
await pool.close();
function summary({ latencies, counts }) {
  latencies.sort((a, b) => a - b);
  const at = (q) => Math.round(latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? 0);
  return {
    ...counts,
    withinDeadlinePercent: +((100 * counts.withinDeadline) / Math.max(1, counts.sent)).toFixed(2),
    p50Ms: at(0.5),
    p99Ms: at(0.99),
    maxMs: Math.round(latencies.at(-1) ?? 0),
  };
}

process.stdout.write(
  JSON.stringify({
    ...summary(measured),
    seconds: options.seconds,
    rate: options.rate,
    ...(warmupMs > 0 && { warmup: { seconds: options.warmupSeconds, ...summary(warmup) } }),
  }),
);
