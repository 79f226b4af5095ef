import { MigrationInterface, QueryRunner } from 'typeorm';

export class BankingSchema1795800145320 implements MigrationInterface {
  name = 'BankingSchema1795800145320';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
            CREATE TABLE "transactions" (
                "id" uuid NOT NULL DEFAULT gen_random_uuid(),
                "account_id" uuid NOT NULL,
                "posted_at" TIMESTAMP WITH TIME ZONE NOT NULL,
                "description" character varying(200) NOT NULL,
                "amount_minor" bigint NOT NULL,
                CONSTRAINT "PK_a219afd8dd77ed80f5a862f1db9" PRIMARY KEY ("id")
            )
        `);
    await queryRunner.query(`
            CREATE INDEX "IDX_transactions_account_posted" ON "transactions" ("account_id", "posted_at")
        `);
    await queryRunner.query(`
            CREATE TABLE "customers" (
                "id" uuid NOT NULL DEFAULT gen_random_uuid(),
                "customer_number" character varying(64) NOT NULL,
                "full_name" character varying(200) NOT NULL,
                "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
                CONSTRAINT "UQ_6fbe8c55d8dd968877d296493e3" UNIQUE ("customer_number"),
                CONSTRAINT "PK_133ec679a801fab5e070f73d3ea" PRIMARY KEY ("id")
            )
        `);
    await queryRunner.query(`
            CREATE TABLE "accounts" (
                "id" uuid NOT NULL DEFAULT gen_random_uuid(),
                "customer_id" uuid NOT NULL,
                "account_type" character varying(32) NOT NULL,
                "account_number_last4" character(4) NOT NULL,
                "currency" character(3) NOT NULL,
                "balance_minor" bigint NOT NULL,
                "balance_updated_at" TIMESTAMP WITH TIME ZONE NOT NULL,
                CONSTRAINT "PK_5a7a02c20412299d198e097a8fe" PRIMARY KEY ("id")
            )
        `);
    await queryRunner.query(`
            CREATE UNIQUE INDEX "UQ_accounts_customer_type" ON "accounts" ("customer_id", "account_type")
        `);
    await queryRunner.query(`
            ALTER TABLE "transactions"
            ADD CONSTRAINT "FK_49c0d6e8ba4bfb5582000d851f0" FOREIGN KEY ("account_id") REFERENCES "accounts"("id") ON DELETE CASCADE ON UPDATE NO ACTION
        `);
    await queryRunner.query(`
            ALTER TABLE "accounts"
            ADD CONSTRAINT "FK_8b74e55f12afe9234f76a42dc30" FOREIGN KEY ("customer_id") REFERENCES "customers"("id") ON DELETE CASCADE ON UPDATE NO ACTION
        `);
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
            ALTER TABLE "accounts" DROP CONSTRAINT "FK_8b74e55f12afe9234f76a42dc30"
        `);
    await queryRunner.query(`
            ALTER TABLE "transactions" DROP CONSTRAINT "FK_49c0d6e8ba4bfb5582000d851f0"
        `);
    await queryRunner.query(`
            DROP INDEX "public"."UQ_accounts_customer_type"
        `);
    await queryRunner.query(`
            DROP TABLE "accounts"
        `);
    await queryRunner.query(`
            DROP TABLE "customers"
        `);
    await queryRunner.query(`
            DROP INDEX "public"."IDX_transactions_account_posted"
        `);
    await queryRunner.query(`
            DROP TABLE "transactions"
        `);
  }
}
