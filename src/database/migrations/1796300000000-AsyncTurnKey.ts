import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * An async turn's fulfillment carries the turn's idempotency key, unique per caller: a turn queued again (its
 * first acknowledgement never stored, the replica that queued it gone) finds the fulfillment already queued.
 */
export class AsyncTurnKey1796300000000 implements MigrationInterface {
  name = 'AsyncTurnKey1796300000000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "fulfillments" ADD "idempotency_key" character(64)`);
    await queryRunner.query(
      `CREATE UNIQUE INDEX "UQ_fulfillments_caller_key" ON "fulfillments" ("caller_id", "idempotency_key")`,
    );
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP INDEX "public"."UQ_fulfillments_caller_key"`);
    await queryRunner.query(`ALTER TABLE "fulfillments" DROP COLUMN "idempotency_key"`);
  }
}
