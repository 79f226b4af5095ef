import { MigrationInterface, QueryRunner } from 'typeorm';

export class ConsoleRevokedSessions1796222233379 implements MigrationInterface {
  name = 'ConsoleRevokedSessions1796222233379';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
            CREATE TABLE "console_revoked_sessions" (
                "session_id" character varying(64) NOT NULL,
                "expires_at" TIMESTAMP WITH TIME ZONE NOT NULL,
                CONSTRAINT "PK_0651b8eece73f375edee580a626" PRIMARY KEY ("session_id")
            )
        `);
    await queryRunner.query(`
            CREATE INDEX "IDX_console_revoked_sessions_expires_at" ON "console_revoked_sessions" ("expires_at")
        `);
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
            DROP INDEX "public"."IDX_console_revoked_sessions_expires_at"
        `);
    await queryRunner.query(`
            DROP TABLE "console_revoked_sessions"
        `);
  }
}
