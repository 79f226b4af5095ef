import { randomBytes } from 'node:crypto';
import { Client } from 'pg';

export interface TestDatabase {
  url: string;
  name: string;
  drop(): Promise<void>;
}

const OWNED = /^wf_(e2e|template)_[a-z0-9_]+$/;

function serverUrl(): string {
  const url = process.env.DATABASE_URL;
  if (!url) throw new Error('DATABASE_URL is not set: run the e2e tests through jest (globalSetup provides it)');
  return url;
}

function withDatabase(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${database}`;
  return parsed.toString();
}

async function admin<T>(work: (client: Client) => Promise<T>): Promise<T> {
  const client = new Client({ connectionString: serverUrl() });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/** A fresh database cloned from the migrated, seeded template; only databases named wf_e2e_* are ever dropped. */
export async function createTestDatabase(): Promise<TestDatabase> {
  const template = process.env.WF_TEMPLATE_DATABASE;
  if (!template || !OWNED.test(template)) throw new Error('the e2e template database is missing');
  return createOwned(template);
}

/** A new, completely empty database (no schema, no data), as a developer's own DATABASE_URL may be. */
export async function createEmptyTestDatabase(): Promise<TestDatabase> {
  return createOwned();
}

/**
 * A copy of another test database, schema and rows: for a file whose tests each start from the same state that
 * takes real processes to reach. Nothing may be connected to `source` while it is copied.
 */
export async function copyTestDatabase(source: TestDatabase): Promise<TestDatabase> {
  if (!OWNED.test(source.name)) throw new Error(`refusing to copy ${source.name}: not a test database`);
  return createOwned(source.name);
}

/** A new wf_e2e_* database, copied from `template` when given. */
async function createOwned(template?: string): Promise<TestDatabase> {
  const name = `wf_e2e_${randomBytes(6).toString('hex')}`;
  await admin((client) => client.query(`CREATE DATABASE ${name}${template ? ` TEMPLATE ${template}` : ''}`));
  return owned(name);
}

function owned(name: string): TestDatabase {
  return {
    name,
    url: withDatabase(serverUrl(), name),
    drop: async () => {
      if (!OWNED.test(name)) throw new Error(`refusing to drop ${name}: not a test database`);
      await admin((client) => client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
    },
  };
}

/** Runs one query on a test database, for assertions about what was (not) written. */
export async function queryTestDatabase<T extends Record<string, unknown>>(
  url: string,
  sql: string,
  params: unknown[] = [],
): Promise<T[]> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<T>(sql, params)).rows;
  } finally {
    await client.end();
  }
}
