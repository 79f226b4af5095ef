import {
  LATENCY_BUCKETS,
  latencyBucket,
  latencyBucketBounds,
  latencyPercentile,
  PERCENTILE_RELATIVE_ERROR,
} from './latency-histogram';

/** A repeatable stream of numbers in [0, 1) (mulberry32). */
function random(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function histogramOf(durations: readonly number[]): number[] {
  const counts = new Array<number>(LATENCY_BUCKETS).fill(0);
  for (const duration of durations) counts[latencyBucket(duration)]++;
  return counts;
}

/** The exact nearest-rank percentile (PostgreSQL's percentile_disc). */
function exact(durations: readonly number[], fraction: number): number {
  const sorted = [...durations].sort((a, b) => a - b);
  return sorted[Math.max(1, Math.ceil(fraction * sorted.length)) - 1];
}

const seenIn = (durations: readonly number[]) => ({ minMs: Math.min(...durations), maxMs: Math.max(...durations) });

describe('latency histogram', () => {
  it('puts a duration in the bucket whose bounds hold it, from under 0.25 ms to over a minute', () => {
    expect(latencyBucket(0)).toBe(0);
    expect(latencyBucket(0.2499)).toBe(0);
    expect(latencyBucket(0.25)).toBe(1);
    expect(latencyBucket(1)).toBe(17);
    expect(latencyBucketBounds(17)).toEqual([1, 2 ** (1 / 8)]);
    expect(latencyBucket(65_535.9)).toBe(LATENCY_BUCKETS - 2);
    expect(latencyBucket(65_536)).toBe(LATENCY_BUCKETS - 1);
    expect(latencyBucket(3_600_000)).toBe(LATENCY_BUCKETS - 1);
    expect(latencyBucketBounds(LATENCY_BUCKETS - 1)).toEqual([65_536, Infinity]);
    const next = random(1);
    for (let n = 0; n < 20_000; n++) {
      const duration = 10 ** (next() * 6 - 1.5);
      const [lower, upper] = latencyBucketBounds(latencyBucket(duration));
      expect(duration).toBeGreaterThanOrEqual(lower);
      expect(duration).toBeLessThan(upper);
    }
  });

  it('has buckets that follow one another without gaps, each at most 9.05 % wide', () => {
    expect(PERCENTILE_RELATIVE_ERROR).toBeCloseTo(0.0905, 4);
    for (let bucket = 1; bucket < LATENCY_BUCKETS - 1; bucket++) {
      const [lower, upper] = latencyBucketBounds(bucket);
      expect(latencyBucketBounds(bucket - 1)[1]).toBe(lower);
      expect((upper - lower) / lower).toBeLessThanOrEqual(PERCENTILE_RELATIVE_ERROR + 1e-12);
      expect(latencyBucket(lower)).toBe(bucket);
    }
  });

  it.each([
    ['fast turns, a slow tail', (next: () => number) => 20 + 30 * next() + (next() < 0.05 ? 2000 * next() : 0)],
    ['log-uniform from 0.3 ms to 30 s', (next: () => number) => 0.3 * 10 ** (5 * next())],
    ['two modes', (next: () => number) => (next() < 0.7 ? 80 + 10 * next() : 900 + 300 * next())],
  ])('reads p50, p95 and p99 within the stated error of the exact figures (%s)', (_, draw) => {
    const next = random(7);
    for (const size of [1, 2, 7, 100, 5000]) {
      const durations = Array.from({ length: size }, () => draw(next));
      const histogram = histogramOf(durations);
      for (const fraction of [0, 0.5, 0.95, 0.99, 1]) {
        const truth = exact(durations, fraction);
        const estimate = latencyPercentile(histogram, fraction, seenIn(durations));
        expect(Math.abs(estimate - truth)).toBeLessThanOrEqual(truth * PERCENTILE_RELATIVE_ERROR);
      }
    }
  });

  it('reads the percentiles of merged minutes (their histograms added bucket by bucket) as of all their turns', () => {
    const next = random(11);
    const minutes = Array.from({ length: 60 }, (_, minute) =>
      Array.from({ length: 50 + minute }, () => 40 + minute + 200 * next() ** 3),
    );
    const merged = new Array<number>(LATENCY_BUCKETS).fill(0);
    for (const histogram of minutes.map(histogramOf)) histogram.forEach((count, bucket) => (merged[bucket] += count));
    const all = minutes.flat();
    expect(merged).toEqual(histogramOf(all));
    for (const fraction of [0.5, 0.95, 0.99]) {
      const truth = exact(all, fraction);
      expect(Math.abs(latencyPercentile(merged, fraction, seenIn(all)) - truth)).toBeLessThanOrEqual(
        truth * PERCENTILE_RELATIVE_ERROR,
      );
    }
  });

  it('gives the one duration seen when every turn took it, and 0 for no turns', () => {
    const durations = [2000, 2000, 2000, 2000, 2000];
    for (const fraction of [0.5, 0.95, 0.99]) {
      expect(latencyPercentile(histogramOf(durations), fraction, seenIn(durations))).toBe(2000);
    }
    expect(latencyPercentile(new Array<number>(LATENCY_BUCKETS).fill(0), 0.5, { minMs: 0, maxMs: 0 })).toBe(0);
  });
});
