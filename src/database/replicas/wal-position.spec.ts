import { hasReached, replayLagMs, walPosition } from './wal-position';

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

describe('replay lag', () => {
  const samples = [
    { at: 1000, position: 100n },
    { at: 1200, position: 150n },
    { at: 1400, position: 150n },
  ];

  it('is how long ago the primary first stood past the replayed position', () => {
    expect(replayLagMs(samples, 120n, 1500, 1000)).toBe(300);
    expect(replayLagMs(samples, 90n, 1500, 1000)).toBe(500);
    expect(replayLagMs([], 90n, 1500, 1000)).toBeUndefined();
  });

  it('is 0 for a replica caught up with a fresh sample (an idle primary never makes a replica look late)', () => {
    expect(replayLagMs(samples, 150n, 1600, 1000)).toBe(0);
  });

  it("grows with the newest sample's age once no fresh sample comes: the primary may have written since", () => {
    // The primary's position has not been read for 30 s (a failover, a saturated pool): before, 0 for good.
    expect(replayLagMs(samples, 150n, 31_400, 1000)).toBe(30_000);
  });
});
