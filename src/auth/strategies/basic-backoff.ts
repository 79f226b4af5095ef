import { Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import { createHash } from 'node:crypto';
import Redis from 'ioredis';
import { Clock } from '../../common/clock';
import { closeRedis } from '../../common/redis/close-redis';
import { AppConfig } from '../../config';

/** A stalled Redis must not hold a login: the in-process counters answer after this long. */
const COMMAND_TIMEOUT_MS = 250;
const MAX_LOCAL_KEYS = 100_000;
const KEY_PREFIX = 'wf:basic-failures:';
// INCR, and start the window with the first failure only: later failures never extend it.
const RECORD_FAILURE = `local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return n`;

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
  private readonly redis?: Redis;
  private readonly local = new Map<string, { failures: number; expiresAt: number }>();
  private warnedAt = 0;

  constructor(
    private readonly config: AppConfig,
    private readonly clock: Clock,
  ) {
    if (config.redisUrl && this.enabled) {
      this.redis = new Redis(config.redisUrl, {
        maxRetriesPerRequest: 1,
        enableOfflineQueue: false,
        commandTimeout: COMMAND_TIMEOUT_MS,
      });
      this.redis.on('error', (error: Error) => this.warn(error));
    }
  }

  private get enabled(): boolean {
    return this.config.network.basicBackoff.maxFailures > 0;
  }

  /** Whether this username has used up its failures for the current window. */
  async blocked(username: string): Promise<boolean> {
    if (!this.enabled) return false;
    const key = keyOf(username);
    const { maxFailures } = this.config.network.basicBackoff;
    if (this.redis) {
      try {
        return Number((await this.redis.get(key)) ?? 0) >= maxFailures;
      } catch (error: unknown) {
        this.warn(error);
      }
    }
    return this.localFailures(key) >= maxFailures;
  }

  async recordFailure(username: string): Promise<void> {
    if (!this.enabled) return;
    const key = keyOf(username);
    const windowMs = this.config.network.basicBackoff.windowSeconds * 1000;
    if (this.redis) {
      try {
        await this.redis.eval(RECORD_FAILURE, 1, key, windowMs);
        return;
      } catch (error: unknown) {
        this.warn(error);
      }
    }
    const now = this.clock.now();
    let entry = this.local.get(key);
    if (!entry || now >= entry.expiresAt) {
      if (this.local.size >= MAX_LOCAL_KEYS) this.sweep(now);
      entry = { failures: 0, expiresAt: now + windowMs };
      this.local.set(key, entry);
    }
    entry.failures += 1;
  }

  async onApplicationShutdown(): Promise<void> {
    if (this.redis) await closeRedis(this.redis);
  }

  private localFailures(key: string): number {
    const entry = this.local.get(key);
    return entry && this.clock.now() < entry.expiresAt ? entry.failures : 0;
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
    this.logger.error(`Basic-auth failure counters unavailable in Redis, counting in process: ${String(error)}`);
  }
}

/** Usernames are hashed so the shared store holds none of them, and every key has the same length. */
function keyOf(username: string): string {
  return KEY_PREFIX + createHash('sha256').update(username, 'utf8').digest('base64url');
}
