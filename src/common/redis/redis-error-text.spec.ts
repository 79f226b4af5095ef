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

  it('leaves any other error as it is', () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:6379'), { code: 'ECONNREFUSED' });
    expect(redisErrorText(refused)).toBe('Error: connect ECONNREFUSED 127.0.0.1:6379');
    expect(redisErrorText('READONLY')).toBe('READONLY');
  });
});
