import { MigrationInterface, QueryRunner } from 'typeorm';

export class CrmLeads1795805634141 implements MigrationInterface {
  name = 'CrmLeads1795805634141';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
            CREATE TABLE "leads" (
                "id" uuid NOT NULL DEFAULT gen_random_uuid(),
                "email" character varying(254) NOT NULL,
                "name" character varying(200),
                "company" character varying(200) NOT NULL,
                "company_size" integer,
                "budget" integer,
                "timeline_months" integer,
                "decision_maker" boolean,
                "score" integer NOT NULL,
                "queue" character varying(64) NOT NULL,
                "caller_id" character varying(64) NOT NULL,
                "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
                "updated_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
                CONSTRAINT "PK_cd102ed7a9a4ca7d4d8bfeba406" PRIMARY KEY ("id")
            )
        `);
    await queryRunner.query(`
            CREATE UNIQUE INDEX "UQ_leads_email" ON "leads" ("email")
        `);
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
            DROP INDEX "public"."UQ_leads_email"
        `);
    await queryRunner.query(`
            DROP TABLE "leads"
        `);
  }
}
