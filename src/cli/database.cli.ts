import 'reflect-metadata';
import { spawnSync } from 'node:child_process';
import { join, resolve } from 'node:path';
import PgBoss from 'pg-boss';
import { DataSource } from 'typeorm';
import { jobQueueOptions } from '../async/job-queue';
import { type AppConfig, ConfigError, loadConfig } from '../config';
import { buildDataSourceOptions } from '../database/data-source-options';
import { resolveDatabase, suitableServerUrl } from '../database/database-server';
import { requireOwnSessions } from '../database/own-sessions';
import { migrateSchema, pendingMigrations, revertLastMigration } from '../database/schema-migrations';
import { seedDemoData } from '../intents/demo-data';
import { useCommandLogger } from './command-logger';

const USAGE = 'usage: database.cli <migrate | revert [--yes] | show | seed | generate <MigrationName>>';

/** `show`'s exit code while migrations are pending: a deploy gate fails on it, and tells it from an error (1). */
const PENDING_EXIT_CODE = 3;

/** The pg-boss schema (pg-boss versions and migrates its own tables); replicas then start without DDL. */
async function installJobQueue(url: string): Promise<void> {
  const boss = new PgBoss({ ...jobQueueOptions(url, 1), supervise: false, schedule: false });
  boss.on('error', () => undefined);
  await boss.start();
  await boss.stop({ graceful: false, close: true });
  process.stdout.write('Job queue schema is up to date\n');
}

async function run(command: string | undefined, args: readonly string[]): Promise<number> {
  if (!command || !['migrate', 'revert', 'show', 'seed', 'generate'].includes(command)) {
    process.stderr.write(`${USAGE}\n`);
    return 2;
  }
  const [argument] = args;
  if (command === 'generate' && (args.length !== 1 || !/^[A-Z][A-Za-z0-9]+$/.test(argument ?? ''))) {
    process.stderr.write('generate needs a PascalCase migration name, e.g. AddOrders\n');
    return 2;
  }
  const confirmed = command === 'revert' && args.length === 1 && argument === '--yes';
  if (command !== 'generate' && args.length > 0 && !confirmed) {
    process.stderr.write(`unknown argument ${JSON.stringify(argument)}\n${USAGE}\n`);
    return 2;
  }
  // Serves nothing: production's serving requirements (TLS, CALLERS_FILE) are not asked of the migration Job.
  const config = loadConfig(process.env, undefined, { serving: false });
  useCommandLogger(config.logLevel);
  if (config.isProduction && command === 'seed') {
    process.stderr.write('seed loads demo customers and balances: refused with NODE_ENV=production\n');
    return 2;
  }
  if (config.isProduction && command === 'revert' && !confirmed) {
    process.stderr.write(
      "revert undoes the last migration's schema change (and may drop data) on a production database: " +
        'run it again with --yes to confirm\n',
    );
    return 2;
  }
  const database = await resolveDatabase(config, say);
  try {
    const url = await suitableServerUrl(config.database, database.url);
    const dataSource = new DataSource(buildDataSourceOptions({ ...config.database, url }));
    await dataSource.initialize();
    let code: number;
    try {
      code = await runOn(dataSource, command, config, url);
    } finally {
      await dataSource.destroy();
    }
    if (code !== 0 || command !== 'generate') return code;
    // TypeORM's own generator compares the entities with the live schema; it reads dist/database/data-source.js.
    const cli = require.resolve('typeorm/cli.js');
    const target = resolve('src', 'database', 'migrations', argument);
    const result = spawnSync(
      process.execPath,
      [cli, 'migration:generate', '-d', join(__dirname, '..', 'database', 'data-source.js'), '-p', target],
      { stdio: 'inherit', env: { ...process.env, DATABASE_URL: url } },
    );
    return result.status ?? 1;
  } finally {
    await database.stop();
  }
}

function say(message: string): void {
  process.stdout.write(`${message}\n`);
}

/** The command's work on the database (for generate: making sure the schema is up to date first); its exit code. */
async function runOn(dataSource: DataSource, command: string, config: AppConfig, url: string): Promise<number> {
  const limits = config.database.migrationLimits;
  // The migration lock is a session's: behind a pooler in transaction mode it would guard nothing.
  if (command !== 'generate') await requireOwnSessions(dataSource);
  if (command === 'show') {
    // Read without DDL (TypeORM's showMigrations creates its table), so a read-only role can ask too.
    const pending = await pendingMigrations(dataSource);
    if (pending.length === 0) {
      say('The schema is up to date.');
      return 0;
    }
    say(`${pending.length} pending migration(s):${pending.map((name) => `\n  ${name}`).join('')}`);
    return PENDING_EXIT_CODE;
  }
  if (command === 'generate') {
    // The generator diffs the entities against the live schema: on one behind its migrations, it would write the
    // tables those migrations create all over again.
    const behind = await pendingMigrations(dataSource);
    if (behind.length === 0) return 0;
    if (config.database.url) {
      process.stderr.write(
        `generate compares the entities with the schema, which has ${behind.length} migration(s) pending ` +
          `(${behind.join(', ')}): run npm run migration:run first\n`,
      );
      return 2;
    }
    // The embedded development database: brought up to date first.
    await requireOwnSessions(dataSource);
  }
  if (command === 'revert') {
    const reverted = await revertLastMigration(dataSource, limits, say);
    say(reverted ? `Reverted migration ${reverted}` : 'No migration to revert');
    return 0;
  }
  const applied = await migrateSchema(dataSource, limits, say);
  if (command === 'generate') {
    say(`Applied ${applied.length} migration(s) before generating`);
  } else if (command === 'migrate') {
    say(`Applied ${applied.length} migration(s)${applied.map((m) => `\n  ${m.name}`).join('')}`);
    await installJobQueue(url);
  } else {
    const seeded = await seedDemoData(dataSource, false);
    say(`Seeded demo data: ${seeded.join(', ')}`);
  }
  return 0;
}

run(process.argv[2], process.argv.slice(3))
  .then((code) => process.exit(code))
  .catch((error: unknown) => {
    process.stderr.write(`${error instanceof ConfigError ? error.message : String(error)}\n`);
    process.exit(1);
  });
