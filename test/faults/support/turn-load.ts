import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { Agent, request } from 'undici';
import { transferTurnBody } from '../../support/generic-turns';
import { CUSTOMERS, DEGRADED_TEXT, PLATFORM_DEADLINE_MS, UNCONFIRMED_TEXT } from './fault-cluster';

const PATH = '/v1/webhooks/generic';
/** The load calls as the local development caller, or with `token` as a caller of that id in a callers file. */
const LOAD_TOKEN = 'local-dev-token';
/** Longer than any deadline: a request still unanswered then counts as unanswered, not as slow. */
const CLIENT_TIMEOUT_MS = 10_000;
/** How long a load worker waits after a refusal (the service's Retry-After is 1 s; settling retries every 250 ms). */
const REFUSED_PAUSE_MS = 250;

export interface TransferTurn {
  readonly requestId: string;
  readonly customer: string;
  readonly amountMinor: bigint;
}

/** One request and what came back. */
export interface Attempt {
  readonly kind: 'transfer' | 'balance';
  readonly requestId: string;
  readonly replica: number;
  /** ms since the load started, when the request was sent. */
  readonly sentAt: number;
  readonly ms: number;
  readonly status: number;
  /** `fulfilled` … from the reply; `degraded` for the degraded text; undefined without a JSON reply. */
  readonly outcome?: string;
  readonly text?: string;
  readonly replayed: boolean;
  /** The request failed without a reply (connection refused or reset, no answer at all). */
  readonly error?: string;
}

export function transferBody(turn: TransferTurn): Record<string, unknown> {
  return transferTurnBody(turn.requestId, turn.customer, turn.amountMinor);
}

function balanceBody(requestId: string): Record<string, unknown> {
  return {
    requestId,
    sessionId: `session-${requestId}`,
    intent: 'GetAccountBalance',
    parameters: { user_id: '12345', account_type: 'checking' },
  };
}

/** A transfer the service confirmed: the money moved. */
export function confirmed(attempt: Attempt): boolean {
  return attempt.status === 200 && attempt.outcome === 'fulfilled' && /^Done/.test(attempt.text ?? '');
}

/**
 * Closed-loop webhook traffic on every replica, as platforms send it: `concurrency` callers, each sending a
 * turn, waiting for its reply, sending the next; a mix of money transfers (state-changing, each a new turn)
 * and balance lookups. Every request and its reply is kept for the verdicts.
 */
export class TurnLoad {
  readonly attempts: Attempt[] = [];
  readonly transfers = new Map<string, TransferTurn>();
  private readonly agent = new Agent({ keepAliveTimeout: 4000, connections: 64 });
  private readonly started = performance.now();
  private readonly prefix = randomBytes(4).toString('hex');
  private running = false;
  private workers: Promise<void>[] = [];
  private sequence = 0;
  /** Replicas not sent to (e.g. while the test keeps one stopped, as a load balancer would). */
  readonly skipped = new Set<number>();

  constructor(
    private readonly ports: readonly number[],
    private readonly options: {
      concurrency: number;
      transferShare: number;
      customers?: readonly string[];
      token?: string;
    },
  ) {}

  /** ms since the load was created. */
  now(): number {
    return performance.now() - this.started;
  }

  start(): void {
    this.running = true;
    this.workers = Array.from({ length: this.options.concurrency }, (_, worker) => this.work(worker));
  }

  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.workers);
  }

  async close(): Promise<void> {
    await this.stop();
    await this.agent.close();
  }

  /** A transfer turn, sent once to one replica; kept for settling and reconciliation like the load's own. */
  sendTransfer(turn: TransferTurn, replica: number): Promise<Attempt> {
    this.transfers.set(turn.requestId, turn);
    return this.send('transfer', turn.requestId, transferBody(turn), replica);
  }

  /** A new request id in this load's series. */
  nextRequestId(): string {
    return `${this.prefix}-${++this.sequence}`;
  }

  /** Sends one turn's body to one replica and records the attempt. */
  async send(kind: Attempt['kind'], requestId: string, body: unknown, replica: number): Promise<Attempt> {
    const sentAt = this.now();
    let attempt: Attempt;
    try {
      const response = await request(`http://127.0.0.1:${this.ports[replica]}${PATH}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${this.options.token ?? LOAD_TOKEN}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
        dispatcher: this.agent,
        headersTimeout: CLIENT_TIMEOUT_MS,
        bodyTimeout: CLIENT_TIMEOUT_MS,
      });
      const text = await response.body.text();
      let json: { outcome?: string; text?: string } = {};
      try {
        json = JSON.parse(text) as typeof json;
      } catch {
        // not JSON: recorded by status only
      }
      attempt = {
        kind,
        requestId,
        replica,
        sentAt,
        ms: this.now() - sentAt,
        status: response.statusCode,
        outcome: json.text === DEGRADED_TEXT || json.text === UNCONFIRMED_TEXT ? 'degraded' : json.outcome,
        text: json.text,
        replayed: response.headers['idempotent-replayed'] === 'true',
      };
    } catch (error: unknown) {
      const code = (error as { code?: string }).code ?? (error as Error).message;
      attempt = { kind, requestId, replica, sentAt, ms: this.now() - sentAt, status: 0, replayed: false, error: code };
    }
    this.attempts.push(attempt);
    return attempt;
  }

  /**
   * Sends every transfer again, as a platform retries an unanswered or unsuccessful turn, until each is
   * confirmed (its first run, or the stored reply). Resolves with the turns never confirmed.
   */
  async settle(timeoutMs = 30_000): Promise<TransferTurn[]> {
    const until = Date.now() + timeoutMs;
    const open = [...this.transfers.values()].filter(
      (turn) => !this.attempts.some((attempt) => attempt.requestId === turn.requestId && confirmed(attempt)),
    );
    const unsettled: TransferTurn[] = [];
    // As many callers as the load had: a burst of retries would wait in this client's own queue.
    const callers = Array.from({ length: this.options.concurrency }, async (_, caller) => {
      for (let turn = open.shift(); turn; turn = open.shift()) {
        let replica = caller;
        for (;;) {
          const attempt = await this.send(
            'transfer',
            turn.requestId,
            transferBody(turn),
            replica++ % this.ports.length,
          );
          if (confirmed(attempt)) break;
          if (Date.now() >= until) {
            unsettled.push(turn);
            break;
          }
          await sleep(250);
        }
      }
    });
    await Promise.all(callers);
    return unsettled;
  }

  private async work(worker: number): Promise<void> {
    let replica = worker % this.ports.length;
    while (this.running) {
      replica = (replica + 1) % this.ports.length;
      if (this.skipped.has(replica)) {
        if (this.skipped.size >= this.ports.length) await sleep(20);
        continue;
      }
      const requestId = this.nextRequestId();
      let attempt: Attempt;
      if (Math.random() < this.options.transferShare) {
        const customers = this.options.customers ?? CUSTOMERS;
        attempt = await this.sendTransfer(
          {
            requestId,
            customer: customers[this.sequence % customers.length],
            amountMinor: BigInt(1 + (this.sequence % 9)),
          },
          replica,
        );
      } else {
        attempt = await this.send('balance', requestId, balanceBody(requestId), replica);
      }
      // A refusal that asks to come back later (503 OVERLOADED, 429, with Retry-After) is honoured, as platforms
      // and load balancers do: a caller answering it at once would turn every refusal into a flood of new turns.
      if (attempt.status === 503 || attempt.status === 429) await sleep(REFUSED_PAUSE_MS);
    }
  }
}

/** Attempts in a time window of the load (ms since its start). */
export function within(attempts: readonly Attempt[], from: number, to: number): Attempt[] {
  return attempts.filter((attempt) => attempt.sentAt >= from && attempt.sentAt < to);
}

/** Replies that came later than the platform would wait (a request with no reply at all counts too). */
export function deadlineMisses(attempts: readonly Attempt[]): Attempt[] {
  return attempts.filter((attempt) => attempt.ms > PLATFORM_DEADLINE_MS);
}
