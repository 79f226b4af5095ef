import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { cleanEnv } from './support/service-process';
import { createTestDatabase, TestDatabase } from './support/test-database';

const CLI = join(__dirname, '..', 'dist', 'cli', 'database.cli.js');
const WORKDIR = mkdtempSync(join(tmpdir(), 'wf-database-cli-output-'));

/**
 * What the database commands print on standard output, piped as a deploy gate or the migration Job's log reads it:
 * their own answer and nothing else (TypeORM's commentary, in colour, came first on every run).
 */
describe('database commands: standard output is the answer alone (real PostgreSQL)', () => {
  let database: TestDatabase;
  const run = (env: Record<string, string>, ...args: string[]) =>
    promisify(execFile)(process.execPath, [CLI, ...args], {
      cwd: WORKDIR,
      // Colours allowed, as on a developer's machine or in a Job without NO_COLOR.
      env: Object.fromEntries(
        Object.entries(cleanEnv({ DATABASE_URL: database.url, ...env })).filter(([name]) => name !== 'NO_COLOR'),
      ),
    });

  beforeAll(async () => {
    database = await createTestDatabase();
  });
  afterAll(async () => {
    await database.drop();
    rmSync(WORKDIR, { recursive: true, force: true });
  });

  it.each([
    ['development', {}],
    ['production', { NODE_ENV: 'production' }],
  ])('show (%s) prints exactly "The schema is up to date."', async (_name, env) => {
    expect(await run(env, 'show')).toEqual({ stdout: 'The schema is up to date.\n', stderr: '' });
  });

  it('migrate prints what it applied, and nothing else', async () => {
    expect(await run({ NODE_ENV: 'production' }, 'migrate')).toEqual({
      stdout: 'Applied 0 migration(s)\nJob queue schema is up to date\n',
      stderr: '',
    });
  });
});
