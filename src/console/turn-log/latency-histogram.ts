/**
 * Turn durations counted in fixed, log-spaced buckets: what the turn log's per-minute rollup keeps instead of every
 * duration, so that a day's percentiles are read from a few thousand rows. Bucket 0 holds durations under
 * `FLOOR_MS`; bucket i (1 … 144) holds [FLOOR_MS·2^((i−1)/8), FLOOR_MS·2^(i/8)); the last one, 65.5 s and more.
 * The layout is stored (turn_log_minutes.latency): changing it takes a migration that converts the rows.
 */
const FLOOR_MS = 0.25;
const BUCKETS_PER_DOUBLING = 8;
const DOUBLINGS = 18;

/** Buckets in a histogram: under the floor, the log-spaced ones, over the top. */
export const LATENCY_BUCKETS = DOUBLINGS * BUCKETS_PER_DOUBLING + 2;

/**
 * How far a percentile read from the histogram may be from the exact one (nearest rank), relative to it: a bucket
 * spans a factor 2^(1/8), so a figure placed in its bucket is off by 9.05 % at most (by 0.25 ms at most under
 * 0.25 ms).
 */
export const PERCENTILE_RELATIVE_ERROR = 2 ** (1 / BUCKETS_PER_DOUBLING) - 1;

/** Where bucket `bucket` starts (inclusive) and ends (exclusive), in milliseconds. */
export function latencyBucketBounds(bucket: number): readonly [lowerMs: number, upperMs: number] {
  if (bucket <= 0) return [0, FLOOR_MS];
  const lower = FLOOR_MS * 2 ** ((bucket - 1) / BUCKETS_PER_DOUBLING);
  if (bucket >= LATENCY_BUCKETS - 1) return [lower, Infinity];
  return [lower, FLOOR_MS * 2 ** (bucket / BUCKETS_PER_DOUBLING)];
}

/** The bucket a duration falls in. */
export function latencyBucket(durationMs: number): number {
  if (!(durationMs >= FLOOR_MS)) return 0;
  let bucket = Math.min(LATENCY_BUCKETS - 1, 1 + Math.floor(Math.log2(durationMs / FLOOR_MS) * BUCKETS_PER_DOUBLING));
  // log2 may land an ulp off at a bound: the bounds above decide.
  while (bucket > 1 && durationMs < latencyBucketBounds(bucket)[0]) bucket--;
  while (durationMs >= latencyBucketBounds(bucket)[1]) bucket++;
  return bucket;
}

/**
 * The `fraction` percentile (0.95 for p95) of the durations a histogram counts: the nearest-rank one, placed in its
 * bucket by its rank among the bucket's turns, and never outside the shortest and longest durations seen. Within
 * `PERCENTILE_RELATIVE_ERROR` of the exact figure. 0 for an empty histogram.
 */
export function latencyPercentile(
  counts: readonly number[],
  fraction: number,
  seen: { readonly minMs: number; readonly maxMs: number },
): number {
  const total = counts.reduce((sum, count) => sum + count, 0);
  if (total === 0) return 0;
  const rank = Math.max(1, Math.ceil(fraction * total));
  let before = 0;
  for (let bucket = 0; bucket < counts.length; bucket++) {
    const count = counts[bucket];
    if (before + count >= rank) {
      const [lower, upper] = latencyBucketBounds(bucket);
      const from = Math.max(lower, seen.minMs);
      const to = Math.min(upper, seen.maxMs);
      if (to <= from) return from;
      return from + ((rank - before - 0.5) / count) * (to - from);
    }
    before += count;
  }
  return seen.maxMs;
}

/**
 * A histogram as an SQL expression made of one term per bucket (`bucket` from 0; an SQL array's subscript is
 * `bucket + 1`): PostgreSQL adds and sums arrays a bucket at a time far faster this way than by unnesting them.
 */
export function bucketwiseSql(term: (bucket: number) => string): string {
  return `ARRAY[${Array.from({ length: LATENCY_BUCKETS }, (_, bucket) => term(bucket)).join(', ')}]::int[]`;
}
