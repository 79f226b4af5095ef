import { Injectable } from '@nestjs/common';
import { DatabasePool } from '../database/database-pool';
import { sql, type SqlTransaction } from '../database/sql';
import { CallbackDeliveries, DISABLE_URL, type DeliveryJob, REDIRECT } from './callback-deliveries';
import type { CallbackDelivery, DeliveryStatus } from './callback-delivery.entity';
import { JobQueue } from './job-queue';

/** What an operator sees of a delivery (`npm run deliveries -- list`). */
export type DeliverySummary = Pick<
  CallbackDelivery,
  'id' | 'callerId' | 'status' | 'attempts' | 'lastStatus' | 'lastError' | 'url' | 'createdAt' | 'updatedAt'
>;

const SUMMARY_COLUMNS = `id, caller_id AS "callerId", status, attempts, last_status AS "lastStatus",
  last_error AS "lastError", url, created_at AS "createdAt", updated_at AS "updatedAt"`;

const LIST = sql<DeliverySummary, [status: DeliveryStatus | null, callerId: string | null, limit: number]>(
  'deliveries_list',
  `SELECT ${SUMMARY_COLUMNS}
     FROM callback_deliveries WHERE ($1::text IS NULL OR status = $1) AND ($2::text IS NULL OR caller_id = $2)
    ORDER BY created_at DESC LIMIT $3`,
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

/** A statement runner: a transaction, or a command-line tool's connection (`transactionOn`). */
type Runner = Pick<SqlTransaction, 'run'>;

export function listDeliveries(
  runner: Runner,
  filter: { status?: DeliveryStatus; callerId?: string; limit: number },
): Promise<DeliverySummary[]> {
  return runner.run(LIST, [filter.status ?? null, filter.callerId ?? null, filter.limit]);
}

/**
 * Puts a dead or disabled delivery back to its first attempt, inside the caller's transaction (which also queues the
 * delivery job), to the caller's callback URL now when `currentUrlOf` knows it (else the attempt finds it), and
 * enables that URL again; undefined when there is no such delivery. Replayed to the URL it died at, a delivery
 * whose caller had moved since died again at once.
 */
export async function reopenDelivery(
  runner: Runner,
  id: string,
  currentUrlOf: (callerId: string) => string | undefined,
): Promise<DeliverySummary | undefined> {
  const [row] = await runner.run(REOPEN, [id]);
  if (!row) return undefined;
  const url = currentUrlOf(row.callerId) ?? row.url;
  if (url !== row.url) await runner.run(REDIRECT, [id, url, row.attempts]);
  await runner.run(ENABLE_URL, [row.callerId, url]);
  return { ...row, url };
}

/** What the operator console does with deliveries: list them, replay dead ones, stop sending to a URL. */
@Injectable()
export class DeliveryAdministration {
  constructor(
    private readonly pool: DatabasePool,
    private readonly queue: JobQueue,
    private readonly deliveries: CallbackDeliveries,
  ) {}

  list(filter: { status?: DeliveryStatus; callerId?: string; limit: number }): Promise<DeliverySummary[]> {
    return listDeliveries({ run: (statement, params) => this.pool.run(statement, params) }, filter);
  }

  /**
   * Puts a dead or disabled delivery back to its first attempt, to its caller's callback URL now, and queues it, in
   * one transaction: it is either replayed or left as it was. Undefined when there is no dead or disabled delivery
   * with that id.
   */
  replay(id: string): Promise<DeliverySummary | undefined> {
    return this.pool.transaction(async (tx) => {
      const row = await reopenDelivery(tx, id, (callerId) => this.deliveries.currentUrlOf(callerId));
      if (!row) return undefined;
      const queue = await this.deliveries.replayQueueOf(row.callerId);
      await this.queue.send(queue, { deliveryId: id, attempt: 0 } satisfies DeliveryJob, {}, tx);
      return row;
    });
  }

  /**
   * Stops deliveries to a caller's URL: pending ones settle as `disabled` at their next attempt. True when it was
   * not disabled before. A replay of one of its deliveries enables it again.
   */
  async disableUrl(callerId: string, url: string): Promise<boolean> {
    return (await this.pool.run(DISABLE_URL, [callerId, url])).length === 1;
  }
}
