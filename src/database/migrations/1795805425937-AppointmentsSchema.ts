import { MigrationInterface, QueryRunner } from 'typeorm';

export class AppointmentsSchema1795805425937 implements MigrationInterface {
  name = 'AppointmentsSchema1795805425937';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
            CREATE TABLE "providers" (
                "id" uuid NOT NULL DEFAULT gen_random_uuid(),
                "slug" character varying(64) NOT NULL,
                "display_name" character varying(200) NOT NULL,
                "specialty" character varying(100) NOT NULL,
                CONSTRAINT "UQ_cd3940cee2e13606345df5c5735" UNIQUE ("slug"),
                CONSTRAINT "PK_af13fc2ebf382fe0dad2e4793aa" PRIMARY KEY ("id")
            )
        `);
    await queryRunner.query(`
            CREATE TABLE "appointments" (
                "id" uuid NOT NULL DEFAULT gen_random_uuid(),
                "slot_id" uuid NOT NULL,
                "patient_ref" character varying(64) NOT NULL,
                "status" character varying(16) NOT NULL,
                "reference" character varying(12) NOT NULL,
                "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
                "cancelled_at" TIMESTAMP WITH TIME ZONE,
                CONSTRAINT "UQ_add06d02b234388a3a1ecbc6f04" UNIQUE ("reference"),
                CONSTRAINT "PK_4a437a9a27e948726b8bb3e36ad" PRIMARY KEY ("id")
            )
        `);
    await queryRunner.query(`
            CREATE INDEX "IDX_appointments_patient" ON "appointments" ("patient_ref")
        `);
    await queryRunner.query(`
            CREATE UNIQUE INDEX "UQ_appointments_booked_slot" ON "appointments" ("slot_id")
            WHERE "status" = 'booked'
        `);
    await queryRunner.query(`
            CREATE TABLE "appointment_slots" (
                "id" uuid NOT NULL DEFAULT gen_random_uuid(),
                "provider_id" uuid NOT NULL,
                "starts_at" TIMESTAMP WITH TIME ZONE NOT NULL,
                "ends_at" TIMESTAMP WITH TIME ZONE NOT NULL,
                CONSTRAINT "PK_667e57c39f789b906bd595a2e2f" PRIMARY KEY ("id")
            )
        `);
    await queryRunner.query(`
            CREATE UNIQUE INDEX "UQ_appointment_slots_provider_start" ON "appointment_slots" ("provider_id", "starts_at")
        `);
    await queryRunner.query(`
            ALTER TABLE "appointments"
            ADD CONSTRAINT "FK_b1ccdd43ac8ccbb787c68a64a13" FOREIGN KEY ("slot_id") REFERENCES "appointment_slots"("id") ON DELETE CASCADE ON UPDATE NO ACTION
        `);
    await queryRunner.query(`
            ALTER TABLE "appointment_slots"
            ADD CONSTRAINT "FK_54c1e5b9ab2e0c5f3efdedef83d" FOREIGN KEY ("provider_id") REFERENCES "providers"("id") ON DELETE CASCADE ON UPDATE NO ACTION
        `);
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
            ALTER TABLE "appointment_slots" DROP CONSTRAINT "FK_54c1e5b9ab2e0c5f3efdedef83d"
        `);
    await queryRunner.query(`
            ALTER TABLE "appointments" DROP CONSTRAINT "FK_b1ccdd43ac8ccbb787c68a64a13"
        `);
    await queryRunner.query(`
            DROP INDEX "public"."UQ_appointment_slots_provider_start"
        `);
    await queryRunner.query(`
            DROP TABLE "appointment_slots"
        `);
    await queryRunner.query(`
            DROP INDEX "public"."UQ_appointments_booked_slot"
        `);
    await queryRunner.query(`
            DROP INDEX "public"."IDX_appointments_patient"
        `);
    await queryRunner.query(`
            DROP TABLE "appointments"
        `);
    await queryRunner.query(`
            DROP TABLE "providers"
        `);
  }
}
