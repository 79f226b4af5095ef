import { MigrationInterface, QueryRunner } from 'typeorm';
import { buildUniqueIndexConcurrently } from './concurrent-unique-index';

const INDEX = 'UQ_appointments_idempotency_key';

/**
 * A booking carries its turn's idempotency key, unique: a booking turn run again (its reply lost, its replica
 * gone after the commit) finds the appointment it made, where it used to find its own slot taken and offer others.
 * The index is built `CONCURRENTLY`, like the async turn key's, so bookings go on meanwhile.
 */
export class BookingKey1796400000000 implements MigrationInterface {
  name = 'BookingKey1796400000000';
  transaction = false;

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "appointments" ADD COLUMN IF NOT EXISTS "idempotency_key" character(64)`);
    await buildUniqueIndexConcurrently(queryRunner, INDEX, 'appointments', ['idempotency_key']);
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP INDEX "public"."${INDEX}"`);
    await queryRunner.query(`ALTER TABLE "appointments" DROP COLUMN "idempotency_key"`);
  }
}
