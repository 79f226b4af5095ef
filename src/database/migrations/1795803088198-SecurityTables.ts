import { MigrationInterface, QueryRunner } from 'typeorm';

export class SecurityTables1795803088198 implements MigrationInterface {
  name = 'SecurityTables1795803088198';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
            CREATE TABLE "audit_events" (
                "id" BIGSERIAL NOT NULL,
                "occurred_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
                "event" character varying(64) NOT NULL,
                "caller_id" character varying(64) NOT NULL,
                "method" character varying(32),
                "outcome" character varying(16) NOT NULL,
                "reason" character varying(64),
                "remote_address" character varying(64),
                "request_id" character varying(128),
                "trace_id" character varying(32),
                "detail" character varying(256),
                CONSTRAINT "PK_910f64d901a5c3e9878f0d4a407" PRIMARY KEY ("id")
            )
        `);
    await queryRunner.query(`
            CREATE INDEX "IDX_audit_events_occurred_at" ON "audit_events" ("occurred_at")
        `);
    await queryRunner.query(`
            CREATE TABLE "replay_guard" (
                "caller_id" character varying(64) NOT NULL,
                "message_id" character varying(256) NOT NULL,
                "expires_at" TIMESTAMP WITH TIME ZONE NOT NULL,
                CONSTRAINT "PK_27bec990674cbf5508494bf0f05" PRIMARY KEY ("caller_id", "message_id")
            )
        `);
    await queryRunner.query(`
            CREATE INDEX "IDX_replay_guard_expires_at" ON "replay_guard" ("expires_at")
        `);
    // Append-only: rows can be inserted and (by retention) deleted, never changed.
    await queryRunner.query(`
            CREATE FUNCTION audit_events_refuse_update() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                RAISE EXCEPTION 'audit_events is append-only';
            END;
            $$
        `);
    await queryRunner.query(`
            CREATE TRIGGER audit_events_append_only BEFORE UPDATE ON "audit_events"
            FOR EACH ROW EXECUTE FUNCTION audit_events_refuse_update()
        `);
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TRIGGER audit_events_append_only ON "audit_events"`);
    await queryRunner.query(`DROP FUNCTION audit_events_refuse_update()`);
    await queryRunner.query(`
            DROP INDEX "public"."IDX_replay_guard_expires_at"
        `);
    await queryRunner.query(`
            DROP TABLE "replay_guard"
        `);
    await queryRunner.query(`
            DROP INDEX "public"."IDX_audit_events_occurred_at"
        `);
    await queryRunner.query(`
            DROP TABLE "audit_events"
        `);
  }
}
