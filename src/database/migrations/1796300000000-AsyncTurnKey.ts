import { MigrationInterface, QueryRunner } from 'typeorm';
import { buildUniqueIndexConcurrently } from './concurrent-unique-index';

const INDEX = 'UQ_fulfillments_caller_key';

/**
 * An async turn's fulfillment carries the turn's idempotency key, unique per caller: a turn queued again (its
 * first acknowledgement never stored, the replica that queued it gone) finds the fulfillment already queued.
 *
 * The index is built `CONCURRENTLY` (see `buildUniqueIndexConcurrently`): a plain build holds off every write to
 * the table while it scans a day's results, and a service started with migrations would hold up its own async
 * turns (and those of the replicas still serving) for as long. Each step can be run again.
 */
export class AsyncTurnKey1796300000000 implements MigrationInterface {
  name = 'AsyncTurnKey1796300000000';
  transaction = false;

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "fulfillments" ADD COLUMN IF NOT EXISTS "idempotency_key" character(64)`);
    await buildUniqueIndexConcurrently(queryRunner, INDEX, 'fulfillments', ['caller_id', 'idempotency_key']);
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP INDEX "public"."${INDEX}"`);
    await queryRunner.query(`ALTER TABLE "fulfillments" DROP COLUMN "idempotency_key"`);
  }
}
