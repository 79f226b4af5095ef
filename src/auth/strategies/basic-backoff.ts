import { Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import { createHash, randomBytes } from 'node:crypto';
import { Clock } from '../../common/clock';
import { closeRedis } from '../../common/redis/close-redis';
import { redisClient, type RedisConnection } from '../../common/redis/redis-client';
import { AppConfig } from '../../config';
import { redisErrorText } from '../../common/redis/redis-error-text';
import { passwordChecksBusy } from './password-check-budget';

/** A stalled Redis must not hold a login: the in-process counters answer after this long. */
const COMMAND_TIMEOUT_MS = 250;
const MAX_LOCAL_KEYS = 100_000;
/**
 * How long a check in flight holds its place in Redis unless settled: a replica that dies mid-check must not hold it
 * for ever. Far above a check's time (a few hashes, after the hashing budget's short queue).
 */
const CHECK_LEASE_MS = 10_000;
/**
 * The longest an attempt waits for the username's checks in flight to end before it is answered 503: as long as such
 * a check can hold its place. A check ends within the hashing budget's short queue and a few hashes, unless its
 * replica died (its lease then runs out) or the process is starved of CPU.
 */
const WAIT_MS = CHECK_LEASE_MS;
/** How often a waiting attempt asks Redis again (checks on other replicas end without telling this one). */
const POLL_MS = 20;
/** Attempts that may wait at once, per BASIC_AUTH_MAX_CONCURRENT_CHECKS slot (as the hashing budget's queue). */
const WAITING_PER_SLOT = 8;
// Failures and checks in flight of one username share a hash tag: one cluster slot, one script.
const failuresKey = (digest: string) => `wf:basic-failures:{${digest}}`;
const checksKey = (digest: string) => `wf:basic-checks:{${digest}}`;
// 0: refused (no failure left in the window); 2: wait (the checks in flight could use up what is left); 1: admitted,
// the check holds its place (a lease) until settled. Leases past their time are dropped first.
const ADMIT = `local now = tonumber(ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
local failures = tonumber(redis.call('GET', KEYS[1]) or '0')
local limit = tonumber(ARGV[3])
if failures >= limit then return 0 end
if failures + redis.call('ZCARD', KEYS[2]) >= limit then return 2 end
redis.call('ZADD', KEYS[2], now + tonumber(ARGV[2]), ARGV[4])
redis.call('PEXPIRE', KEYS[2], ARGV[2])
return 1`;
// Ends a check: its place is given up and, when its password was wrong, a failure counted in the same step, so no
// attempt is admitted between the two. The window starts with the first failure; later ones never extend it.
const SETTLE = `redis.call('ZREM', KEYS[2], ARGV[1])
if ARGV[2] == '1' then
  redis.call('INCR', KEYS[1])
  if redis.call('PTTL', KEYS[1]) < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[3]) end
end
return 0`;

/** How a password check ended: wrong (a failure), right, or never made (the hashing budget was full). */
export type CheckOutcome = 'failed' | 'passed' | 'unchecked';

/** A password check the backoff let through; settled exactly once, when it ended. */
export interface PasswordCheckTicket {
  settle(outcome: CheckOutcome): void;
}

const UNCOUNTED: PasswordCheckTicket = { settle: () => undefined };

interface LocalCounter {
  failures: number;
  /** When the failures' window ends (it starts with the first failure). */
  windowEndsAt: number;
  /** Checks admitted and not yet settled. */
  checks: number;
}

/**
 * Failed basic-auth passwords per username, in fixed windows (BASIC_AUTH_MAX_FAILURES per
 * BASIC_AUTH_FAILURE_WINDOW_SECONDS): once a username has that many in its window, it is refused without its
 * password being checked until the window ends. Only wrong passwords count. The checks in flight are counted apart:
 * an attempt is admitted only while the failures so far plus the checks in flight are under the limit, so a burst of
 * wrong guesses gets no more checks than the limit; an attempt beyond that waits (up to WAIT_MS) for checks in flight
 * to end — a right password frees its place, a wrong one becomes a failure — and then is admitted or refused. So
 * concurrent right passwords all pass, however many. Counted for every username presented, existing or not, so a
 * refusal (or its speed) says nothing about which usernames exist. In Redis when REDIS_URL is set (every replica
 * counts together), else in process; while Redis is unreachable the in-process counters stand in.
 */
@Injectable()
export class BasicBackoff implements OnApplicationShutdown {
  private readonly logger = new Logger('BasicBackoff');
  private readonly redis?: RedisConnection;
  private readonly local = new Map<string, LocalCounter>();
  /**
   * The in-process counters of configured usernames, apart: a spray of made-up usernames fills `local` and has its
   * oldest windows forgotten, which forgot a real username's count too (and gave its guesser a fresh window).
   */
  private readonly localKnown = new Map<string, LocalCounter>();
  /** Attempts waiting for a username's checks in flight, woken when one of this replica's ends. */
  private readonly waiters = new Map<string, Set<() => void>>();
  /**
   * Per username with attempts in `admit`: how many of its checks have ended on this replica. An attempt told to wait
   * notes it before asking: a check that ends between that answer and the attempt's wait (the answer is awaited)
   * wakes no one, and the attempt would sleep until it gave up (10 s) although the verdict had changed. Per
   * username, so that other usernames' checks ending do not send it back to Redis.
   */
  private readonly endedChecks = new Map<string, { attempts: number; ended: number }>();
  private waiting = 0;
  private warnedAt = 0;
  /** WAIT_MS; shorter in tests. */
  protected waitMs = WAIT_MS;

  constructor(
    private readonly config: AppConfig,
    private readonly clock: Clock,
  ) {
    if (config.redisUrl && this.enabled) {
      this.redis = redisClient(
        config.redisUrl,
        { maxRetriesPerRequest: 1, enableOfflineQueue: false, commandTimeout: COMMAND_TIMEOUT_MS },
        config.redisTopology,
      );
      this.redis.on('error', (error: Error) => this.warn(error));
    }
  }

  private get enabled(): boolean {
    return this.config.network.basicBackoff.maxFailures > 0;
  }

  /**
   * Admits one password check for the username (a ticket to settle when it ends), or undefined when the username
   * has no failure left in its window. Waits while the checks in flight could use up what is left; throws
   * OVERLOADED (503) when that lasts longer than WAIT_MS, or when too many attempts wait already.
   */
  async admit(username: string, known = false): Promise<PasswordCheckTicket | undefined> {
    if (!this.enabled) return UNCOUNTED;
    const digest = digestOf(username);
    // Real time, not the clock's: this waits for hashing on other threads and for other replicas.
    const giveUpAt = performance.now() + this.waitMs;
    let waiting = false;
    const watch = this.endedChecks.get(digest) ?? { attempts: 0, ended: 0 };
    watch.attempts += 1;
    this.endedChecks.set(digest, watch);
    try {
      for (;;) {
        const endedBefore = watch.ended;
        const verdict = await this.tryAdmit(digest, known);
        if (verdict !== 'wait') return verdict === 'refused' ? undefined : verdict;
        if (!waiting) {
          if (this.waiting >= this.config.network.basicBackoff.maxConcurrentChecks * WAITING_PER_SLOT) {
            throw passwordChecksBusy();
          }
          this.waiting += 1;
          waiting = true;
        }
        const left = giveUpAt - performance.now();
        if (left <= 0) throw passwordChecksBusy();
        if (watch.ended !== endedBefore) continue;
        await this.checkEnded(digest, this.redis ? Math.min(left, POLL_MS) : left);
      }
    } finally {
      if (waiting) this.waiting -= 1;
      watch.attempts -= 1;
      if (watch.attempts === 0) this.endedChecks.delete(digest);
    }
  }

  private async tryAdmit(digest: string, known: boolean): Promise<PasswordCheckTicket | 'refused' | 'wait'> {
    const { maxFailures } = this.config.network.basicBackoff;
    if (this.redis) {
      const id = randomBytes(12).toString('base64url');
      try {
        const keys = [failuresKey(digest), checksKey(digest)];
        const verdict = await this.redis.eval(ADMIT, 2, ...keys, this.clock.now(), CHECK_LEASE_MS, maxFailures, id);
        if (verdict === 0) return 'refused';
        if (verdict === 2) return 'wait';
        return this.ticket(this.settleShared(digest, known, id, keys));
      } catch (error: unknown) {
        this.warn(error);
      }
    }
    const counter = this.localCounter(digest, known);
    if (counter.failures >= maxFailures) return 'refused';
    if (counter.failures + counter.checks >= maxFailures) return 'wait';
    counter.checks += 1;
    return this.ticket((outcome) => {
      counter.checks -= 1;
      if (outcome === 'failed') this.countFailure(counter);
      this.wake(digest);
    });
  }

  private ticket(settle: (outcome: CheckOutcome) => void): PasswordCheckTicket {
    let settled = false;
    return {
      settle: (outcome) => {
        if (settled) return;
        settled = true;
        settle(outcome);
      },
    };
  }

  /**
   * Settles a check admitted in Redis, without waiting for Redis: its place is held there until this lands, so no
   * other attempt is admitted on the strength of it meanwhile. A failure Redis cannot take is counted in process.
   */
  private settleShared(digest: string, known: boolean, id: string, keys: string[]): (outcome: CheckOutcome) => void {
    return (outcome) => {
      const failed = outcome === 'failed';
      const windowMs = this.config.network.basicBackoff.windowSeconds * 1000;
      (this.redis as RedisConnection)
        .eval(SETTLE, 2, ...keys, id, failed ? 1 : 0, windowMs)
        .catch((error: unknown) => {
          this.warn(error);
          if (failed) this.countFailure(this.localCounter(digest, known));
        })
        .finally(() => this.wake(digest));
    };
  }

  private countFailure(counter: LocalCounter): void {
    const now = this.clock.now();
    if (counter.failures === 0 || now >= counter.windowEndsAt) {
      counter.failures = 1;
      counter.windowEndsAt = now + this.config.network.basicBackoff.windowSeconds * 1000;
    } else {
      counter.failures += 1;
    }
  }

  /** Resolves when a check of this username on this replica ends, or after `ms`. */
  private checkEnded(digest: string, ms: number): Promise<void> {
    return new Promise((resolve) => {
      let listeners = this.waiters.get(digest);
      if (!listeners) {
        listeners = new Set();
        this.waiters.set(digest, listeners);
      }
      const set = listeners;
      const wake = () => {
        clearTimeout(timer);
        set.delete(wake);
        if (set.size === 0 && this.waiters.get(digest) === set) this.waiters.delete(digest);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      set.add(wake);
    });
  }

  private wake(digest: string): void {
    const watch = this.endedChecks.get(digest);
    if (watch) watch.ended += 1;
    for (const wake of [...(this.waiters.get(digest) ?? [])]) wake();
  }

  private localCounter(digest: string, known: boolean): LocalCounter {
    const now = this.clock.now();
    const counters = known ? this.localKnown : this.local;
    let counter = counters.get(digest);
    if (!counter) {
      // The known ones are as many as the callers file's basic callers: only made-up usernames need a bound.
      if (!known && this.local.size >= MAX_LOCAL_KEYS) this.sweep(now);
      counter = { failures: 0, windowEndsAt: 0, checks: 0 };
      counters.set(digest, counter);
    } else if (counter.failures > 0 && now >= counter.windowEndsAt) {
      counter.failures = 0;
    }
    return counter;
  }

  async onApplicationShutdown(): Promise<void> {
    if (this.redis) await closeRedis(this.redis);
  }

  private sweep(now: number): void {
    for (const [key, counter] of this.local) {
      if (counter.checks === 0 && (counter.failures === 0 || now >= counter.windowEndsAt)) this.local.delete(key);
    }
    // Still full of live windows (a spray of made-up usernames): forget the oldest rather than grow without end.
    for (const key of this.local.keys()) {
      if (this.local.size < MAX_LOCAL_KEYS) break;
      this.local.delete(key);
    }
  }

  private warn(error: unknown): void {
    if (this.clock.now() - this.warnedAt < 10_000) return;
    this.warnedAt = this.clock.now();
    this.logger.error(
      `Basic-auth failure counters unavailable in Redis, counting in process: ${redisErrorText(error)}`,
    );
  }
}

/** Usernames are hashed so the shared store holds none of them, and every key has the same length. */
function digestOf(username: string): string {
  return createHash('sha256').update(username, 'utf8').digest('base64url');
}
