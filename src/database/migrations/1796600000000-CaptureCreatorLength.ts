import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * A capture rule names who switched it on as `oidc:<sub>`, and OpenID Connect allows a subject of 255 characters:
 * 200 refused such a user's rule with a 500. Widening a varchar rewrites nothing.
 */
export class CaptureCreatorLength1796600000000 implements MigrationInterface {
  name = 'CaptureCreatorLength1796600000000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "capture_rules" ALTER COLUMN "created_by" TYPE varchar(300)`);
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `ALTER TABLE "capture_rules" ALTER COLUMN "created_by" TYPE varchar(200) USING left("created_by", 200)`,
    );
  }
}
