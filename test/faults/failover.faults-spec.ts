import { setTimeout as sleep } from 'node:timers/promises';
import { request } from 'undici';
import { LOCAL_DEV_AUTH } from '../support/dialogflow-es.fixtures';
import { eventually } from '../support/eventually';
import { genericTurnKey, transferTurnBody } from '../support/generic-turns';
import { describeWithStreamingReplication } from '../support/streaming-replica';
import { FailoverPostgres } from './support/failover-postgres';
import { DEGRADED_TEXT, FaultCluster, UNCONFIRMED_TEXT } from './support/fault-cluster';
import { runFault } from './support/fault-run';
import { recordFigures } from './support/figures';
import { expectAlive, expectInTime, expectNothingLostOrDoubled } from './support/verdicts';

/**
 * A failover, as a bank's PostgreSQL has one: a primary with a synchronous standby, and a network path (the
 * Kubernetes Service's address) that the replicas reach the primary by. Under transfers and balance lookups the
 * primary's host is lost (its open connections never answer again, its postmaster is killed), the standby is
 * promoted, and the address moves to it. Nothing is restarted, no setting changes: the replicas must find the
 * new primary by themselves, lose no transfer the bot was told of, carry none out twice, and go on serving
 * everything that runs on a connection of its own (the cache's notifications between replicas). First, the
 * standby's bad day: while it is away every commit waits for it, and a commit released from that wait without it
 * must never be told to the bot as done.
 */
describeWithStreamingReplication()(
  'PostgreSQL failover under load (synchronous standby promoted, the address moved to it)',
  () => {
    let cluster: FaultCluster<FailoverPostgres>;
    let promotionMs = 0;

    beforeAll(async () => {
      cluster = await FaultCluster.start({
        postgres: (port) => FailoverPostgres.start(port),
        // Long enough that only a notification between replicas can refresh another replica's cached balance.
        env: { CACHE_LOCAL_TTL_MS: '60000' },
      });
    }, 120_000);

    afterAll(async () => {
      await cluster?.stop();
    });

    it('while the standby is away, no turn is told done before the standby has its commit', async () => {
      const [replica] = cluster.replicas;
      const stamp = Date.now();
      const waiting = { requestId: `unreplicated-waiting-${stamp}`, amountMinor: 125n };
      const released = { requestId: `unreplicated-released-${stamp}`, amountMinor: 250n };
      const bodyOf = (t: typeof waiting) => transferTurnBody(t.requestId, 'FAULT-1', t.amountMinor);
      await cluster.postgres.stopStandby();
      try {
        // Every commit now waits for the standby: the turn is answered busy at its deadline, naming the step.
        expect((await turn(replica.port, bodyOf(waiting))).text).toBe(DEGRADED_TEXT);
        await eventually(() =>
          expect(replica.service.output()).toMatch(/answered busy: claiming the turn: the turn's deadline was reached/),
        );
        // An operator releases the waiting sessions, as runbooks say to: PostgreSQL then answers each commit
        // "committed locally, but might not have been replicated", with a warning instead of an error.
        let releasing = true;
        const releaser = (async () => {
          while (releasing) {
            await cluster.query(`SELECT pg_cancel_backend(pid) FROM pg_stat_activity WHERE wait_event = 'SyncRep'`);
            await sleep(50);
          }
        })();
        try {
          // The degraded reply when the turn's claim was what committed unconfirmed (nothing moved yet); "could not
          // confirm" when the transfer's own commit was (the money may have moved: the user must not just try again).
          const releasedText = (await turn(replica.port, bodyOf(released))).text;
          const transferred = await cluster.query(`SELECT 1 FROM transfers WHERE idempotency_key = $1`, [
            genericTurnKey(released.requestId),
          ]);
          expect({ transferred: transferred.length > 0, text: releasedText }).toEqual(
            transferred.length > 0
              ? { transferred: true, text: UNCONFIRMED_TEXT }
              : { transferred: false, text: DEGRADED_TEXT },
          );
          const written = transferred.length > 0 ? ' \\(what it wrote may have committed\\)' : '';
          await eventually(() =>
            expect(replica.service.output()).toMatch(
              new RegExp(
                `answered degraded${written}: PostgreSQL could not confirm a commit on its synchronous standby`,
              ),
            ),
          );
          // Reads are answered meanwhile.
          expect((await turn(replica.port, balanceBody('FAULT-1'))).text).toMatch(/^Your checking account balance is /);
        } finally {
          releasing = false;
          await releaser;
        }
      } finally {
        await cluster.postgres.startStandby();
      }
      // The bot sends each turn again until it gets an answer: once a claim an unconfirmed commit left has
      // expired, the retry carries the transfer out, once. The standby that just came back may still be catching
      // up, so a retry's commit can outlast the turn's deadline: "still working" (200), and the next retry gets the
      // outcome (a CI run met that under load).
      for (const sent of [waiting, released]) {
        let reply = { status: 0, text: '' };
        for (let attempt = 0; attempt < 40 && !/^Done: I moved \$/.test(reply.text); attempt += 1) {
          if (attempt > 0) await sleep(500);
          reply = await send(replica.port, bodyOf(sent));
          expect([200, 409]).toContain(reply.status);
        }
        expect(reply.text).toMatch(/^Done: I moved \$/);
      }
      const moved = await cluster.query<{ idempotency_key: string; n: string }>(
        `SELECT idempotency_key, count(*) AS n FROM transfers WHERE idempotency_key = ANY($1) GROUP BY 1 ORDER BY 1`,
        [[waiting, released].map((t) => genericTurnKey(t.requestId))],
      );
      expect(moved.map((row) => row.n)).toEqual(['1', '1']);
    }, 120_000);

    it('the replicas stay alive and in time, recover by themselves, and the money reconciles on the new primary', async () => {
      const run = await runFault(cluster, {
        name: 'failover: the primary lost, its standby promoted, the address moved',
        holdMs: 0,
        inject: async (c) => {
          c.proxy.blackHole();
          promotionMs = await c.postgres.failOver();
        },
        heal: (c) => {
          c.proxy.retarget(c.postgres.port);
          c.proxy.heal();
          return Promise.resolve();
        },
      });
      recordFigures(run.figures);
      expectAlive(run, cluster);
      expectInTime(run.attempts);
      expectNothingLostOrDoubled(run);
      expect(run.notRecovered).toEqual([]);
      expect(run.figures.recoveryMs).toBeLessThan(30_000);
      // The fault reached the turns: some that were in hand during it (sent before it, most of them, when every
      // connection went silent at once) were answered without their work done. A turn whose query went into the
      // silence runs out its budget ("timed-out"); one that learns PostgreSQL is away gets the degraded reply.
      const { from, to } = run.faultWindow;
      const overlapping = run.attempts.filter((attempt) => attempt.sentAt < to && attempt.sentAt + attempt.ms >= from);
      const unserved = overlapping.filter((a) => a.outcome === 'degraded' || a.outcome === 'timed-out').length;
      const during = overlapping.map(
        (a) =>
          `${a.kind} r${a.replica} +${Math.round(a.sentAt - from)} ms ${Math.round(a.ms)} ms ${a.status} ${a.outcome}`,
      );
      expect(unserved > 0 ? 'reached' : { windowMs: Math.round(to - from), during }).toBe('reached');
      expect(run.reconciliation.transfers).toBeGreaterThan(0);
      // Readiness answered throughout (DEGRADED_MODE=reply: the polite reply keeps reaching the bots).
      expect(run.readiness.filter((sample) => sample.status !== 200)).toEqual([]);
      expect(promotionMs).toBeGreaterThan(0);
      // The probe found the old primary's path silent and every connection on it was given up at once, instead of
      // each holding a turn (or the pool) for the read timeout.
      for (const replica of cluster.replicas) {
        expect(replica.service.output()).toMatch(
          new RegExp(`"level":"warn".*"The probe found 127\\.0\\.0\\.1:${cluster.proxy.port} silent \\(.*given up"`),
        );
      }
    }, 120_000);

    it('after it, every replica holds its connections on the new primary, notifications included', async () => {
      // The listening connection only reads: its heartbeat finds its old path dead and it connects again.
      await eventually(async () => {
        const sessions = await cluster.query<{ n: string }>(
          `SELECT count(*) AS n FROM pg_stat_activity
          WHERE datname = 'faults' AND application_name = 'webhook-fulfillment-notifications'`,
        );
        expect(sessions).toEqual([{ n: String(cluster.replicas.length) }]);
      }, 20_000);
    }, 30_000);

    it('after it, a transfer on one replica reaches the balance another replica had cached', async () => {
      const [writer, reader] = cluster.replicas;
      const balanceText = async (): Promise<string> => (await turn(reader.port, balanceBody('FAULT-0'))).text;
      const cached = await balanceText();
      expect(await balanceText()).toBe(cached);
      const done = await turn(writer.port, transferTurnBody(`failover-transfer-${Date.now()}`, 'FAULT-0', 123n));
      const balance = /balance is now (.+)\.$/.exec(done.text)?.[1];
      expect({ done: done.text, balance }).toEqual({
        done: expect.stringMatching(/^Done/),
        balance: expect.any(String),
      });
      let seen = cached;
      for (let attempt = 0; attempt < 50 && !seen.includes(balance ?? '?'); attempt += 1) {
        await sleep(100);
        seen = await balanceText();
      }
      expect(seen).toContain(balance);
    });
  },
);

function balanceBody(customer: string): Record<string, unknown> {
  return {
    requestId: `failover-balance-${Date.now()}-${Math.random()}`,
    sessionId: 'failover-balance',
    intent: 'GetAccountBalance',
    parameters: { user_id: customer, account_type: 'checking' },
  };
}

async function send(port: number, body: Record<string, unknown>): Promise<{ status: number; text: string }> {
  const response = await request(`http://127.0.0.1:${port}/v1/webhooks/generic`, {
    method: 'POST',
    headers: { ...LOCAL_DEV_AUTH, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const reply = (await response.body.json()) as { text?: unknown };
  return { status: response.statusCode, text: typeof reply.text === 'string' ? reply.text : '' };
}

/** A turn answered 200 with a text. */
async function turn(port: number, body: Record<string, unknown>): Promise<{ text: string }> {
  const { status, text } = await send(port, body);
  expect({ status, text: text !== '' }).toEqual({ status: 200, text: true });
  return { text };
}
