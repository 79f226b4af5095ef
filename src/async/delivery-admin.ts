import type { ClientBase } from 'pg';
import type { DeliveryStatus } from './callback-delivery.entity';

/** What an operator sees of a delivery (`npm run deliveries -- list`). */
export interface DeliverySummary {
  id: string;
  caller_id: string;
  status: DeliveryStatus;
  attempts: number;
  last_status: number | null;
  last_error: string | null;
  url: string;
  created_at: Date;
  updated_at: Date;
}

export function listDeliveries(client: ClientBase, status: DeliveryStatus | undefined, limit: number) {
  return client
    .query<DeliverySummary>(
      `SELECT id, caller_id, status, attempts, last_status, last_error, url, created_at, updated_at
         FROM callback_deliveries WHERE ($1::text IS NULL OR status = $1) ORDER BY created_at DESC LIMIT $2`,
      [status ?? null, limit],
    )
    .then((result) => result.rows);
}

/**
 * Puts a dead or disabled delivery back to its first attempt and re-enables its URL, inside the caller's
 * transaction (which also queues the delivery job); undefined when there is no such delivery.
 */
export async function reopenDelivery(client: ClientBase, id: string): Promise<DeliverySummary | undefined> {
  const { rows } = await client.query<DeliverySummary>(
    `UPDATE callback_deliveries SET status = 'pending', attempts = 0, last_error = NULL, next_attempt_at = now(),
       updated_at = now() WHERE id = $1 AND status IN ('dead', 'disabled')
     RETURNING id, caller_id, status, attempts, last_status, last_error, url, created_at, updated_at`,
    [id],
  );
  const row = rows[0];
  if (row)
    await client.query(`DELETE FROM disabled_callbacks WHERE caller_id = $1 AND url = $2`, [row.caller_id, row.url]);
  return row;
}
