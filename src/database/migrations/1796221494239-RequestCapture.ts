import { MigrationInterface, QueryRunner } from 'typeorm';

export class RequestCapture1796221494239 implements MigrationInterface {
  name = 'RequestCapture1796221494239';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
            CREATE TABLE "turn_captures" (
                "turn_id" bigint NOT NULL,
                "path" character varying(200) NOT NULL,
                "request" jsonb NOT NULL,
                "response_status" integer,
                "response" jsonb,
                CONSTRAINT "PK_3edc77b289616da3be82edd799b" PRIMARY KEY ("turn_id")
            )
        `);
    await queryRunner.query(`
            CREATE TABLE "capture_rules" (
                "id" BIGSERIAL NOT NULL,
                "platform" character varying(32),
                "caller_id" character varying(128),
                "expires_at" TIMESTAMP WITH TIME ZONE NOT NULL,
                "created_by" character varying(200) NOT NULL,
                "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
                CONSTRAINT "CHK_capture_rules_scope" CHECK (
                    "platform" IS NOT NULL
                    OR "caller_id" IS NOT NULL
                ),
                CONSTRAINT "PK_9a82c8b62dd6b7718aa83ec15d7" PRIMARY KEY ("id")
            )
        `);
    await queryRunner.query(`
            CREATE INDEX "IDX_capture_rules_expires_at" ON "capture_rules" ("expires_at")
        `);
    await queryRunner.query(`
            ALTER TABLE "turn_captures"
            ADD CONSTRAINT "FK_3edc77b289616da3be82edd799b" FOREIGN KEY ("turn_id") REFERENCES "turn_log"("id") ON DELETE CASCADE ON UPDATE NO ACTION
        `);
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
            ALTER TABLE "turn_captures" DROP CONSTRAINT "FK_3edc77b289616da3be82edd799b"
        `);
    await queryRunner.query(`
            DROP INDEX "public"."IDX_capture_rules_expires_at"
        `);
    await queryRunner.query(`
            DROP TABLE "capture_rules"
        `);
    await queryRunner.query(`
            DROP TABLE "turn_captures"
        `);
  }
}
