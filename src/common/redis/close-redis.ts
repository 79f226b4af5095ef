import type { RedisConnection } from './redis-client';

/** Closes a client politely when connected, at once otherwise (quit() would wait for a server that is down). */
export async function closeRedis(redis: RedisConnection): Promise<void> {
  if (redis.status === 'ready') await redis.quit().catch(() => redis.disconnect());
  else redis.disconnect();
}
