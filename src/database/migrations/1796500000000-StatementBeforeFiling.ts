import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * A statement is recorded (its period and figures) before it is filed with the document archive, and gets the
 * archive's reference afterwards: a job run again after a crash between the two files the same document, where it
 * used to file a new period under the same Idempotency-Key (which an archive refuses, or answers with the first
 * document while the service recorded other figures).
 */
export class StatementBeforeFiling1796500000000 implements MigrationInterface {
  name = 'StatementBeforeFiling1796500000000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "statements" ALTER COLUMN "archive_reference" DROP NOT NULL`);
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    // A statement never filed was never told to the customer: nothing refers to it.
    await queryRunner.query(`DELETE FROM "statements" WHERE "archive_reference" IS NULL`);
    await queryRunner.query(`ALTER TABLE "statements" ALTER COLUMN "archive_reference" SET NOT NULL`);
  }
}
