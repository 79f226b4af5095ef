import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Audit rows name the refused route, and a summary row says how many rows a flooding source's budget dropped
 * (AUDIT_MAX_PER_SOURCE per AUDIT_WINDOW_SECONDS). Both are nullable: earlier rows have neither.
 */
export class AuditRouteAndDropped1796210000000 implements MigrationInterface {
  name = 'AuditRouteAndDropped1796210000000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "audit_events" ADD "route" character varying(256)`);
    await queryRunner.query(`ALTER TABLE "audit_events" ADD "dropped" integer`);
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "audit_events" DROP COLUMN "dropped"`);
    await queryRunner.query(`ALTER TABLE "audit_events" DROP COLUMN "route"`);
  }
}
