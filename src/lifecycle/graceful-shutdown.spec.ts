import { closeMarginMs } from './graceful-shutdown';

describe('the part of the grace period left for closing', () => {
  it('is 2 s, or half of what the delay leaves when that is less: the drain never gets nothing', () => {
    expect(closeMarginMs({ delayMs: 5000, graceMs: 25000 })).toBe(2000);
    // The least the configuration allows (2 s after the delay): 1 s to drain, 1 s to close.
    expect(closeMarginMs({ delayMs: 23000, graceMs: 25000 })).toBe(1000);
    expect(closeMarginMs({ delayMs: 0, graceMs: 2000 })).toBe(1000);
  });
});
