import { MigrationInterface, QueryRunner } from 'typeorm';

/** The operator console's turn log: one row per finished turn, no parameters or bodies. */
export class TurnLog1796210289367 implements MigrationInterface {
  name = 'TurnLog1796210289367';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
            CREATE TABLE "turn_log" (
                "id" BIGSERIAL NOT NULL,
                "at" TIMESTAMP WITH TIME ZONE NOT NULL,
                "request_id" character varying(256) NOT NULL,
                "trace_id" character varying(32),
                "platform" character varying(32) NOT NULL,
                "intent" character varying(200) NOT NULL,
                "caller_id" character varying(128) NOT NULL,
                "outcome" character varying(16) NOT NULL,
                "duration_ms" real NOT NULL,
                "budget_ms" integer NOT NULL,
                CONSTRAINT "PK_994c0690f4a8981940cf5f468b6" PRIMARY KEY ("id")
            )
        `);
    await queryRunner.query(`
            CREATE INDEX "IDX_turn_log_intent_at" ON "turn_log" ("intent", "at")
        `);
    await queryRunner.query(`
            CREATE INDEX "IDX_turn_log_at" ON "turn_log" ("at")
        `);
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
            DROP INDEX "public"."IDX_turn_log_at"
        `);
    await queryRunner.query(`
            DROP INDEX "public"."IDX_turn_log_intent_at"
        `);
    await queryRunner.query(`
            DROP TABLE "turn_log"
        `);
  }
}
