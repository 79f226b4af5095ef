import { MigrationInterface, QueryRunner } from 'typeorm';

export class CommerceSchema1795805796892 implements MigrationInterface {
  name = 'CommerceSchema1795805796892';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
            CREATE TABLE "warehouses" (
                "id" uuid NOT NULL DEFAULT gen_random_uuid(),
                "code" character varying(32) NOT NULL,
                "name" character varying(200) NOT NULL,
                "postcode" character varying(16) NOT NULL,
                CONSTRAINT "UQ_d8b96d60ff9a288f5ed862280d9" UNIQUE ("code"),
                CONSTRAINT "PK_56ae21ee2432b2270b48867e4be" PRIMARY KEY ("id")
            )
        `);
    await queryRunner.query(`
            CREATE TABLE "stock_levels" (
                "product_id" uuid NOT NULL,
                "warehouse_id" uuid NOT NULL,
                "quantity" integer NOT NULL,
                CONSTRAINT "PK_4bedc48e22aaac0a6c29991aeaa" PRIMARY KEY ("product_id", "warehouse_id")
            )
        `);
    await queryRunner.query(`
            CREATE TABLE "products" (
                "id" uuid NOT NULL DEFAULT gen_random_uuid(),
                "sku" character varying(64) NOT NULL,
                "name" character varying(200) NOT NULL,
                "weight_grams" integer NOT NULL,
                CONSTRAINT "UQ_c44ac33a05b144dd0d9ddcf9327" UNIQUE ("sku"),
                CONSTRAINT "PK_0806c755e0aca124e67c0cf6d7d" PRIMARY KEY ("id")
            )
        `);
    await queryRunner.query(`
            CREATE TABLE "orders" (
                "id" uuid NOT NULL DEFAULT gen_random_uuid(),
                "order_number" character varying(32) NOT NULL,
                "customer_number" character varying(64) NOT NULL,
                "status" character varying(16) NOT NULL,
                "placed_at" TIMESTAMP WITH TIME ZONE NOT NULL,
                "ship_to_postcode" character varying(16) NOT NULL,
                "tracking_number" character varying(64),
                CONSTRAINT "UQ_75eba1c6b1a66b09f2a97e6927b" UNIQUE ("order_number"),
                CONSTRAINT "PK_710e2d4957aa5878dfe94e4ac2f" PRIMARY KEY ("id")
            )
        `);
    await queryRunner.query(`
            CREATE INDEX "IDX_orders_customer" ON "orders" ("customer_number")
        `);
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
            DROP INDEX "public"."IDX_orders_customer"
        `);
    await queryRunner.query(`
            DROP TABLE "orders"
        `);
    await queryRunner.query(`
            DROP TABLE "products"
        `);
    await queryRunner.query(`
            DROP TABLE "stock_levels"
        `);
    await queryRunner.query(`
            DROP TABLE "warehouses"
        `);
  }
}
