import { isLoopbackAddress } from './loopback';

describe('isLoopbackAddress', () => {
  it.each([
    '127.0.0.1',
    '127.8.9.10',
    '::1',
    '[::1]',
    '::ffff:127.0.0.1',
    '0:0:0:0:0:0:0:1',
    '0:0:0:0:0:ffff:127.0.0.1',
  ])('accepts %s', (address) => expect(isLoopbackAddress(address)).toBe(true));

  it.each([
    undefined,
    '',
    '10.0.0.1',
    '192.168.1.127',
    '::ffff:10.0.0.1',
    '::2',
    '[::ffff:192.168.0.1]',
    'localhost',
    '127.0.0.1.evil.example',
    '1127.0.0.1',
    'fe80::1',
  ])('refuses %s', (address) => expect(isLoopbackAddress(address)).toBe(false));
});
