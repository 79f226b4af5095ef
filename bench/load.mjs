// The load generator, run as its own process (pinned to its own core by bench/run.mjs).
// Argument: JSON { url, seconds, connections, body, auth }, auth = { kind: 'bearer', token }
// or { kind: 'standard-webhooks', secret } (base64 key; every request gets a fresh webhook-id and signature,
// as a real signing caller would, so replay protection is exercised rather than tripped).
import { createHmac, randomBytes } from 'node:crypto';
import autocannon from 'autocannon';

const options = JSON.parse(process.argv[2]);
const body = options.body;
let sequence = 0;

function signedHeaders() {
  const id = `msg_${process.pid}_${Date.now()}_${sequence++}`;
  const timestamp = Math.floor(Date.now() / 1000);
  const signature = createHmac('sha256', Buffer.from(options.auth.secret, 'base64'))
    .update(`${id}.${timestamp}.${body}`)
    .digest('base64');
  return { 'webhook-id': id, 'webhook-timestamp': String(timestamp), 'webhook-signature': `v1,${signature}` };
}

const base = { 'content-type': 'application/json' };
// `__TURN_ID__` in the body becomes a new platform turn id on every request (a new turn, not a retry).
const freshTurns = body.includes('__TURN_ID__');
const TURN_PREFIX = randomBytes(6).toString('hex');
const turnBody = () => {
  const turn = sequence++;
  return body.replace('__TURN_ID__', `turn-${TURN_PREFIX}-${turn}`).replace('__CUSTOMER__', `BENCH-TX-${turn % 32}`);
};
const request =
  options.auth.kind === 'standard-webhooks'
    ? { method: 'POST', body, setupRequest: (req) => ({ ...req, headers: { ...base, ...signedHeaders() } }) }
    : freshTurns
      ? {
          method: 'POST',
          headers: { ...base, authorization: `Bearer ${options.auth.token}` },
          setupRequest: (req) => ({ ...req, body: turnBody() }),
        }
      : { method: 'POST', body, headers: { ...base, authorization: `Bearer ${options.auth.token}` } };

autocannon(
  { url: options.url, connections: options.connections, duration: options.seconds, requests: [request] },
  (error, result) => {
    if (error) {
      console.error(error);
      process.exit(1);
    }
    process.stdout.write(JSON.stringify(result));
  },
);
