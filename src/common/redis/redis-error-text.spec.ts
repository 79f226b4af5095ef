import { redisErrorText } from './redis-error-text';

describe('redisErrorText', () => {
  it('says how to trust Redis when its TLS certificate is what failed', () => {
    const untrusted = Object.assign(new Error('unable to verify the first certificate'), {
      code: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
    });
    expect(redisErrorText(untrusted)).toBe(
      "Error: unable to verify the first certificate (Redis's TLS certificate is not trusted: add the CA that " +
        'signed it with NODE_EXTRA_CA_CERTS)',
    );
  });

  it('says to set REDIS_CLUSTER when a cluster node redirects a command elsewhere', () => {
    const moved = Object.assign(new Error('MOVED 5798 127.0.0.1:7001'), { name: 'ReplyError' });
    expect(redisErrorText(moved)).toBe(
      'ReplyError: MOVED 5798 127.0.0.1:7001 (REDIS_URL is a node of a Redis Cluster: set REDIS_CLUSTER=true)',
    );
    expect(redisErrorText('ASK 12 10.0.0.2:6379')).toMatch(/set REDIS_CLUSTER=true\)$/);
    expect(redisErrorText('ERR unknown command MOVED')).toBe('ERR unknown command MOVED');
  });

  it('leaves any other error as it is', () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:6379'), { code: 'ECONNREFUSED' });
    expect(redisErrorText(refused)).toBe('Error: connect ECONNREFUSED 127.0.0.1:6379');
    expect(redisErrorText('READONLY')).toBe('READONLY');
  });
});
