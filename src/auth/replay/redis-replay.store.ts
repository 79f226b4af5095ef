import { Injectable, OnModuleDestroy } from '@nestjs/common';
import { closeRedis } from '../../common/redis/close-redis';
import { redisClient, type RedisConnection } from '../../common/redis/redis-client';
import { AppConfig } from '../../config';
import { ReplayStore, type ReplayVerdict } from './replay-store';

export const REDIS_COMMAND_TIMEOUT_MS = 500;

/**
 * One atomic step: store the digest if the id is new; if it is known with the same digest, extend its expiry to
 * the later of the two windows; answer 0 (accepted) or 1 (conflict: known with another digest).
 */
const REMEMBER_SCRIPT = `
local seen = redis.call('GET', KEYS[1])
if not seen then
  redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
  return 0
end
if seen ~= ARGV[1] then return 1 end
if redis.call('TTL', KEYS[1]) < tonumber(ARGV[2]) then redis.call('EXPIRE', KEYS[1], ARGV[2]) end
return 0`;

/** Replay window in Redis (id → body digest, with an expiry), shared by every replica when REDIS_URL is set. */
@Injectable()
export class RedisReplayStore extends ReplayStore implements OnModuleDestroy {
  private readonly redis: RedisConnection;

  constructor(config: AppConfig) {
    super();
    // While Redis is unreachable a command fails at once (no offline queue) or after a short timeout (a
    // stalled server), so a turn never spends its deadline waiting; ioredis reconnects by itself.
    this.redis = redisClient(
      config.redisUrl as string,
      { maxRetriesPerRequest: 1, enableOfflineQueue: false, commandTimeout: REDIS_COMMAND_TIMEOUT_MS },
      config.redisTopology,
    );
    // Errors surface on the commands that fail; without a listener ioredis would log every reconnect attempt.
    this.redis.on('error', () => undefined);
  }

  async remember(
    callerId: string,
    messageId: string,
    bodyDigest: string,
    windowSeconds: number,
  ): Promise<ReplayVerdict> {
    const key = `webhook-fulfillment:replay:${callerId}:${messageId}`;
    const conflict = await this.redis.eval(REMEMBER_SCRIPT, 1, key, bodyDigest, Math.ceil(windowSeconds));
    return conflict === 1 ? 'conflict' : 'accepted';
  }

  async onModuleDestroy(): Promise<void> {
    await closeRedis(this.redis);
  }
}
