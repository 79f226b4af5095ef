import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { EmbeddedPostgresError } from '../src/database/embedded/embedded-postgres.errors';
import { ROOT_DATA_FOLDER, startEmbeddedPostgres } from '../src/database/embedded/embedded-postgres.server';
import { freePort } from './support/service-process';
import { postgresOsUser } from '../src/database/embedded/os-user';

const DIST_SERVER = join(__dirname, '..', 'dist', 'database', 'embedded', 'embedded-postgres.server.js');
const asRoot = process.getuid?.() === 0;

async function selectOne(url: string): Promise<number> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<{ one: number }>('SELECT 1 AS one')).rows[0].one;
  } finally {
    await client.end();
  }
}

/** Another process running the embedded server on this data folder, as a second `npm start` would. */
function otherInstance(dataDir: string, port: number): Promise<ChildProcess> {
  const script = `require(${JSON.stringify(DIST_SERVER)}).startEmbeddedPostgres({ dataDir: ${JSON.stringify(dataDir)}, port: ${port}, database: 'app' })
    .then(() => { console.log('READY'); setInterval(() => undefined, 1000); }, (e) => { console.error(e.message); process.exit(1); });`;
  const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
  return new Promise((resolve, reject) => {
    let output = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      output += chunk.toString('utf8');
      if (output.includes('READY')) resolve(child);
    });
    child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    child.once('exit', (code) => reject(new Error(`the other instance exited (${code}): ${output}`)));
  });
}

describe('embedded PostgreSQL (real binaries, real processes)', () => {
  const top = mkdtempSync(join(tmpdir(), 'wf-embedded-pg-'));
  chmodSync(top, 0o755);
  afterAll(() => rmSync(top, { recursive: true, force: true }));

  it('initialises once, then starts on the same data with its password, and refuses a wrong one', async () => {
    const dataDir = join(top, 'plain', 'pg');
    const port = await freePort();
    const first = await startEmbeddedPostgres({ dataDir, port, database: 'app' });
    expect(await selectOne(first.url)).toBe(1);
    await first.stop();
    expect(existsSync(join(dataDir, 'postmaster.pid'))).toBe(false);

    const second = await startEmbeddedPostgres({ dataDir, port, database: 'app' });
    try {
      expect(second.url).toBe(first.url);
      expect(await selectOne(second.url)).toBe(1);
      const wrong = new URL(second.url);
      wrong.password = 'wrong';
      await expect(selectOne(wrong.toString())).rejects.toMatchObject({ code: '28P01' });
    } finally {
      await second.stop();
    }
  });

  it('stops a server that a killed run left behind, then starts normally', async () => {
    const dataDir = join(top, 'leftover', 'pg');
    const port = await freePort();
    const killed = await otherInstance(dataDir, port);
    const exited = new Promise((resolve) => killed.once('exit', resolve));
    killed.kill('SIGKILL'); // like a killed `npm start`: its postmaster keeps running, orphaned
    await exited;
    const notes: string[] = [];
    const running = await startEmbeddedPostgres({ dataDir, port, database: 'app', log: (line) => notes.push(line) });
    try {
      expect(notes).toEqual([
        expect.stringMatching(/^stopping a PostgreSQL server left running by an earlier run \(pid \d+\)$/),
      ]);
      expect(await selectOne(running.url)).toBe(1);
    } finally {
      await running.stop();
    }
  });

  it("never signals a process that only took a stale postmaster.pid's id (a psql, another cluster's backend)", async () => {
    const dataDir = join(top, 'stale', 'pg');
    const port = await freePort();
    await (await startEmbeddedPostgres({ dataDir, port, database: 'app' })).stop();
    // "postgres" in its command line, and a shell for a parent: before, it was taken for our leftover and signalled.
    // Run as PostgreSQL's own user (as root, the system user it runs as): PostgreSQL then refuses the lock file.
    const { uid, gid } = postgresOsUser();
    const lookalike = spawn('bash', ['-c', '(exec -a postgres-lookalike sleep 30) & wait'], {
      stdio: 'ignore',
      ...(uid !== undefined && gid !== undefined && { uid, gid }),
    });
    try {
      let pid = 0;
      for (let tries = 0; tries < 100 && !pid; tries++) {
        await new Promise((resolve) => setTimeout(resolve, 20));
        pid = Number(
          execFileSync('pgrep', ['-f', '-P', String(lookalike.pid), 'postgres-lookalike'], {
            encoding: 'utf8',
          }).trim() || 0,
        );
      }
      expect(pid).toBeGreaterThan(0);
      writeFileSync(join(dataDir, 'postmaster.pid'), `${pid}\n${dataDir}\n`);
      const notes: string[] = [];
      const refusal = await startEmbeddedPostgres({ dataDir, port, database: 'app', log: (line) => notes.push(line) })
        .then((running) => running.stop())
        .catch((error: unknown) => error);
      // PostgreSQL refuses a lock file whose process lives and is its user's; the message says what to do.
      expect(refusal).toBeInstanceOf(EmbeddedPostgresError);
      expect((refusal as Error).message).toContain(
        `${join(dataDir, 'postmaster.pid')} names process ${pid} (postgres-lookalike 30), which is not a PostgreSQL of this folder`,
      );
      expect((refusal as Error).message).toMatch(/delete .*postmaster\.pid and start again$/);
      expect(notes.filter((note) => /left running by an earlier run/.test(note))).toEqual([]);
      expect(() => process.kill(pid, 0)).not.toThrow(); // still alive
    } finally {
      lookalike.kill('SIGKILL');
      spawn('pkill', ['-f', 'postgres-lookalike']);
    }
  });

  it('leaves a server that another running instance owns alone, and says so in one line', async () => {
    const dataDir = join(top, 'shared', 'pg');
    const port = await freePort();
    const owner = await otherInstance(dataDir, port);
    try {
      const error = await startEmbeddedPostgres({ dataDir, port, database: 'app' }).catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(EmbeddedPostgresError);
      expect((error as Error).message).toBe(
        `the embedded PostgreSQL data folder ${dataDir} is in use by another running instance (pid ${owner.pid}): ` +
          'stop it, or give this one its own EMBEDDED_PG_DATA_DIR and EMBEDDED_PG_PORT',
      );
    } finally {
      const exited = new Promise((resolve) => owner.once('exit', resolve));
      owner.kill('SIGTERM');
      await exited;
      // The owner's postmaster is orphaned now; the next start stops it.
      await (await startEmbeddedPostgres({ dataDir, port, database: 'app' })).stop();
    }
  });

  it('names a taken port and the setting to change, in one line', async () => {
    const blocker: Server = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const { port } = blocker.address() as { port: number };
    try {
      const error = await startEmbeddedPostgres({ dataDir: join(top, 'taken', 'pg'), port, database: 'app' }).catch(
        (caught: unknown) => caught,
      );
      expect(error).toBeInstanceOf(EmbeddedPostgresError);
      expect((error as Error).message).toMatch(
        new RegExp(`port ${port} is taken; set EMBEDDED_PG_PORT to a free port$`),
      );
      expect((error as Error).message).not.toContain('\n');
    } finally {
      blocker.close();
    }
  });

  it('keeps the password before it makes the cluster: when it cannot, no cluster is left that nobody can log in to', async () => {
    const dataDir = join(top, 'unwritable', 'pg');
    const port = await freePort();
    const passwordFile = join(top, 'unwritable', 'pg.password');
    mkdirSync(passwordFile, { recursive: true });
    await expect(startEmbeddedPostgres({ dataDir, port, database: 'app' })).rejects.toMatchObject({ code: 'EISDIR' });
    expect(existsSync(join(dataDir, 'PG_VERSION'))).toBe(false);

    rmSync(passwordFile, { recursive: true });
    const running = await startEmbeddedPostgres({ dataDir, port, database: 'app' });
    try {
      expect(await selectOne(running.url)).toBe(1);
    } finally {
      await running.stop();
    }
  });

  it('says how to recover when the password file of an existing cluster is gone', async () => {
    const dataDir = join(top, 'lost', 'pg');
    const port = await freePort();
    await (await startEmbeddedPostgres({ dataDir, port, database: 'app' })).stop();
    unlinkSync(join(top, 'lost', 'pg.password'));
    await expect(startEmbeddedPostgres({ dataDir, port, database: 'app' })).rejects.toThrow(
      `the embedded PostgreSQL in ${dataDir} has lost its password file ${join(top, 'lost', 'pg.password')}: remove ${dataDir} to start with a new database`,
    );
  });

  it(
    asRoot
      ? 'as root, keeps the data of a project in a private folder where the postgres user can reach it'
      : 'as a normal user, keeps the data in the configured folder, private or not',
    async () => {
      const privateFolder = join(top, 'private-home');
      mkdirSync(privateFolder);
      chmodSync(privateFolder, 0o700);
      const dataDir = join(privateFolder, 'project', '.data', 'postgres');
      const notes: string[] = [];
      const running = await startEmbeddedPostgres({
        dataDir,
        port: await freePort(),
        database: 'app',
        log: (line) => notes.push(line),
      });
      const relocatedParent = join(ROOT_DATA_FOLDER, createHash('sha256').update(dataDir).digest('hex').slice(0, 16));
      try {
        expect(await selectOne(running.url)).toBe(1);
        if (asRoot) {
          expect(notes).toEqual([
            `the "postgres" user cannot enter ${privateFolder}, so the embedded PostgreSQL keeps its data in ${join(relocatedParent, 'postgres')}`,
          ]);
          expect(existsSync(join(relocatedParent, 'postgres', 'PG_VERSION'))).toBe(true);
          expect(existsSync(join(dataDir, 'PG_VERSION'))).toBe(false);
        } else {
          expect(notes).toEqual([]);
          expect(existsSync(join(dataDir, 'PG_VERSION'))).toBe(true);
        }
      } finally {
        await running.stop();
        if (asRoot) rmSync(relocatedParent, { recursive: true, force: true });
      }
    },
  );
});
