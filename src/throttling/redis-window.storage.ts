import type { ThrottlerStorage } from '@nestjs/throttler';
import type { ThrottlerStorageRecord } from '@nestjs/throttler/dist/throttler-storage-record.interface';
import type { RedisConnection } from '../common/redis/redis-client';

/**
 * One hit against a key's fixed window, atomically: a key still blocked answers blocked without counting the hit;
 * otherwise the hit is counted, and the one over the limit blocks the key for the block duration or the rest of
 * the window, whichever is longer. Returns hits, the window's milliseconds left, 1 when blocked, the block's
 * milliseconds left.
 */
const HIT_SCRIPT = `
local blockedFor = redis.call('PTTL', KEYS[2])
if blockedFor > 0 then
  -- A block outlives the window it began in: its hits may be gone, but the key is over its limit all the same.
  local hits = tonumber(redis.call('GET', KEYS[1]) or '0')
  if hits == 0 then hits = tonumber(ARGV[2]) + 1 end
  return { hits, math.max(redis.call('PTTL', KEYS[1]), 0), 1, blockedFor }
end
local ttl, limit, blockDuration = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local hits = redis.call('INCR', KEYS[1])
local expiresIn = redis.call('PTTL', KEYS[1])
if expiresIn < 0 then
  redis.call('PEXPIRE', KEYS[1], ttl)
  expiresIn = ttl
end
if hits <= limit then return { hits, expiresIn, 0, 0 } end
local blockFor = math.max(blockDuration, expiresIn)
redis.call('SET', KEYS[2], '1', 'PX', blockFor)
return { hits, expiresIn, 1, blockFor }
`;

/**
 * Fixed-window counters in Redis, one budget for every replica, with the in-memory FixedWindowStorage's rules: a
 * refused request does not count, so a caller refused for a window gets its full budget once the block ends.
 * (`@nest-lab/throttler-storage-redis` counted refused requests into the next window: a caller that kept sending
 * through its block was over the limit again the moment the block ended, and refused for good.) A key's two
 * Redis keys share a hash tag, so a cluster keeps them on one node.
 */
export class RedisWindowStorage implements ThrottlerStorage {
  constructor(private readonly redis: RedisConnection) {}

  async increment(
    key: string,
    ttl: number,
    limit: number,
    blockDuration: number,
    throttlerName: string,
  ): Promise<ThrottlerStorageRecord> {
    const tag = `{${key}:${throttlerName}}`;
    const [hits, expiresInMs, blocked, blockedForMs] = (await this.redis.eval(
      HIT_SCRIPT,
      2,
      `${tag}:hits`,
      `${tag}:blocked`,
      ttl,
      limit,
      blockDuration,
    )) as [number, number, number, number];
    const isBlocked = blocked === 1;
    return {
      totalHits: hits,
      timeToExpire: Math.ceil(expiresInMs / 1000),
      isBlocked,
      timeToBlockExpire: isBlocked ? Math.max(1, Math.ceil(blockedForMs / 1000)) : 0,
    };
  }
}
