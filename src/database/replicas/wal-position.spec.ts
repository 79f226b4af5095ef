import { hasReached, walPosition } from './wal-position';

describe('WAL positions', () => {
  it('compare as numbers, not as text', () => {
    expect(walPosition('0/0')).toBe(0n);
    expect(walPosition('1/0')).toBe(1n << 32n);
    expect(hasReached('0/10000000', '0/F0000000')).toBe(false);
    expect(hasReached('1/0', '0/FFFFFFFF')).toBe(true);
    expect(hasReached('16/B374D848', '16/B374D848')).toBe(true);
    expect(hasReached('A/0', '9/FFFFFFFF')).toBe(true);
  });

  it('refuses text that is not a position', () => {
    for (const text of ['', '0', '0/', 'x/1', '1/2/3', '123456789/0']) expect(() => walPosition(text)).toThrow();
  });
});
