import { MigrationInterface, QueryRunner } from 'typeorm';

const INDEX = 'UQ_fulfillments_caller_key';

/**
 * An async turn's fulfillment carries the turn's idempotency key, unique per caller: a turn queued again (its
 * first acknowledgement never stored, the replica that queued it gone) finds the fulfillment already queued.
 *
 * The index is built `CONCURRENTLY`, so outside a transaction: a plain build holds off every write to the table
 * while it scans a day's results, and a service started with migrations would hold up its own async turns
 * (and those of the replicas still serving) for as long. Each step can therefore be run again: an attempt that
 * failed part-way leaves an invalid index, which `ON CONFLICT` cannot use, and it is built again.
 */
export class AsyncTurnKey1796300000000 implements MigrationInterface {
  name = 'AsyncTurnKey1796300000000';
  transaction = false;

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "fulfillments" ADD COLUMN IF NOT EXISTS "idempotency_key" character(64)`);
    const [leftover] = (await queryRunner.query(
      `SELECT indisvalid AS valid FROM pg_index WHERE indexrelid = to_regclass($1)`,
      [`"${INDEX}"`],
    )) as { valid: boolean }[];
    await withoutLockTimeout(queryRunner, async () => {
      if (leftover && !leftover.valid) await queryRunner.query(`DROP INDEX CONCURRENTLY "${INDEX}"`);
      await queryRunner.query(
        `CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS "${INDEX}" ON "fulfillments" ("caller_id", "idempotency_key")`,
      );
    });
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP INDEX "public"."${INDEX}"`);
    await queryRunner.query(`ALTER TABLE "fulfillments" DROP COLUMN "idempotency_key"`);
  }
}

/**
 * A concurrent build (or drop) waits for every transaction that writes the table, then for every older snapshot
 * in the database; the migrations' `lock_timeout` (meant for locks that writes queue behind) would end it after
 * a full scan whenever any transaction lasts longer. Its own lock lets writes through, so it may wait.
 */
async function withoutLockTimeout(queryRunner: QueryRunner, work: () => Promise<void>): Promise<void> {
  const [{ lock }] = (await queryRunner.query(`SELECT current_setting('lock_timeout') AS lock`)) as [{ lock: string }];
  await queryRunner.query(`SELECT set_config('lock_timeout', '0', false)`);
  try {
    await work();
  } finally {
    await queryRunner.query(`SELECT set_config('lock_timeout', $1, false)`, [lock]);
  }
}
