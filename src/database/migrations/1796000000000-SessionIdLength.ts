import { MigrationInterface, QueryRunner } from 'typeorm';

/** Late and async results keep the whole session id, up to the one limit every platform's requests are held to. */
export class SessionIdLength1796000000000 implements MigrationInterface {
  name = 'SessionIdLength1796000000000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "fulfillments" ALTER COLUMN "session_id" TYPE character varying(512)`);
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `ALTER TABLE "fulfillments" ALTER COLUMN "session_id" TYPE character varying(500) USING left("session_id", 500)`,
    );
  }
}
