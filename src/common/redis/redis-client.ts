import Redis, { type RedisOptions } from 'ioredis';

/** `READONLY You can't write against a read only replica.`, also as a script's error when one of its writes met it. */
const READ_ONLY_REPLY = /\bREADONLY\b/;

/** Whether Redis refused a write because the server the connection reached is a replica. */
export function isReadOnlyReply(error: Error): boolean {
  return READ_ONLY_REPLY.test(error.message);
}

/**
 * A connection to REDIS_URL that leaves a server taking no writes. A managed Redis fails over by moving its
 * primary endpoint to the promoted replica, while the connections opened before still reach the old primary, now a
 * replica of the new one: every write there is answered READONLY, for as long as the connection lasts (ioredis
 * reconnects only when a connection ends). A READONLY reply here fails its command as any Redis error does (the
 * caller's fallback applies) and ends the connection, so the next one is made to whatever the address names now.
 */
export function redisClient(url: string, options: RedisOptions): Redis {
  return new Redis(url, { ...options, reconnectOnError: isReadOnlyReply });
}
