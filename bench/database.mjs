// The database every bench script runs its servers against, started by the bench itself and not by the service
// under test: an embedded PostgreSQL the service started would inherit its pinning to core 0 and take turns on
// that core with it, so every query's socket write would count the database's own work as the service's.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import pg from 'pg';
import { root } from './harness.mjs';
import { freePort } from '../scripts/free-port.mjs';

/**
 * Customers of their own, so the transfers never change the balance the other runs read; several of them,
 * because transfers of one customer are serialised by the row locks (as they must be) and a bank's load is
 * many customers at once. load.mjs spreads the turns over them (`__CUSTOMER__`).
 */
const TRANSFER_CUSTOMERS = 32;

async function onServer(serverUrl, sql, values) {
  const client = new pg.Client({ connectionString: serverUrl });
  await client.connect();
  try {
    await client.query(sql, values);
  } finally {
    await client.end();
  }
}

/**
 * On DATABASE_URL's server, a database made for this run (migrated and seeded, dropped at the end): every run
 * starts from the same state, whatever earlier runs (their transfers, idempotency records, bloat) or someone's
 * manual calls left in a shared database.
 */
async function freshDatabaseOn(serverUrl, runId) {
  const name = `bench_${runId}`;
  await onServer(serverUrl, `CREATE DATABASE ${name}`);
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  const seeded = spawnSync(process.execPath, ['dist/cli/database.cli.js', 'seed'], {
    cwd: root,
    env: { ...process.env, DATABASE_URL: url.href },
    encoding: 'utf8',
  });
  if (seeded.status !== 0) throw new Error(`could not seed ${name}: ${seeded.stderr || seeded.stdout}`);
  return {
    url: url.href,
    kind: `DATABASE_URL's server, database ${name} made for this run`,
    stop: () => onServer(serverUrl, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`),
  };
}

/**
 * DATABASE_URL's server (a fresh database on it, named after `runId`), or else the bench's embedded PostgreSQL
 * (.data/bench-postgres, kept between runs; the services seed its demo data). Resolves with `url`, `kind` and
 * `stop()`.
 */
export async function startBenchDatabase(runId) {
  if (process.env.DATABASE_URL) return freshDatabaseOn(process.env.DATABASE_URL, runId);
  const { startEmbeddedPostgres } = await import('../dist/database/embedded/embedded-postgres.server.js');
  const running = await startEmbeddedPostgres({
    dataDir: join(root, '.data', 'bench-postgres'),
    port: await freePort(),
    database: 'bench',
  });
  return { url: running.url, kind: 'embedded', stop: running.stop };
}

/**
 * A bench customer of its own (`customerNumber`), with a checking and a savings account holding ten billion
 * dollars: its transfers change no balance another row checks. Nothing is done when it exists.
 */
export async function createBenchCustomer(client, customerNumber, fullName) {
  await client.query(
    `WITH customer AS (
       INSERT INTO customers (customer_number, full_name) VALUES ($1, $2)
       ON CONFLICT (customer_number) DO UPDATE SET full_name = EXCLUDED.full_name RETURNING id)
     INSERT INTO accounts (customer_id, account_type, account_number_last4, currency, balance_minor, balance_updated_at)
     SELECT id, type, '0000', 'USD', 1000000000000, now() FROM customer, unnest(ARRAY['checking', 'savings']) AS type
     ON CONFLICT (customer_id, account_type) DO NOTHING`,
    [customerNumber, fullName],
  );
}

/** The transfer rows' customers (`BENCH-TX-0` …), each with a checking and a savings account. */
export async function createTransferCustomers(url) {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    for (let index = 0; index < TRANSFER_CUSTOMERS; index += 1) {
      await createBenchCustomer(client, `BENCH-TX-${index}`, 'Bench Transfers');
    }
  } finally {
    await client.end();
  }
}
