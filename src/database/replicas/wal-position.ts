/** A PostgreSQL WAL position (`pg_lsn` as text, `16/B374D848`) as a number that compares exactly. */
export function walPosition(lsn: string): bigint {
  const match = /^([0-9A-Fa-f]{1,8})\/([0-9A-Fa-f]{1,8})$/.exec(lsn);
  if (!match) throw new Error(`not a WAL position: ${lsn}`);
  return (BigInt(`0x${match[1]}`) << 32n) | BigInt(`0x${match[2]}`);
}

/** Whether position `a` has reached `b`. */
export function hasReached(a: string, b: string): boolean {
  return walPosition(a) >= walPosition(b);
}

/** The primary's WAL position at a moment (one per replica check). */
export interface PrimarySample {
  readonly at: number;
  readonly position: bigint;
}

/**
 * How far (ms) a replica that has replayed up to `replayed` is behind: how long ago the primary first stood past
 * it, from the samples (oldest first). Caught up with the newest sample is 0 while that sample is fresh
 * (`freshForMs`); with no newer one since (the primary's position cannot be read: a failover under way, the pool
 * saturated), what the primary wrote meanwhile is unknown, so the lag is at least the sample's age. Undefined
 * before any sample.
 */
export function replayLagMs(
  samples: readonly PrimarySample[],
  replayed: bigint,
  now: number,
  freshForMs: number,
): number | undefined {
  if (samples.length === 0) return undefined;
  const newest = samples[samples.length - 1];
  if (replayed >= newest.position) {
    const age = now - newest.at;
    return age <= freshForMs ? 0 : age;
  }
  const firstAhead = samples.find((sample) => sample.position > replayed);
  return now - (firstAhead ?? samples[0]).at;
}
