import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The replay window keeps a digest of the body signed under each message id, so a sender's retry (same id, same
 * body) is let through to the idempotency store while another body under a seen id is refused. Entries written
 * before have no digest and keep being refused on a repeat, as they were, until they expire (minutes).
 */
export class ReplayBodyDigest1796100000000 implements MigrationInterface {
  name = 'ReplayBodyDigest1796100000000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "replay_guard" ADD "body_digest" character(64)`);
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "replay_guard" DROP COLUMN "body_digest"`);
  }
}
