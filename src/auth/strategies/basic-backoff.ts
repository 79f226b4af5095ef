import { Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import { createHash } from 'node:crypto';
import { Clock } from '../../common/clock';
import { closeRedis } from '../../common/redis/close-redis';
import { redisClient, type RedisConnection } from '../../common/redis/redis-client';
import { AppConfig } from '../../config';
import { redisErrorText } from '../../common/redis/redis-error-text';

/** A stalled Redis must not hold a login: the in-process counters answer after this long. */
const COMMAND_TIMEOUT_MS = 250;
const MAX_LOCAL_KEYS = 100_000;
const KEY_PREFIX = 'wf:basic-failures:';
// Counts the attempt as a failure before its password is checked, unless the username is used up (then 0).
// The window starts with the first failure only: later failures never extend it.
const RESERVE = `local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
if n > tonumber(ARGV[2]) then redis.call('DECR', KEYS[1]) return 0 end
return 1`;
// Takes back a reserved failure whose password was right (never below zero, nor after the window ended).
const RELEASE = `local n = tonumber(redis.call('GET', KEYS[1]) or '0')
if n > 0 then redis.call('DECR', KEYS[1]) end
return 0`;

/**
 * Failed basic-auth attempts per username, in fixed windows (BASIC_AUTH_MAX_FAILURES per
 * BASIC_AUTH_FAILURE_WINDOW_SECONDS): once a username has that many in its window, it is refused without its
 * password being checked until the window ends. Counted for every username presented, existing or not, so a
 * refusal (or its speed) says nothing about which usernames exist. In Redis when REDIS_URL is set (every replica
 * counts together), else in process; while Redis is unreachable the in-process counters stand in.
 */
@Injectable()
export class BasicBackoff implements OnApplicationShutdown {
  private readonly logger = new Logger('BasicBackoff');
  private readonly redis?: RedisConnection;
  private readonly local = new Map<string, { failures: number; expiresAt: number }>();
  /**
   * The in-process counters of configured usernames, apart: a spray of made-up usernames fills `local` and has its
   * oldest windows forgotten, which forgot a real username's count too (and gave its guesser a fresh window).
   */
  private readonly localKnown = new Map<string, { failures: number; expiresAt: number }>();
  private warnedAt = 0;

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
   * Reserves one of the username's failures before its password is checked: false when none is left in the
   * window. The attempt counts as a failure until `release`d, so concurrent wrong guesses cannot all pass a check
   * made before any of them was counted.
   */
  async reserve(username: string, known = false): Promise<boolean> {
    if (!this.enabled) return true;
    const key = keyOf(username);
    const { maxFailures, windowSeconds } = this.config.network.basicBackoff;
    if (this.redis) {
      try {
        return (await this.redis.eval(RESERVE, 1, key, windowSeconds * 1000, maxFailures)) === 1;
      } catch (error: unknown) {
        this.warn(error);
      }
    }
    const entry = this.localEntry(key, windowSeconds * 1000, known);
    if (entry.failures >= maxFailures) return false;
    entry.failures += 1;
    return true;
  }

  /** The password was right: the reserved failure is taken back (without waiting for Redis). */
  release(username: string): void {
    if (!this.enabled) return;
    const key = keyOf(username);
    if (this.redis?.status === 'ready') {
      this.redis.eval(RELEASE, 1, key).catch((error: unknown) => this.warn(error));
      return;
    }
    const entry = this.localKnown.get(key) ?? this.local.get(key);
    if (entry && entry.failures > 0) entry.failures -= 1;
  }

  private localEntry(key: string, windowMs: number, known: boolean): { failures: number; expiresAt: number } {
    const now = this.clock.now();
    const counters = known ? this.localKnown : this.local;
    let entry = counters.get(key);
    if (!entry || now >= entry.expiresAt) {
      // The known ones are as many as the callers file's basic callers: only made-up usernames need a bound.
      if (!known && this.local.size >= MAX_LOCAL_KEYS) this.sweep(now);
      entry = { failures: 0, expiresAt: now + windowMs };
      counters.set(key, entry);
    }
    return entry;
  }

  async onApplicationShutdown(): Promise<void> {
    if (this.redis) await closeRedis(this.redis);
  }

  private sweep(now: number): void {
    for (const [key, entry] of this.local) if (now >= entry.expiresAt) this.local.delete(key);
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
function keyOf(username: string): string {
  return KEY_PREFIX + createHash('sha256').update(username, 'utf8').digest('base64url');
}
