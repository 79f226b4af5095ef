import { Injectable } from '@nestjs/common';
import { type ExpiringRows, PurgesExpiredRows } from '../common/retention';
import { DatabasePool } from '../database/database-pool';
import { sql } from '../database/sql';
import type { IdempotencyRecord } from './idempotency-record.entity';

export interface ClaimRequest {
  readonly callerId: string;
  readonly key: string;
  readonly platform: string;
  readonly requestHash: string;
  /** Unique per attempt: only the claimant may complete or release the record. */
  readonly owner: string;
  readonly leaseMs: number;
  readonly ttlMs: number;
}

export type ExistingRecord =
  | { readonly state: 'completed'; readonly requestHash: string; readonly status: number; readonly body: string }
  | { readonly state: 'in-flight'; readonly requestHash: string; readonly leaseExpired: boolean };

/**
 * A claim's answer: the key is this attempt's now, or it is not and `existing` is the record in the way as the claim
 * saw it (undefined when none was visible to it: one committed just after the claim began, or one gone meanwhile).
 */
export type ClaimOutcome =
  { readonly claimed: true } | { readonly claimed: false; readonly existing: ExistingRecord | undefined };

type RecordRow = Pick<IdempotencyRecord, 'state' | 'requestHash' | 'responseStatus' | 'responseBody'> & {
  leaseExpired: boolean | null;
};

// A record can be taken over when it has expired (not yet purged), or when it is in flight under a lease its
// owner let lapse (the replica died) and the body is the same. A renewed lease keeps its record from expiring
// (RENEW): work still running past IDEMPOTENCY_TTL_HOURS is not taken over. Only a record taken over is locked: a
// claim that finds the key held (in flight under a live lease, or completed) leaves it alone, where
// `INSERT … ON CONFLICT DO UPDATE … WHERE` locks the row it conflicts with whether or not it updates it, and a burst
// of duplicates then queued on that lock, each holding a pool connection, ahead of the owner's COMPLETE.
const CLAIM = sql<
  { claimed: boolean } & { [Column in keyof RecordRow]: RecordRow[Column] | null },
  [callerId: string, key: string, platform: string, requestHash: string, owner: string, leaseMs: number, ttlMs: number]
>(
  'idempotency_claim',
  `WITH taken AS (
     UPDATE idempotency_records SET
       platform = $3, request_hash = $4, state = 'in-flight', owner = $5,
       lease_expires_at = now() + make_interval(secs => $6::double precision / 1000),
       response_status = NULL, response_body = NULL, created_at = now(),
       expires_at = now() + make_interval(secs => $7::double precision / 1000)
     WHERE caller_id = $1 AND key = $2
       AND (expires_at < now() OR (state = 'in-flight' AND lease_expires_at < now() AND request_hash = $4))
     RETURNING 1),
   inserted AS (
     INSERT INTO idempotency_records (caller_id, key, platform, request_hash, state, owner, lease_expires_at, expires_at)
     SELECT $1, $2, $3, $4, 'in-flight', $5,
       now() + make_interval(secs => $6::double precision / 1000), now() + make_interval(secs => $7::double precision / 1000)
      WHERE NOT EXISTS (SELECT 1 FROM taken)
     ON CONFLICT (caller_id, key) DO NOTHING
     RETURNING 1),
   won AS (SELECT EXISTS (SELECT 1 FROM taken) OR EXISTS (SELECT 1 FROM inserted) AS claimed)
   SELECT won.claimed, r.state, r.request_hash AS "requestHash", r.response_status AS "responseStatus",
          r.response_body AS "responseBody", r.lease_expires_at < now() AS "leaseExpired"
     FROM won LEFT JOIN idempotency_records r
       ON NOT won.claimed AND r.caller_id = $1 AND r.key = $2 AND r.expires_at >= now()`,
);

const READ = sql<RecordRow, [callerId: string, key: string]>(
  'idempotency_read',
  `SELECT state, request_hash AS "requestHash", response_status AS "responseStatus", response_body AS "responseBody",
          lease_expires_at < now() AS "leaseExpired"
     FROM idempotency_records WHERE caller_id = $1 AND key = $2 AND expires_at >= now()`,
);

const COMPLETE = sql<{ completed: 1 }, [callerId: string, key: string, owner: string, status: number, body: string]>(
  'idempotency_complete',
  `UPDATE idempotency_records SET state = 'completed', response_status = $4, response_body = $5, lease_expires_at = NULL
   WHERE caller_id = $1 AND key = $2 AND owner = $3 AND state = 'in-flight'
   RETURNING 1 AS completed`,
);

const RENEW = sql<{ renewed: 1 }, [callerId: string, key: string, owner: string, leaseMs: number]>(
  'idempotency_renew',
  `UPDATE idempotency_records SET lease_expires_at = now() + make_interval(secs => $4::double precision / 1000),
     expires_at = GREATEST(expires_at, now() + make_interval(secs => $4::double precision / 1000))
   WHERE caller_id = $1 AND key = $2 AND owner = $3 AND state = 'in-flight'
   RETURNING 1 AS renewed`,
);

const RELEASE = sql<never, [callerId: string, key: string, owner: string]>(
  'idempotency_release',
  `DELETE FROM idempotency_records WHERE caller_id = $1 AND key = $2 AND owner = $3 AND state = 'in-flight'`,
);

const PURGE = sql<{ purged: 1 }, [limit: number]>(
  'idempotency_purge',
  `DELETE FROM idempotency_records WHERE ctid IN (
     SELECT ctid FROM idempotency_records WHERE expires_at < now() LIMIT $1)
   RETURNING 1 AS purged`,
);

/** The `idempotency_records` table, one statement per step so every replica sees the same state at once. */
@PurgesExpiredRows('idempotency')
@Injectable()
export class IdempotencyStore implements ExpiringRows {
  constructor(private readonly pool: DatabasePool) {}

  /**
   * Claims the key for this attempt (new, expired, or taken over from a dead owner), or reads the record that holds
   * it, in one round trip: a duplicate of a completed turn is answered from this one statement.
   */
  async claimOrRead(claim: ClaimRequest): Promise<ClaimOutcome> {
    const [row] = await this.pool.run(CLAIM, [
      claim.callerId,
      claim.key,
      claim.platform,
      claim.requestHash,
      claim.owner,
      claim.leaseMs,
      claim.ttlMs,
    ]);
    if (row?.claimed) return { claimed: true };
    return { claimed: false, existing: row?.state ? recordOf(row as RecordRow) : undefined };
  }

  async read(callerId: string, key: string): Promise<ExistingRecord | undefined> {
    const [row] = await this.pool.run(READ, [callerId, key]);
    return row ? recordOf(row) : undefined;
  }

  /** Stores the response sent; false when this attempt no longer owns the key (its lease was taken over). */
  async complete(callerId: string, key: string, owner: string, status: number, body: string): Promise<boolean> {
    const rows = await this.pool.run(COMPLETE, [callerId, key, owner, status, body]);
    return rows.length === 1;
  }

  /** Extends this owner's lease from now; false when the claim is no longer its own (completed, taken over). */
  async renew(callerId: string, key: string, owner: string, leaseMs: number): Promise<boolean> {
    const rows = await this.pool.run(RENEW, [callerId, key, owner, leaseMs]);
    return rows.length === 1;
  }

  /** Gives the key up (the attempt had no effect), so a retry runs the handler again. */
  async release(callerId: string, key: string, owner: string): Promise<void> {
    await this.pool.run(RELEASE, [callerId, key, owner]);
  }

  /** Deletes up to `limit` expired records; returns how many. */
  async purgeExpired(limit: number): Promise<number> {
    return (await this.pool.run(PURGE, [limit])).length;
  }
}

function recordOf(row: RecordRow): ExistingRecord {
  if (row.state === 'completed') {
    return {
      state: 'completed',
      requestHash: row.requestHash,
      status: row.responseStatus ?? 200,
      body: row.responseBody ?? '',
    };
  }
  return { state: 'in-flight', requestHash: row.requestHash, leaseExpired: row.leaseExpired === true };
}
