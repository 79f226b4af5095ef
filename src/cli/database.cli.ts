import 'reflect-metadata';
import { spawnSync } from 'node:child_process';
import { join, resolve } from 'node:path';
import PgBoss from 'pg-boss';
import { DataSource } from 'typeorm';
import { jobQueueOptions } from '../async/job-queue';
import { ConfigError, loadConfig } from '../config';
import { buildDataSourceOptions } from '../database/data-source-options';
import { resolveDatabase, suitableServerUrl } from '../database/database-server';
import { requireOwnSessions } from '../database/own-sessions';
import { migrateSchema, revertLastMigration } from '../database/schema-migrations';
import { seedDemoData } from '../intents/demo-data';

const USAGE = 'usage: database.cli <migrate | revert | show | seed | generate <MigrationName>>';

/** The pg-boss schema (pg-boss versions and migrates its own tables); replicas then start without DDL. */
async function installJobQueue(url: string): Promise<void> {
  const boss = new PgBoss({ ...jobQueueOptions(url, 1), supervise: false, schedule: false });
  boss.on('error', () => undefined);
  await boss.start();
  await boss.stop({ graceful: false, close: true });
  process.stdout.write('Job queue schema is up to date\n');
}

async function run(command: string | undefined, argument: string | undefined): Promise<number> {
  if (!command || !['migrate', 'revert', 'show', 'seed', 'generate'].includes(command)) {
    process.stderr.write(`${USAGE}\n`);
    return 2;
  }
  if (command === 'generate' && !/^[A-Z][A-Za-z0-9]+$/.test(argument ?? '')) {
    process.stderr.write('generate needs a PascalCase migration name, e.g. AddOrders\n');
    return 2;
  }
  // Serves nothing: production's serving requirements (TLS, CALLERS_FILE) are not asked of the migration Job.
  const config = loadConfig(process.env, undefined, { serving: false });
  const database = await resolveDatabase(config, (message) => process.stdout.write(`${message}\n`));
  try {
    const url = await suitableServerUrl(config.database, database.url);
    if (command === 'generate') {
      // TypeORM's own generator compares the entities with the live schema; it reads dist/database/data-source.js.
      const cli = require.resolve('typeorm/cli.js');
      const target = resolve('src', 'database', 'migrations', argument as string);
      const result = spawnSync(
        process.execPath,
        [cli, 'migration:generate', '-d', join(__dirname, '..', 'database', 'data-source.js'), '-p', target],
        { stdio: 'inherit', env: { ...process.env, DATABASE_URL: url } },
      );
      return result.status ?? 1;
    }
    const dataSource = new DataSource(buildDataSourceOptions({ ...config.database, url }));
    await dataSource.initialize();
    const say = (message: string): void => void process.stdout.write(`${message}\n`);
    try {
      // The migration lock is a session's: behind a pooler in transaction mode it would guard nothing.
      await requireOwnSessions(dataSource);
      if (command === 'migrate') {
        const applied = await migrateSchema(dataSource, config.database.migrationLimits, say);
        process.stdout.write(`Applied ${applied.length} migration(s)${applied.map((m) => `\n  ${m.name}`).join('')}\n`);
        await installJobQueue(url);
      } else if (command === 'revert') {
        await revertLastMigration(dataSource, config.database.migrationLimits, say);
      } else if (command === 'show') {
        const pending = await dataSource.showMigrations();
        process.stdout.write(pending ? 'There are pending migrations.\n' : 'The schema is up to date.\n');
      } else {
        await migrateSchema(dataSource, config.database.migrationLimits, say);
        const seeded = await seedDemoData(dataSource, false);
        process.stdout.write(`Seeded demo data: ${seeded.join(', ')}\n`);
      }
    } finally {
      await dataSource.destroy();
    }
    return 0;
  } finally {
    await database.stop();
  }
}

run(process.argv[2], process.argv[3])
  .then((code) => process.exit(code))
  .catch((error: unknown) => {
    process.stderr.write(`${error instanceof ConfigError ? error.message : String(error)}\n`);
    process.exit(1);
  });
