import { MigrationInterface, QueryRunner } from 'typeorm';
import { buildUniqueIndexConcurrently } from './concurrent-unique-index';

const INDEX = 'UQ_leads_caller_email';
const EMAIL_INDEX = 'UQ_leads_email';

/**
 * Drops an index `CONCURRENTLY` (writes go on meanwhile). Like a concurrent build, the drop waits for every
 * transaction that uses the table, which the migrations' `lock_timeout` would cut short.
 */
async function dropIndexConcurrently(queryRunner: QueryRunner, index: string): Promise<void> {
  const [{ lock }] = (await queryRunner.query(`SELECT current_setting('lock_timeout') AS lock`)) as [{ lock: string }];
  await queryRunner.query(`SELECT set_config('lock_timeout', '0', false)`);
  try {
    await queryRunner.query(`DROP INDEX CONCURRENTLY IF EXISTS "public"."${index}"`);
  } finally {
    await queryRunner.query(`SELECT set_config('lock_timeout', $1, false)`, [lock]);
  }
}

/**
 * A lead belongs to the caller (bot) that brought it in: one per caller and email, where one per email let a second
 * caller's QualifyLead overwrite the first caller's lead, caller and all. The new index is built `CONCURRENTLY`
 * before the old one is dropped, so leads are written throughout. Replicas of the previous release upsert on the
 * email alone (`ON CONFLICT ("email")`), which needs the old index: their QualifyLead turns fail from this migration
 * until the rollout has replaced them.
 *
 * Reverting builds the email index again, which fails while two callers have a lead with the same email.
 */
export class LeadsPerCaller1796800000000 implements MigrationInterface {
  name = 'LeadsPerCaller1796800000000';
  transaction = false;

  public async up(queryRunner: QueryRunner): Promise<void> {
    await buildUniqueIndexConcurrently(queryRunner, INDEX, 'leads', ['caller_id', 'email']);
    await dropIndexConcurrently(queryRunner, EMAIL_INDEX);
  }

  /** Plain statements: a revert runs in a transaction (TypeORM's undo does not heed `transaction = false`). */
  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`CREATE UNIQUE INDEX "${EMAIL_INDEX}" ON "leads" ("email")`);
    await queryRunner.query(`DROP INDEX "public"."${INDEX}"`);
  }
}
