import { Injectable, OnModuleDestroy } from '@nestjs/common';
import Redis from 'ioredis';
import { closeRedis } from '../../common/redis/close-redis';
import { AppConfig } from '../../config';
import { ReplayStore } from './replay-store';

export const REDIS_COMMAND_TIMEOUT_MS = 500;

/** Replay window in Redis (`SET NX EX`), shared by every replica when REDIS_URL is set. */
@Injectable()
export class RedisReplayStore extends ReplayStore implements OnModuleDestroy {
  private readonly redis: Redis;

  constructor(config: AppConfig) {
    super();
    // While Redis is unreachable a command fails at once (no offline queue) or after a short timeout (a
    // stalled server), so a turn never spends its deadline waiting; ioredis reconnects by itself.
    this.redis = new Redis(config.redisUrl as string, {
      maxRetriesPerRequest: 1,
      enableOfflineQueue: false,
      commandTimeout: REDIS_COMMAND_TIMEOUT_MS,
    });
    // Errors surface on the commands that fail; without a listener ioredis would log every reconnect attempt.
    this.redis.on('error', () => undefined);
  }

  async remember(callerId: string, messageId: string, windowSeconds: number): Promise<boolean> {
    const key = `webhook-fulfillment:replay:${callerId}:${messageId}`;
    return (await this.redis.set(key, '1', 'EX', windowSeconds, 'NX')) === 'OK';
  }

  async onModuleDestroy(): Promise<void> {
    await closeRedis(this.redis);
  }
}
