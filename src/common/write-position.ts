/**
 * A committed write's place in the primary's WAL, as the service replicas pass it to each other (with a cache
 * invalidation, and kept next to the scope's generation in Redis): PostgreSQL's `pg_lsn` text (`16/B374D848`), or
 * `UNKNOWN_POSITION` when the writer could not read it (the primary out of reach just after its commit). A scope
 * written at an unknown position reads from the primary for `UNKNOWN_POSITION_TTL_MS`.
 */
export const UNKNOWN_POSITION = 'unknown';
export const UNKNOWN_POSITION_TTL_MS = 60_000;
