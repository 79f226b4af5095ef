import { queryTestDatabase } from './test-database';

/** One row of `audit_events`, as `pg` returns it. */
export interface AuditRow extends Record<string, unknown> {
  id: string;
  occurred_at: Date;
  event: string;
  caller_id: string;
  method: string | null;
  outcome: string;
  reason: string | null;
  remote_address: string | null;
  request_id: string | null;
  trace_id: string | null;
  detail: string | null;
}

export function auditRows(dbUrl: string): Promise<AuditRow[]> {
  return queryTestDatabase<AuditRow>(dbUrl, 'SELECT * FROM audit_events ORDER BY id');
}

/** Rows in a table the tests watch for unexpected writes. */
export async function countRows(dbUrl: string, table: 'audit_events' | 'replay_guard'): Promise<number> {
  const [row] = await queryTestDatabase<{ count: string }>(dbUrl, `SELECT count(*)::text AS count FROM ${table}`);
  return Number(row.count);
}

/**
 * Polls `audit_events` until a row matches (audit writes are batched, about every 500 ms) and returns it;
 * fails with the rows seen so far when none matches within `timeoutMs`.
 */
export async function waitForAuditRow(
  dbUrl: string,
  predicate: (row: AuditRow) => boolean,
  timeoutMs = 3000,
  intervalMs = 25,
): Promise<AuditRow> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const rows = await auditRows(dbUrl);
    const match = rows.find(predicate);
    if (match) return match;
    if (Date.now() > deadline) {
      throw new Error(`no matching audit_events row within ${timeoutMs} ms; rows: ${JSON.stringify(rows, null, 2)}`);
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
