import type { QueryRunner } from 'typeorm';

/**
 * Builds a unique index `CONCURRENTLY` (the migration runs outside a transaction): a plain build holds off every
 * write to the table while it scans it. Can run again: an attempt that failed part-way leaves an invalid index,
 * which `ON CONFLICT` cannot use, and it is built again.
 *
 * A concurrent build (or drop) waits for every transaction that writes the table, then for every older snapshot
 * in the database; the migrations' `lock_timeout` (meant for locks that writes queue behind) would end it after a
 * full scan whenever any transaction lasts longer. Its own lock lets writes through, so it may wait.
 */
export async function buildUniqueIndexConcurrently(
  queryRunner: QueryRunner,
  index: string,
  table: string,
  columns: readonly string[],
): Promise<void> {
  const [leftover] = (await queryRunner.query(
    `SELECT indisvalid AS valid FROM pg_index WHERE indexrelid = to_regclass($1)`,
    [`"${index}"`],
  )) as { valid: boolean }[];
  const [{ lock }] = (await queryRunner.query(`SELECT current_setting('lock_timeout') AS lock`)) as [{ lock: string }];
  await queryRunner.query(`SELECT set_config('lock_timeout', '0', false)`);
  try {
    if (leftover && !leftover.valid) await queryRunner.query(`DROP INDEX CONCURRENTLY "${index}"`);
    const list = columns.map((column) => `"${column}"`).join(', ');
    await queryRunner.query(`CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS "${index}" ON "${table}" (${list})`);
  } finally {
    await queryRunner.query(`SELECT set_config('lock_timeout', $1, false)`, [lock]);
  }
}
