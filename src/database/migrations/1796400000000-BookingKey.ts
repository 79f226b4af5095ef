import { MigrationInterface, QueryRunner } from 'typeorm';

const INDEX = 'UQ_appointments_idempotency_key';

/**
 * A booking carries its turn's idempotency key, unique: a booking turn run again (its reply lost, its replica
 * gone after the commit) finds the appointment it made, where it used to find its own slot taken and offer others.
 *
 * Built `CONCURRENTLY`, outside a transaction, like the async turn key: a plain build would hold off bookings while
 * it scans the table. Each step can run again; an invalid index left by a failed attempt is built again.
 */
export class BookingKey1796400000000 implements MigrationInterface {
  name = 'BookingKey1796400000000';
  transaction = false;

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "appointments" ADD COLUMN IF NOT EXISTS "idempotency_key" character(64)`);
    const [leftover] = (await queryRunner.query(
      `SELECT indisvalid AS valid FROM pg_index WHERE indexrelid = to_regclass($1)`,
      [`"${INDEX}"`],
    )) as { valid: boolean }[];
    const [{ lock }] = (await queryRunner.query(`SELECT current_setting('lock_timeout') AS lock`)) as [
      { lock: string },
    ];
    // A concurrent build waits for older transactions; its own lock lets writes through, so it may wait.
    await queryRunner.query(`SELECT set_config('lock_timeout', '0', false)`);
    try {
      if (leftover && !leftover.valid) await queryRunner.query(`DROP INDEX CONCURRENTLY "${INDEX}"`);
      await queryRunner.query(
        `CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS "${INDEX}" ON "appointments" ("idempotency_key")`,
      );
    } finally {
      await queryRunner.query(`SELECT set_config('lock_timeout', $1, false)`, [lock]);
    }
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP INDEX "public"."${INDEX}"`);
    await queryRunner.query(`ALTER TABLE "appointments" DROP COLUMN "idempotency_key"`);
  }
}
