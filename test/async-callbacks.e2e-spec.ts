import { dump as toYaml } from 'js-yaml';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CallbackDeliveries, deliveryQueueOf, type DeliveryJob } from '../src/async/callback-deliveries';
import { OutboundHttpClient } from '../src/outbound';
import { CallersFileError, loadCallersFile } from '../src/auth/callers/callers-file';
import {
  type CallbackReceiver,
  type ConnectionCounter,
  eventually,
  type ReceivedCallback,
  startCallbackReceiver,
  startConnectionCounter,
  verifyCallback,
} from './support/callback-receiver';
import { Client } from 'pg';
import { genericTurnKey } from './support/generic-turns';
import { type RawResponse, sendRaw } from './support/raw-http';
import { startTestApp, TestApp } from './support/test-app';
import { queryTestDatabase } from './support/test-database';
import { type CommandResult, runCommand } from './support/command-process';

const WEBHOOK = '/v1/webhooks/generic';
const ACCEPTED_TEXT = 'On it: your statement is being prepared.';
/** Three retries after the first attempt: four attempts in all. */
const RETRY_SCHEDULE_MS = [100, 200, 300];
const ATTEMPTS = RETRY_SCHEDULE_MS.length + 1;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const MESSAGE_ID = /^msg_[0-9a-f]{32}$/;
const ISO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const CLOSING_MINOR = '324782'; // customer 12345's checking account in the demo data: $3,247.82
const USD = new Intl.NumberFormat('en-US', { style: 'currency', currency: 'USD' });
const usd = (minor: string): string => USD.format(Number(minor) / 100);
/** How long a delivery may take to settle: all attempts at one pg-boss poll (500 ms) each, plus slack. */
const SETTLE_MS = 10_000;

const token = (name: string): string => `${name}-${randomBytes(16).toString('hex')}`;
const whsec = (): string => `whsec_${randomBytes(32).toString('base64')}`;

type Json = Record<string, unknown>;

interface DeliveryRow extends Json {
  id: string;
  fulfillment_id: string;
  caller_id: string;
  url: string;
  payload: string;
  status: string;
  attempts: number;
  last_status: number | null;
  last_error: string | null;
  delivered_at: Date | null;
}

/** A caller of the generic webhook with a bearer token, and optionally a callback URL signed with `secret`. */
interface TestCaller {
  readonly id: string;
  readonly token: string;
  readonly secret: string;
  receiver?: CallbackReceiver;
}

function caller(id: string): TestCaller {
  return { id, token: token(id), secret: whsec() };
}

describe('async fulfillment and signed callbacks (real HTTP receivers, real PostgreSQL, pg-boss)', () => {
  const workDir = mkdtempSync(join(tmpdir(), 'wf-async-callbacks-'));

  const poller = caller('poller'); // no callback: results are polled
  const stranger = caller('stranger'); // another caller, who must not see poller's results
  const flaky = caller('flaky-receiver');
  const failing = caller('failing-receiver');
  const rejecting = caller('rejecting-receiver');
  const gone = caller('gone-receiver');
  const throttled = caller('throttled-receiver');
  const redirecting = caller('redirecting-receiver');
  const farOff = caller('far-off-receiver');
  const unrecorded = caller('unrecorded-receiver');
  const verbose = caller('verbose-receiver');
  const tripped = caller('tripped-receiver');
  const privateTarget = caller('private-target');
  const withReceivers = [flaky, failing, rejecting, gone, throttled, redirecting, farOff, unrecorded, verbose, tripped];

  let t: TestApp;
  /** Where the redirecting receiver points: it must never be called. */
  let redirectTarget: CallbackReceiver;
  /** Behind https://localhost:<port>/: the SSRF guard must refuse before any connection. */
  let privateListener: ConnectionCounter;
  /** Requests each receiver had when its delivery settled; nothing may arrive after that. */
  const settledCounts = new Map<CallbackReceiver, number>();

  beforeAll(async () => {
    for (const entry of withReceivers) entry.receiver = await startCallbackReceiver();
    redirectTarget = await startCallbackReceiver(() => 204, '/elsewhere');
    privateListener = await startConnectionCounter();

    const bearer = (entry: TestCaller) => ({
      id: entry.id,
      platforms: ['generic'],
      auth: { bearer: { tokens: [entry.token] } },
    });
    const callbackOf = (entry: TestCaller) => ({
      url: entry.receiver?.url,
      secrets: [entry.secret],
      allowPrivateNetwork: true,
    });
    const callersFile = join(workDir, 'callers.yaml');
    writeFileSync(
      callersFile,
      toYaml({
        callers: [
          bearer(poller),
          bearer(stranger),
          ...withReceivers.map((entry) => ({ ...bearer(entry), callback: callbackOf(entry) })),
          {
            ...bearer(privateTarget),
            // https, so the file is accepted, but without allowPrivateNetwork: localhost is off limits.
            callback: { url: `https://localhost:${privateListener.port}/`, secrets: [privateTarget.secret] },
          },
        ],
      }),
    );
    t = await startTestApp({
      env: {
        CALLERS_FILE: callersFile,
        ASYNC_ACCEPTED_TEXT: ACCEPTED_TEXT,
        ASYNC_POLL_INTERVAL_MS: '500',
        ASYNC_JOB_TIMEOUT_MS: '10000',
        CALLBACK_RETRY_SCHEDULE: RETRY_SCHEDULE_MS.map((ms) => `${ms}ms`).join(','),
        CALLBACK_RETRY_HORIZON_HOURS: '0',
        CALLBACK_TIMEOUT_MS: '2000',
        SHUTDOWN_GRACE_MS: '2000',
      },
    });
  });

  afterAll(async () => {
    await t?.close();
    await Promise.all([
      ...withReceivers.map((entry) => entry.receiver?.close()),
      redirectTarget?.close(),
      privateListener?.close(),
    ]);
    rmSync(workDir, { recursive: true, force: true });
  });

  // ---- helpers ----

  interface Turn {
    readonly requestId: string;
    readonly sessionId: string;
    readonly body: string;
  }

  function newTurn(accountType: unknown = 'checking'): Turn {
    const requestId = `async-${randomUUID()}`;
    const sessionId = `session-${randomBytes(6).toString('hex')}`;
    const body = JSON.stringify({
      requestId,
      sessionId,
      intent: 'RequestStatement',
      parameters: { user_id: '12345', account_type: accountType },
    });
    return { requestId, sessionId, body };
  }

  function send(who: TestCaller, turn: Turn): Promise<RawResponse> {
    return sendRaw(t.baseUrl, WEBHOOK, {
      headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${who.token}` },
      body: turn.body,
    });
  }

  /** Sends a RequestStatement turn and returns the id of the fulfillment its acknowledgement names. */
  async function requestStatement(who: TestCaller, turn = newTurn()): Promise<{ turn: Turn; fulfillmentId: string }> {
    const response = await send(who, turn);
    expect(response.status).toBe(200);
    const id = response.json<{ sessionParameters?: { pendingFulfillmentId?: unknown } }>().sessionParameters
      ?.pendingFulfillmentId;
    expect(id).toMatch(UUID);
    return { turn, fulfillmentId: id as string };
  }

  function getFulfillment(who: TestCaller | undefined, id: string): Promise<RawResponse> {
    return sendRaw(t.baseUrl, `/v1/fulfillments/${encodeURIComponent(id)}`, {
      method: 'GET',
      headers: who ? { Authorization: `Bearer ${who.token}` } : {},
    });
  }

  async function deliveriesOf(fulfillmentId: string): Promise<DeliveryRow[]> {
    return queryTestDatabase<DeliveryRow>(
      t.database.url,
      'SELECT * FROM callback_deliveries WHERE fulfillment_id = $1 ORDER BY created_at',
      [fulfillmentId],
    );
  }

  /** Waits for the one delivery of a fulfillment to reach `status` (a settled state) and returns it. */
  function settledDelivery(fulfillmentId: string, status: string, timeoutMs = SETTLE_MS): Promise<DeliveryRow> {
    return eventually(async () => {
      const rows = await deliveriesOf(fulfillmentId);
      expect(rows).toHaveLength(1);
      expect(rows[0]).toMatchObject({ status });
      return rows[0];
    }, timeoutMs);
  }

  function markSettled(receiver: CallbackReceiver): void {
    settledCounts.set(receiver, receiver.received.length);
  }

  const webhookIds = (requests: readonly ReceivedCallback[]) => requests.map((r) => r.headers['webhook-id']);

  /** Runs the operators' deliveries CLI against the test app's database, with a minimal environment. */
  function deliveriesCli(...args: string[]): Promise<CommandResult> {
    return deliveriesCliWith({}, ...args);
  }

  function deliveriesCliWith(env: Record<string, string>, ...args: string[]): Promise<CommandResult> {
    return runCommand('deliveries.cli.js', args, { DATABASE_URL: t.database.url, ...env });
  }

  // ---- the tests ----

  describe('acknowledgement and polling (caller without a callback)', () => {
    let turn: Turn;
    let first: RawResponse;
    let fulfillmentId: string;

    beforeAll(async () => {
      turn = newTurn();
      first = await send(poller, turn);
      fulfillmentId = first.json<{ sessionParameters: { pendingFulfillmentId: string } }>().sessionParameters
        .pendingFulfillmentId;
    });

    it('answers at once with ASYNC_ACCEPTED_TEXT and the pending fulfillment id in the session parameters', () => {
      expect(first.status).toBe(200);
      expect(first.headers['content-type']).toMatch(/application\/json/);
      expect(first.headers['idempotent-replayed']).toBeUndefined();
      expect(first.json()).toEqual({
        requestId: turn.requestId,
        outcome: 'fulfilled',
        text: ACCEPTED_TEXT,
        messages: [{ type: 'text', text: ACCEPTED_TEXT }],
        sessionParameters: { pendingFulfillmentId: expect.stringMatching(UUID) },
      });
    });

    it('GET /v1/fulfillments/{id} by the same caller eventually shows the completed statement', async () => {
      const key = genericTurnKey(turn.requestId, poller.id);
      const reference = `ST-${key.slice(0, 10).toUpperCase()}`;
      const body = await eventually(async () => {
        const response = await getFulfillment(poller, fulfillmentId);
        expect(response.status).toBe(200);
        const json = response.json<Json>();
        expect(json.status).toBe('completed');
        expect(response.headers['retry-after']).toBeUndefined();
        return json;
      }, SETTLE_MS);

      const [statement] = await queryTestDatabase<{
        transaction_count: number;
        opening_minor: string;
        closing_minor: string;
        archive_reference: string;
      }>(
        t.database.url,
        'SELECT transaction_count, opening_minor, closing_minor, archive_reference FROM statements WHERE idempotency_key = $1',
        [key],
      );
      expect(statement).toMatchObject({ archive_reference: reference, closing_minor: CLOSING_MINOR });
      const count = statement.transaction_count;
      expect(body).toEqual({
        id: fulfillmentId,
        status: 'completed',
        platform: 'generic',
        sessionId: turn.sessionId,
        intent: 'RequestStatement',
        createdAt: expect.stringMatching(ISO_TIME),
        completedAt: expect.stringMatching(ISO_TIME),
        result: {
          text:
            `Your checking statement for the last 30 days is ready: ${count} transaction${count === 1 ? '' : 's'}, ` +
            `from ${usd(statement.opening_minor)} to ${usd(statement.closing_minor)}. Reference ${reference}.`,
          payload: { statementReference: reference },
          source: 'banking-api',
        },
      });
      // A caller without a callback URL gets no delivery.
      expect(await deliveriesOf(fulfillmentId)).toEqual([]);
    });

    it('files nothing for an account it cannot read (before: a checking statement, filed for good)', async () => {
      const before = await queryTestDatabase<{ n: string }>(t.database.url, 'SELECT count(*) AS n FROM statements');
      const unclear = await requestStatement(poller, newTurn('savings account 2'));
      const body = await eventually(async () => {
        const response = await getFulfillment(poller, unclear.fulfillmentId);
        const json = response.json<Json>();
        expect(json.status).toBe('completed');
        return json;
      }, SETTLE_MS);
      expect(body.result).toMatchObject({
        text: expect.stringMatching(/^I couldn't tell which account you meant/),
        failed: true,
      });
      expect(await queryTestDatabase(t.database.url, 'SELECT count(*) AS n FROM statements')).toEqual(before);
    });

    it('another caller, a malformed id and an unknown id all get a 404 JSON error', async () => {
      const notFound = {
        statusCode: 404,
        error: 'NOT_FOUND',
        message: 'No fulfillment with this id for this caller.',
        requestId: expect.any(String),
      };
      for (const [who, id] of [
        [stranger, fulfillmentId],
        [poller, 'not-a-fulfillment-id'],
        [poller, `${fulfillmentId}x`],
        [poller, randomUUID()],
      ] as const) {
        const response = await getFulfillment(who, id);
        expect({ id, status: response.status }).toEqual({ id, status: 404 });
        expect(response.headers['content-type']).toMatch(/application\/json/);
        expect(response.json()).toEqual(notFound);
        expect(response.text).not.toContain('Reference');
      }
      expect((await getFulfillment(undefined, fulfillmentId)).status).toBe(401);
    });

    it('has its effect once: one statement, one fulfillment, one job; a resent turn replays the acknowledgement', async () => {
      const again = await send(poller, turn);
      expect(again.status).toBe(200);
      expect(again.headers['idempotent-replayed']).toBe('true');
      expect(again.text).toBe(first.text);

      const count = async (sql: string, params: unknown[]) =>
        Number((await queryTestDatabase<{ n: string }>(t.database.url, sql, params))[0].n);
      expect(
        await count('SELECT count(*) AS n FROM statements WHERE idempotency_key = $1', [
          genericTurnKey(turn.requestId, poller.id),
        ]),
      ).toBe(1);
      expect(
        await count('SELECT count(*) AS n FROM fulfillments WHERE caller_id = $1 AND session_id = $2', [
          poller.id,
          turn.sessionId,
        ]),
      ).toBe(1);
      expect(
        await count(
          `SELECT count(*) AS n FROM (
             SELECT id FROM pgboss.job WHERE name = 'async-fulfillment' AND data->'input'->>'requestId' = $1
             UNION ALL
             SELECT id FROM pgboss.archive WHERE name = 'async-fulfillment' AND data->'input'->>'requestId' = $1) jobs`,
          [turn.requestId],
        ),
      ).toBe(1);
    });

    it('a turn sent again after its acknowledgement was never stored runs again, and finds its fulfillment queued', async () => {
      // The replica that queued the turn died before storing the acknowledgement (or PostgreSQL went away just
      // then): the turn's claim lapses and the bot's next delivery runs it again. Before, that queued a second
      // fulfillment and job, the statement ran twice and a caller with a callback URL got two callbacks.
      const lost = newTurn();
      const acknowledged = await send(poller, lost);
      const fulfillmentId = acknowledged.json<{ sessionParameters: { pendingFulfillmentId: string } }>()
        .sessionParameters.pendingFulfillmentId;
      const key = genericTurnKey(lost.requestId, poller.id);
      await queryTestDatabase(t.database.url, 'DELETE FROM idempotency_records WHERE caller_id = $1 AND key = $2', [
        poller.id,
        key,
      ]);

      const again = await send(poller, lost);
      expect(again.status).toBe(200);
      expect(again.headers['idempotent-replayed']).toBeUndefined();
      expect(again.json()).toMatchObject({ sessionParameters: { pendingFulfillmentId: fulfillmentId } });
      const rows = await queryTestDatabase<{ id: string; key: string }>(
        t.database.url,
        'SELECT id, idempotency_key AS key FROM fulfillments WHERE caller_id = $1 AND session_id = $2',
        [poller.id, lost.sessionId],
      );
      expect(rows).toEqual([{ id: fulfillmentId, key }]);
      const [{ jobs }] = await queryTestDatabase<{ jobs: string }>(
        t.database.url,
        `SELECT count(*) AS jobs FROM (
           SELECT id FROM pgboss.job WHERE name = 'async-fulfillment' AND data->>'fulfillmentId' = $1
           UNION ALL
           SELECT id FROM pgboss.archive WHERE name = 'async-fulfillment' AND data->>'fulfillmentId' = $1) all_jobs`,
        [fulfillmentId],
      );
      expect(Number(jobs)).toBe(1);
      await eventually(async () => {
        expect((await getFulfillment(poller, fulfillmentId)).json<Json>().status).toBe('completed');
      }, SETTLE_MS);
    });
  });

  describe('delivery', () => {
    it('takes a 200 with a 5 MiB page for delivered: the status decides, the body is read only so far', async () => {
      const receiver = verbose.receiver as CallbackReceiver;
      receiver.respondWith(() => ({ status: 200, body: `<html>${'x'.repeat(5 * 1024 * 1024)}</html>` }));
      const { fulfillmentId } = await requestStatement(verbose);
      const row = await settledDelivery(fulfillmentId, 'delivered');
      markSettled(receiver);
      expect(row).toMatchObject({ attempts: 1, last_status: 200, last_error: null });
      expect(receiver.received).toHaveLength(1);
    });

    it('retries a receiver that fails 3 times with the same webhook-id, then delivers once, signed', async () => {
      const receiver = flaky.receiver as CallbackReceiver;
      receiver.respondWith((_request, index) => (index < 3 ? { status: 500, body: 'try later' } : 204));
      const { turn, fulfillmentId } = await requestStatement(flaky);

      const row = await settledDelivery(fulfillmentId, 'delivered');
      markSettled(receiver);
      expect(row).toMatchObject({
        caller_id: flaky.id,
        url: receiver.url,
        attempts: ATTEMPTS,
        last_status: 204,
        last_error: null,
        delivered_at: expect.any(Date),
      });
      expect(row.id).toMatch(MESSAGE_ID);

      const attempts = receiver.received;
      expect(attempts).toHaveLength(ATTEMPTS);
      expect(webhookIds(attempts)).toEqual(Array<string>(ATTEMPTS).fill(row.id));
      for (const attempt of attempts) {
        expect(attempt.method).toBe('POST');
        expect(attempt.path).toBe('/callbacks');
        expect(attempt.headers['content-type']).toBe('application/json');
        expect(attempt.body.equals(attempts[0].body)).toBe(true);
      }
      // Each retry waited at least its scheduled step, less the 20 % jitter.
      RETRY_SCHEDULE_MS.forEach((step, index) => {
        expect(attempts[index + 1].at - attempts[index].at).toBeGreaterThanOrEqual(step * 0.8 - 5);
      });

      const delivered = attempts[ATTEMPTS - 1];
      expect(verifyCallback(delivered, flaky.secret)).toEqual({
        ok: true,
        webhookId: row.id,
        timestamp: Number(delivered.headers['webhook-timestamp']),
      });
      expect(verifyCallback(delivered, whsec())).toEqual({ ok: false, reason: 'signature-mismatch' });

      const reference = `ST-${genericTurnKey(turn.requestId, flaky.id).slice(0, 10).toUpperCase()}`;
      const payload = JSON.parse(delivered.body.toString('utf8')) as Json;
      expect(payload).toEqual({
        type: 'fulfillment.completed',
        timestamp: expect.stringMatching(ISO_TIME),
        data: {
          id: fulfillmentId,
          status: 'completed',
          platform: 'generic',
          sessionId: turn.sessionId,
          intent: 'RequestStatement',
          result: {
            text: expect.stringMatching(
              new RegExp(`^Your checking statement for the last 30 days is ready: .*${reference}\\.$`),
            ),
            payload: { statementReference: reference },
            source: 'banking-api',
          },
        },
      });
      expect(delivered.body.toString('utf8')).toBe(row.payload);
    });

    // Ten runs of the deliveries CLI (a Node process each, 1–2 s on a busy machine) besides the deliveries themselves.
    it('moves a delivery whose receiver always fails to dead, and the deliveries CLI replays it', async () => {
      const receiver = failing.receiver as CallbackReceiver;
      receiver.respondWith(() => 500);
      const { fulfillmentId } = await requestStatement(failing);

      const dead = await settledDelivery(fulfillmentId, 'dead');
      expect(dead).toMatchObject({
        attempts: ATTEMPTS,
        last_status: 500,
        last_error: 'the receiver answered HTTP 500; no attempts left',
        delivered_at: null,
      });
      expect(webhookIds(receiver.received)).toEqual(Array<string>(ATTEMPTS).fill(dead.id));

      const listed = await deliveriesCli('list', 'dead');
      expect(listed).toMatchObject({ code: 0, stderr: '' });
      // Run as the image runs it (NODE_ENV=production) with nothing but DATABASE_URL: it serves nothing, so it asks
      // for no TLS or callers file. Before, it refused to start without them.
      expect(await deliveriesCliWith({ NODE_ENV: 'production' }, 'list', 'dead')).toEqual(listed);
      const line = listed.stdout.split('\n').find((text) => text.startsWith(dead.id));
      expect(line).toMatch(new RegExp(`^${dead.id}\\s+dead\\s+caller=${failing.id} attempts=${ATTEMPTS} last=500 `));
      expect(listed.stdout).toContain(receiver.url);
      // Filters as the console has them; a word or option it does not know is refused, not ignored (a typo listed
      // every delivery, `--limit=5` fifty).
      expect(await deliveriesCli('list', '--caller', failing.id, 'dead', '--limit=5')).toEqual(listed);
      // --limit=N is read (it was ignored: this listed, exit 0).
      expect(await deliveriesCli('list', '--limit=0')).toMatchObject({
        code: 2,
        stderr: expect.stringContaining('--limit must be an integer from 1 to 10000'),
      });
      expect((await deliveriesCli('list', '--caller', 'nobody', 'dead')).stdout).toBe('No deliveries.\n');
      expect(await deliveriesCli('list', 'daed')).toMatchObject({ code: 2, stderr: expect.stringContaining('"daed"') });
      expect(await deliveriesCli('replay', dead.id, 'msg_x')).toMatchObject({ code: 2 });

      const jobsOfDelivery = () =>
        queryTestDatabase<{ id: string; data: unknown }>(
          t.database.url,
          `SELECT id, data FROM pgboss.job WHERE name = $1 AND data->>'deliveryId' = $2
           UNION ALL SELECT id, data FROM pgboss.archive WHERE name = $1 AND data->>'deliveryId' = $2`,
          [deliveryQueueOf(failing.id), dead.id],
        );
      const earlierJobs = new Set((await jobsOfDelivery()).map((job) => job.id));
      receiver.respondWith(() => 204);
      const replayed = await deliveriesCli('replay', dead.id);
      // Without CALLERS_FILE the command cannot tell the caller's URL now (where the service sends it).
      expect(replayed).toEqual({
        code: 0,
        stdout:
          `Replaying ${dead.id} to the callback URL caller ${failing.id} has when it is sent ` +
          `(CALLERS_FILE is not set; it was last sent to ${receiver.url})\n`,
        stderr: '',
      });
      // The replay's own job, queued as the console queues it: a copy pg-boss runs twice is known as stale by its
      // attempt number (the CLI sent no attempt, and such a copy was sent again).
      const replayJobs = (await jobsOfDelivery()).filter((job) => !earlierJobs.has(job.id));
      expect(replayJobs.map((job) => job.data)).toEqual([{ deliveryId: dead.id, attempt: 0 }]);

      const delivered = await settledDelivery(fulfillmentId, 'delivered');
      markSettled(receiver);
      expect(delivered).toMatchObject({ id: dead.id, attempts: 1, last_status: 204, last_error: null });
      expect(receiver.received).toHaveLength(ATTEMPTS + 1);
      const last = receiver.received[ATTEMPTS];
      expect(last.headers['webhook-id']).toBe(dead.id);
      expect(last.body.toString('utf8')).toBe(dead.payload);
      expect(verifyCallback(last, failing.secret)).toMatchObject({ ok: true, webhookId: dead.id });

      // Only dead or disabled deliveries can be replayed.
      const again = await deliveriesCli('replay', dead.id);
      expect(again).toMatchObject({ code: 1, stderr: `No dead or disabled delivery ${dead.id}\n` });
    }, 90_000);

    it('a 4xx answer is final: dead after one attempt', async () => {
      const receiver = rejecting.receiver as CallbackReceiver;
      receiver.respondWith(() => ({ status: 400, body: '{"error":"bad"}' }));
      const { fulfillmentId } = await requestStatement(rejecting);

      const row = await settledDelivery(fulfillmentId, 'dead');
      markSettled(receiver);
      expect(row).toMatchObject({ attempts: 1, last_status: 400, last_error: 'the receiver answered HTTP 400' });
      expect(receiver.received).toHaveLength(1);

      // An operator replays it while a long transaction holds its row: the command gives up at the service's
      // statement_timeout, in one line, and changes nothing. Before, it waited for as long as the lock was held.
      const holder = new Client({ connectionString: t.database.url });
      holder.on('error', () => undefined);
      await holder.connect();
      try {
        await holder.query('BEGIN');
        await holder.query('SELECT 1 FROM callback_deliveries WHERE id = $1 FOR UPDATE', [row.id]);
        const timedOut = await deliveriesCliWith({ DB_STATEMENT_TIMEOUT_MS: '300' }, 'replay', row.id);
        expect(timedOut).toEqual({
          code: 1,
          stdout: '',
          stderr: 'deliveries failed: canceling statement due to statement timeout\n',
        });

        // The same, its connection ended by an administrator while it waits: one line, no stack trace.
        const waiting = deliveriesCliWith({ DB_STATEMENT_TIMEOUT_MS: '60000' }, 'replay', row.id);
        await eventually(async () => {
          // Not on the holder's session: pg_stat_activity stays as it was when a transaction first read it.
          const rows = await queryTestDatabase<{ ended: boolean }>(
            t.database.url,
            `SELECT pg_terminate_backend(pid) AS ended FROM pg_stat_activity
             WHERE datname = current_database() AND wait_event_type = 'Lock' AND query LIKE '%callback_deliveries%'`,
          );
          expect(rows).toEqual([{ ended: true }]);
          // A CLI process started on a loaded CI machine took over 10 s to reach the lock.
        }, 60_000);
        const ended = await waiting;
        expect(ended).toMatchObject({ code: 1, stdout: '' });
        expect(ended.stderr).toMatch(/^deliveries failed: terminating connection due to administrator command\n$/);
        await holder.query('ROLLBACK');
      } finally {
        await holder.end();
      }
      expect((await settledDelivery(fulfillmentId, 'dead')).attempts).toBe(1);
    }, 120_000);

    it('410 Gone disables the callback URL: a later fulfillment of the same caller is not sent', async () => {
      const receiver = gone.receiver as CallbackReceiver;
      receiver.respondWith(() => 410);
      const { fulfillmentId } = await requestStatement(gone);

      const row = await settledDelivery(fulfillmentId, 'disabled');
      expect(row).toMatchObject({ attempts: 1, last_status: 410, last_error: 'the receiver answered 410 Gone' });
      expect(receiver.received).toHaveLength(1);
      const disabled = await queryTestDatabase(
        t.database.url,
        'SELECT 1 FROM disabled_callbacks WHERE caller_id = $1 AND url = $2',
        [gone.id, receiver.url],
      );
      expect(disabled).toHaveLength(1);

      receiver.respondWith(() => 204); // would be accepted now, but must not even be asked
      const later = await requestStatement(gone);
      const skipped = await settledDelivery(later.fulfillmentId, 'disabled');
      markSettled(receiver);
      expect(skipped).toMatchObject({
        url: receiver.url,
        attempts: 0,
        last_status: null,
        last_error: 'the receiver answered 410 Gone earlier',
      });
      expect(receiver.received).toHaveLength(1);
    });

    it('429 with Retry-After: 1 is retried no sooner than about a second later', async () => {
      const receiver = throttled.receiver as CallbackReceiver;
      receiver.respondWith((_request, index) => (index === 0 ? { status: 429, headers: { 'Retry-After': '1' } } : 204));
      const { fulfillmentId } = await requestStatement(throttled);

      const row = await settledDelivery(fulfillmentId, 'delivered');
      markSettled(receiver);
      expect(row).toMatchObject({ attempts: 2, last_status: 204 });
      const [throttledAttempt, retry] = receiver.received;
      expect(receiver.received).toHaveLength(2);
      expect(retry.headers['webhook-id']).toBe(throttledAttempt.headers['webhook-id']);
      expect(retry.at - throttledAttempt.at).toBeGreaterThanOrEqual(900);
    });

    it('a Retry-After past any date puts the next attempt off a day, no more, and the attempt is recorded', async () => {
      const receiver = farOff.receiver as CallbackReceiver;
      receiver.respondWith(() => ({ status: 503, headers: { 'Retry-After': '9999999999999' } }));
      const { fulfillmentId } = await requestStatement(farOff);

      // Before, the next attempt's time was an invalid date: recording it failed, pg-boss ran the job again (a
      // second POST outside the schedule), and after six such runs the delivery stayed pending for good.
      const [row] = await eventually(async () => {
        const rows = await queryTestDatabase<{ id: string; attempts: number; last_status: number; later: number }>(
          t.database.url,
          `SELECT id, attempts, last_status, extract(epoch FROM next_attempt_at - now()) AS later
             FROM callback_deliveries WHERE fulfillment_id = $1 AND status = 'pending'`,
          [fulfillmentId],
        );
        expect(rows).toMatchObject([{ attempts: 1, last_status: 503 }]);
        return rows;
      });
      expect(Number(row.later)).toBeGreaterThan(86_400 - 120);
      // A day, give or take the clocks: the service's time in milliseconds, PostgreSQL's in microseconds (a CI run
      // read 86,400.0015).
      expect(Number(row.later)).toBeLessThanOrEqual(86_400 + 1);
      const jobs = await queryTestDatabase<{ state: string; later: number }>(
        t.database.url,
        `SELECT state, extract(epoch FROM start_after - now()) AS later FROM pgboss.job
          WHERE name = $2 AND data->>'deliveryId' = $1 ORDER BY created_on`,
        [row.id, deliveryQueueOf(farOff.id)],
      );
      expect(jobs.map((job) => job.state)).toEqual(['completed', 'created']);
      expect(Number(jobs[1].later)).toBeGreaterThan(86_400 - 120);
      expect(receiver.received).toHaveLength(1);

      // That job, run now as if the day had passed, meets the same answer: a day's wait has been used up, so the
      // delivery is dead. Before, each such answer put it off another day, 28 times.
      const [next] = await queryTestDatabase<{ data: DeliveryJob }>(
        t.database.url,
        `SELECT data FROM pgboss.job WHERE name = $2 AND data->>'deliveryId' = $1 AND state = 'created'`,
        [row.id, deliveryQueueOf(farOff.id)],
      );
      expect(next.data).toEqual({ deliveryId: row.id, attempt: 1, waitedMs: 86_400_000, due: expect.any(Number) });
      await t.app.get(CallbackDeliveries).attempt(next.data);
      const [dead] = await queryTestDatabase<{ status: string; attempts: number; last_error: string }>(
        t.database.url,
        'SELECT status, attempts, last_error FROM callback_deliveries WHERE id = $1',
        [row.id],
      );
      markSettled(receiver);
      expect(dead).toEqual({
        status: 'dead',
        attempts: 2,
        last_error: 'the receiver answered HTTP 503; no attempts left',
      });
    });

    it("an attempt the receiver's open circuit refuses is not one of the delivery's attempts: it is put off", async () => {
      const receiver = tripped.receiver as CallbackReceiver;
      receiver.respondWith(() => 500);
      // Five 5xx answers to other deliveries open the circuit of the receiver's origin.
      const http = t.app.get(OutboundHttpClient);
      const breaker = `callback:${new URL(receiver.url).origin}`;
      for (let i = 0; i < 5; i++) await http.request({ method: 'POST', url: receiver.url, body: '{}', breaker });
      const id = `msg_${randomUUID().replaceAll('-', '')}`;
      await queryTestDatabase(
        t.database.url,
        `INSERT INTO callback_deliveries (id, fulfillment_id, caller_id, url, payload, status, attempts)
         VALUES ($1, $2, $3, $4, '{}', 'pending', 2)`,
        [id, randomUUID(), tripped.id, receiver.url],
      );
      const deliveries = t.app.get(CallbackDeliveries);
      await deliveries.attempt({ deliveryId: id, attempt: 2, waitedMs: 60_000 });
      const delivery = async () =>
        (
          await queryTestDatabase<{ status: string; attempts: number; last_error: string; later: number }>(
            t.database.url,
            `SELECT status, attempts, last_error, extract(epoch FROM next_attempt_at - now()) AS later
               FROM callback_deliveries WHERE id = $1`,
            [id],
          )
        )[0];
      const jobs = () =>
        queryTestDatabase<{ data: DeliveryJob }>(
          t.database.url,
          `SELECT data FROM pgboss.job WHERE name = $2 AND data->>'deliveryId' = $1 ORDER BY created_on`,
          [id, deliveryQueueOf(tripped.id)],
        );
      try {
        // Before, the refusal counted as an attempt: five bad answers elsewhere used up this delivery's schedule.
        const row = await delivery();
        expect(row).toMatchObject({ status: 'pending', attempts: 2 });
        expect(row.last_error).toMatch(/^not sent: circuit "callback:http:\/\/127\.0\.0\.1:\d+" is open/);
        expect(Number(row.later)).toBeGreaterThan(9);
        const [first] = await jobs();
        expect(first.data).toMatchObject({ deliveryId: id, attempt: 2, refusals: 1, due: expect.any(Number) });
        expect(first.data.waitedMs).toBeGreaterThanOrEqual(70_000);

        // That job, run while the circuit is still open, puts the attempt off again; a copy of it run again (pg-boss
        // could not record its end) is stale: it queues nothing more.
        await deliveries.attempt(first.data);
        await deliveries.attempt(first.data);
        const queued = await jobs();
        expect(queued.map((job) => job.data.refusals)).toEqual([1, 2]);

        // Put off past the delivery's wait limit (a day here): dead, no attempts left.
        await deliveries.attempt({ ...queued[1].data, waitedMs: 86_400_000 - 1_000 });
        expect(await delivery()).toMatchObject({
          status: 'dead',
          attempts: 2,
          last_error: expect.stringMatching(/^not sent: circuit .* is open .*; no attempts left$/),
        });
        expect(receiver.received).toHaveLength(5);
      } finally {
        // Its jobs would run once the circuit half-opens, and reach the receiver after this test.
        await queryTestDatabase(t.database.url, `DELETE FROM pgboss.job WHERE name = $2 AND data->>'deliveryId' = $1`, [
          id,
          deliveryQueueOf(tripped.id),
        ]);
        markSettled(receiver);
      }
    });

    it('a delivery whose attempts keep failing inside the service is dead, not pending for ever, and replays', async () => {
      const receiver = unrecorded.receiver as CallbackReceiver;
      receiver.respondWith(() => 204);
      // PostgreSQL refuses to record this caller's deliveries as delivered: each attempt POSTs, then fails.
      await queryTestDatabase(
        t.database.url,
        `CREATE FUNCTION refuse_delivered() RETURNS trigger LANGUAGE plpgsql AS $$
         BEGIN
           IF NEW.caller_id = '${unrecorded.id}' AND NEW.status = 'delivered' THEN
             RAISE EXCEPTION 'the test refuses this write';
           END IF;
           RETURN NEW;
         END $$`,
      );
      await queryTestDatabase(
        t.database.url,
        'CREATE TRIGGER refuse_delivered BEFORE UPDATE ON callback_deliveries FOR EACH ROW EXECUTE FUNCTION refuse_delivered()',
      );
      let fulfillmentId = '';
      try {
        ({ fulfillmentId } = await requestStatement(unrecorded));
        const [{ id: deliveryId }] = await eventually(async () => {
          const rows = await deliveriesOf(fulfillmentId);
          expect(rows).toHaveLength(1);
          return rows;
        });
        const job = () =>
          queryTestDatabase<{ id: string; state: string; retry_limit: number }>(
            t.database.url,
            `SELECT id, state, retry_limit FROM pgboss.job WHERE name = $2 AND data->>'deliveryId' = $1`,
            [deliveryId, deliveryQueueOf(unrecorded.id)],
          );
        const [failedOnce] = await eventually(async () => {
          const rows = await job();
          expect(rows).toMatchObject([{ state: 'retry' }]);
          return rows;
        });
        expect(failedOnce.retry_limit).toBe(5);
        // Five more failed runs, with pg-boss's backoff, would take minutes: this run is made the last one now.
        await queryTestDatabase(
          t.database.url,
          'UPDATE pgboss.job SET retry_count = retry_limit, start_after = now() WHERE id = $1',
          [failedOnce.id],
        );

        const dead = await settledDelivery(fulfillmentId, 'dead');
        markSettled(receiver);
        expect(dead.last_error).toMatch(
          /^the service could not finish an attempt \(6 tries; the last: .*the test refuses this write/,
        );
        expect(webhookIds(receiver.received)).toEqual([deliveryId, deliveryId]);
      } finally {
        await queryTestDatabase(t.database.url, 'DROP TRIGGER refuse_delivered ON callback_deliveries');
        await queryTestDatabase(t.database.url, 'DROP FUNCTION refuse_delivered()');
      }

      const [dead] = await deliveriesOf(fulfillmentId);
      expect(await deliveriesCli('replay', dead.id)).toMatchObject({ code: 0 });
      expect(await settledDelivery(fulfillmentId, 'delivered')).toMatchObject({ attempts: 1, last_status: 204 });
      markSettled(receiver);
      expect(receiver.received).toHaveLength(3);
    });

    it('a 3xx answer is not followed and counts as a failure that is retried', async () => {
      const receiver = redirecting.receiver as CallbackReceiver;
      receiver.respondWith((_request, index) =>
        index === 0 ? { status: 307, headers: { Location: redirectTarget.url } } : 204,
      );
      const { fulfillmentId } = await requestStatement(redirecting);

      const row = await settledDelivery(fulfillmentId, 'delivered');
      markSettled(receiver);
      markSettled(redirectTarget);
      expect(row).toMatchObject({ attempts: 2, last_status: 204 });
      expect(webhookIds(receiver.received)).toEqual([row.id, row.id]);
      expect(redirectTarget.received).toHaveLength(0);
    });
  });

  describe('SSRF guard', () => {
    it('refuses a callers file whose callback is plain http without allowPrivateNetwork', () => {
      const file = join(workDir, 'http-callback.yaml');
      writeFileSync(
        file,
        toYaml({
          callers: [
            {
              id: 'plain-http',
              platforms: ['generic'],
              auth: { bearer: { tokens: [token('plain-http')] } },
              callback: { url: `http://127.0.0.1:${privateListener.port}/`, secrets: [whsec()] },
            },
          ],
        }),
      );
      expect(() => loadCallersFile(file)).toThrow(CallersFileError);
      expect(() => loadCallersFile(file)).toThrow(
        /callers\[0\]\.callback\.url: must be https \(http only together with allowPrivateNetwork: true\)/,
      );
    });

    it('a callback host resolving to a loopback address is dead at once, without any connection', async () => {
      const { fulfillmentId } = await requestStatement(privateTarget);

      const row = await settledDelivery(fulfillmentId, 'dead');
      expect(row).toMatchObject({ url: `https://localhost:${privateListener.port}/`, attempts: 1, last_status: null });
      expect(row.last_error).toMatch(
        /^ForbiddenAddressError: refusing to connect to localhost: it resolves to (127\.0\.0\.1|::1), not a public address$/,
      );
      expect(privateListener.connections).toBe(0);
    });
  });

  it('no receiver got anything after its delivery settled', () => {
    expect(settledCounts.size).toBeGreaterThan(0);
    for (const [receiver, count] of settledCounts)
      expect({ url: receiver.url, count: receiver.received.length }).toEqual({ url: receiver.url, count });
    expect(privateListener.connections).toBe(0);
  });
});
