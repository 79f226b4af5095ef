import { Cluster } from 'ioredis';
import type Redis from 'ioredis';
import {
  isReadOnlyReply,
  keepAlive,
  REDIS_HEARTBEAT_INTERVAL_MS,
  REDIS_SOCKET_TIMEOUT_MS,
  redisClient,
} from './redis-client';

describe('redisClient', () => {
  it('leaves a server that answers a write READONLY (a primary demoted by a failover), and only then', () => {
    expect(isReadOnlyReply(new Error("READONLY You can't write against a read only replica."))).toBe(true);
    // A script whose write met it (the replay window's and the rate limits' scripts).
    expect(
      isReadOnlyReply(
        new Error("READONLY You can't write against a read only replica. script: 2ff7…, on @user_script:4."),
      ),
    ).toBe(true);
    expect(isReadOnlyReply(new Error("OOM command not allowed when used memory > 'maxmemory'."))).toBe(false);
    expect(isReadOnlyReply(new Error('NOSCRIPT No matching script. Please use EVAL.'))).toBe(false);
    expect(isReadOnlyReply(new Error('LOADING Redis is loading the dataset in memory'))).toBe(false);
  });

  it('keeps the options it is given and reconnects on that reply', () => {
    const client = redisClient('redis://127.0.0.1:1', { lazyConnect: true, enableOfflineQueue: false });
    try {
      expect(client.options).toMatchObject({
        port: 1,
        enableOfflineQueue: false,
        reconnectOnError: isReadOnlyReply,
        // A connection with commands waiting that reads nothing this long is made again (a dead path).
        socketTimeout: REDIS_SOCKET_TIMEOUT_MS,
      });
    } finally {
      client.disconnect();
    }
  });

  it("makes a cluster client seeded with the URL's node, its credentials and TLS for every node", () => {
    const client = redisClient(
      'rediss://bot:p%40ss@cluster.example:7000/0',
      { lazyConnect: true, enableOfflineQueue: false, commandTimeout: 200 },
      { cluster: true },
    );
    try {
      expect(client).toBeInstanceOf(Cluster);
      const cluster = client as Cluster;
      // The seed is private to ioredis; it is what the cluster is first asked about.
      expect(cluster['startupNodes']).toEqual([{ host: 'cluster.example', port: 7000 }]);
      expect(cluster.options).toMatchObject({ enableOfflineQueue: false, lazyConnect: true });
      expect(cluster.options.redisOptions).toMatchObject({
        username: 'bot',
        password: 'p@ss',
        tls: {},
        socketTimeout: REDIS_SOCKET_TIMEOUT_MS,
      });
      // The cluster times each command itself, across redirections, not each node connection.
      expect(cluster.options.redisOptions).not.toHaveProperty('commandTimeout');
      expect((cluster as unknown as { commandTimeoutMs: number }).commandTimeoutMs).toBe(200);
    } finally {
      client.disconnect();
    }
  });

  it('keeps a listening connection asking, while it is connected, until stopped', () => {
    jest.useFakeTimers();
    try {
      const redis = { status: 'ready', ping: jest.fn(() => Promise.resolve('PONG')) };
      const stop = keepAlive(redis as unknown as Redis);
      jest.advanceTimersByTime(REDIS_HEARTBEAT_INTERVAL_MS * 2);
      expect(redis.ping).toHaveBeenCalledTimes(2);
      redis.status = 'reconnecting';
      jest.advanceTimersByTime(REDIS_HEARTBEAT_INTERVAL_MS);
      expect(redis.ping).toHaveBeenCalledTimes(2);
      redis.status = 'ready';
      stop();
      jest.advanceTimersByTime(REDIS_HEARTBEAT_INTERVAL_MS * 3);
      expect(redis.ping).toHaveBeenCalledTimes(2);
    } finally {
      jest.useRealTimers();
    }
  });
});
