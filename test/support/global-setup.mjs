// Prepares one migrated, seeded template database for the e2e suite; each test file clones it.
// Uses DATABASE_URL when set (CI), otherwise starts an embedded PostgreSQL just for this run; likewise Redis.
import { spawnSync } from 'node:child_process';
import { chmod, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { freePort } from '../../scripts/free-port.mjs';
import { startTestRedis } from './redis-server.mjs';

const TEMPLATE = `wf_template_${process.pid}`;

async function startEmbedded() {
  const { startEmbeddedPostgres } = await import('../../dist/database/embedded/embedded-postgres.server.js');
  const parent = await mkdtemp(join(tmpdir(), 'wf-test-pg-'));
  await chmod(parent, 0o755);
  const running = await startEmbeddedPostgres({
    dataDir: join(parent, 'data'),
    port: await freePort(),
    database: 'test',
  });
  globalThis.__WF_EMBEDDED__ = { running, parent };
  return running.url;
}

function withDatabase(url, database) {
  const parsed = new URL(url);
  parsed.pathname = `/${database}`;
  return parsed.toString();
}

export default async function globalSetup() {
  // One setup for every project of the run (medium and e2e share the template, the server and Redis).
  if (globalThis.__WF_TEMPLATE__) return;
  const redis = await startTestRedis();
  globalThis.__WF_REDIS__ = redis;
  if (redis.url) process.env.WF_TEST_REDIS_URL = redis.url;
  else process.env.WF_TEST_REDIS_UNAVAILABLE = redis.unavailable;
  const serverUrl = process.env.DATABASE_URL || (await startEmbedded());
  process.env.DATABASE_URL = serverUrl;
  const admin = new pg.Client({ connectionString: serverUrl });
  await admin.connect();
  try {
    await admin.query(`DROP DATABASE IF EXISTS ${TEMPLATE}`);
    await admin.query(`CREATE DATABASE ${TEMPLATE}`);
  } finally {
    await admin.end();
  }
  const seeded = spawnSync(process.execPath, ['dist/cli/database.cli.js', 'seed'], {
    env: { ...process.env, DATABASE_URL: withDatabase(serverUrl, TEMPLATE) },
    encoding: 'utf8',
  });
  if (seeded.status !== 0) {
    throw new Error(`could not migrate and seed the template database: ${seeded.stderr || seeded.stdout}`);
  }
  process.env.WF_TEMPLATE_DATABASE = TEMPLATE;
  globalThis.__WF_TEMPLATE__ = { serverUrl, template: TEMPLATE };
}
