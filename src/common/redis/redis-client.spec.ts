import { isReadOnlyReply, redisClient } from './redis-client';

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
      expect(client.options).toMatchObject({ port: 1, enableOfflineQueue: false, reconnectOnError: isReadOnlyReply });
    } finally {
      client.disconnect();
    }
  });
});
