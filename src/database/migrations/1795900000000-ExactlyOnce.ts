import { MigrationInterface, QueryRunner } from 'typeorm';

/** Idempotency records, late/async results, callback deliveries, and the keyed banking effects. */
export class ExactlyOnce1795900000000 implements MigrationInterface {
  name = 'ExactlyOnce1795900000000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
            CREATE TABLE "idempotency_records" (
                "caller_id" character varying(64) NOT NULL,
                "key" character(64) NOT NULL,
                "platform" character varying(20) NOT NULL,
                "request_hash" character(64) NOT NULL,
                "state" character varying(12) NOT NULL,
                "owner" character varying(64) NOT NULL,
                "lease_expires_at" TIMESTAMP WITH TIME ZONE,
                "response_status" smallint,
                "response_body" text,
                "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
                "expires_at" TIMESTAMP WITH TIME ZONE NOT NULL,
                CONSTRAINT "PK_idempotency_records" PRIMARY KEY ("caller_id", "key")
            )
        `);
    await queryRunner.query(
      `CREATE INDEX "IDX_idempotency_records_expires_at" ON "idempotency_records" ("expires_at")`,
    );
    await queryRunner.query(`
            CREATE TABLE "fulfillments" (
                "id" uuid NOT NULL,
                "caller_id" character varying(64) NOT NULL,
                "platform" character varying(20) NOT NULL,
                "session_id" character varying(500) NOT NULL,
                "intent" character varying(200) NOT NULL,
                "mode" character varying(10) NOT NULL,
                "status" character varying(12) NOT NULL,
                "result" jsonb,
                "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
                "completed_at" TIMESTAMP WITH TIME ZONE,
                "expires_at" TIMESTAMP WITH TIME ZONE NOT NULL,
                CONSTRAINT "PK_fulfillments" PRIMARY KEY ("id")
            )
        `);
    await queryRunner.query(`CREATE INDEX "IDX_fulfillments_expires_at" ON "fulfillments" ("expires_at")`);
    await queryRunner.query(`
            CREATE TABLE "callback_deliveries" (
                "id" character varying(64) NOT NULL,
                "fulfillment_id" uuid NOT NULL,
                "caller_id" character varying(64) NOT NULL,
                "url" character varying(2048) NOT NULL,
                "payload" text NOT NULL,
                "status" character varying(12) NOT NULL,
                "attempts" integer NOT NULL DEFAULT 0,
                "last_status" smallint,
                "last_error" character varying(500),
                "next_attempt_at" TIMESTAMP WITH TIME ZONE,
                "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
                "updated_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
                "delivered_at" TIMESTAMP WITH TIME ZONE,
                CONSTRAINT "PK_callback_deliveries" PRIMARY KEY ("id")
            )
        `);
    await queryRunner.query(
      `CREATE INDEX "IDX_callback_deliveries_status" ON "callback_deliveries" ("status", "created_at")`,
    );
    await queryRunner.query(`
            CREATE TABLE "disabled_callbacks" (
                "caller_id" character varying(64) NOT NULL,
                "url" character varying(2048) NOT NULL,
                "disabled_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
                CONSTRAINT "PK_disabled_callbacks" PRIMARY KEY ("caller_id", "url")
            )
        `);
    await queryRunner.query(`
            CREATE TABLE "transfers" (
                "id" uuid NOT NULL DEFAULT gen_random_uuid(),
                "idempotency_key" character(64) NOT NULL,
                "from_account_id" uuid NOT NULL,
                "to_account_id" uuid NOT NULL,
                "amount_minor" bigint NOT NULL,
                "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
                CONSTRAINT "PK_transfers" PRIMARY KEY ("id")
            )
        `);
    await queryRunner.query(`CREATE UNIQUE INDEX "UQ_transfers_idempotency_key" ON "transfers" ("idempotency_key")`);
    await queryRunner.query(`
            CREATE TABLE "statements" (
                "id" uuid NOT NULL DEFAULT gen_random_uuid(),
                "idempotency_key" character(64) NOT NULL,
                "account_id" uuid NOT NULL,
                "period_start" TIMESTAMP WITH TIME ZONE NOT NULL,
                "period_end" TIMESTAMP WITH TIME ZONE NOT NULL,
                "transaction_count" integer NOT NULL,
                "opening_minor" bigint NOT NULL,
                "closing_minor" bigint NOT NULL,
                "archive_reference" character varying(200) NOT NULL,
                "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
                CONSTRAINT "PK_statements" PRIMARY KEY ("id")
            )
        `);
    await queryRunner.query(`CREATE UNIQUE INDEX "UQ_statements_idempotency_key" ON "statements" ("idempotency_key")`);
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE "statements"`);
    await queryRunner.query(`DROP TABLE "transfers"`);
    await queryRunner.query(`DROP TABLE "disabled_callbacks"`);
    await queryRunner.query(`DROP TABLE "callback_deliveries"`);
    await queryRunner.query(`DROP TABLE "fulfillments"`);
    await queryRunner.query(`DROP TABLE "idempotency_records"`);
  }
}
