import type { ClientBase } from 'pg';
import { runOn, sql } from '../database/sql';
import type { CallbackDelivery, DeliveryStatus } from './callback-delivery.entity';

/** What an operator sees of a delivery (`npm run deliveries -- list`). */
export type DeliverySummary = Pick<
  CallbackDelivery,
  'id' | 'callerId' | 'status' | 'attempts' | 'lastStatus' | 'lastError' | 'url' | 'createdAt' | 'updatedAt'
>;

const SUMMARY_COLUMNS = `id, caller_id AS "callerId", status, attempts, last_status AS "lastStatus",
  last_error AS "lastError", url, created_at AS "createdAt", updated_at AS "updatedAt"`;

const LIST = sql<DeliverySummary, [status: DeliveryStatus | null, limit: number]>(
  'deliveries_list',
  `SELECT ${SUMMARY_COLUMNS}
     FROM callback_deliveries WHERE ($1::text IS NULL OR status = $1) ORDER BY created_at DESC LIMIT $2`,
);

const REOPEN = sql<DeliverySummary, [id: string]>(
  'deliveries_reopen',
  `UPDATE callback_deliveries SET status = 'pending', attempts = 0, last_error = NULL, next_attempt_at = now(),
     updated_at = now() WHERE id = $1 AND status IN ('dead', 'disabled')
   RETURNING ${SUMMARY_COLUMNS}`,
);

const ENABLE_URL = sql<never, [callerId: string, url: string]>(
  'deliveries_enable_url',
  `DELETE FROM disabled_callbacks WHERE caller_id = $1 AND url = $2`,
);

export function listDeliveries(client: ClientBase, status: DeliveryStatus | undefined, limit: number) {
  return runOn(client, LIST, [status ?? null, limit]);
}

/**
 * Puts a dead or disabled delivery back to its first attempt and re-enables its URL, inside the caller's
 * transaction (which also queues the delivery job); undefined when there is no such delivery.
 */
export async function reopenDelivery(client: ClientBase, id: string): Promise<DeliverySummary | undefined> {
  const [row] = await runOn(client, REOPEN, [id]);
  if (row) await runOn(client, ENABLE_URL, [row.callerId, row.url]);
  return row;
}
