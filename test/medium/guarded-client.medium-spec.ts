import { guardedClientClass, type GuardedClient, NoAnswerError } from '../../src/database/guarded-client';

/** A statement of 0.6 s against a read timeout of 0.3 s: a migration's index build against a turn's limits. */
const READ_TIMEOUT_MS = 300;
const LONG_STATEMENT = 'SELECT pg_sleep(0.6)';

describe('a guarded client told to wait longer for answers (real PostgreSQL)', () => {
  const lost: Error[] = [];
  const Guarded = guardedClientClass({ readTimeoutMs: READ_TIMEOUT_MS, onError: (error) => lost.push(error) });
  const clients: GuardedClient[] = [];

  async function connected(): Promise<GuardedClient> {
    const client = new Guarded({ connectionString: process.env.DATABASE_URL });
    clients.push(client);
    await client.connect();
    return client;
  }

  afterAll(async () => {
    await Promise.all(clients.map((client) => client.end().catch(() => undefined)));
  });

  it('gives a statement up at its read timeout, and keeps one that runs longer while told to wait for it', async () => {
    const guarded = await connected();
    const givenUp = await guarded.query(LONG_STATEMENT).catch((error: unknown) => error);
    expect((givenUp as Error).name).toBe(NoAnswerError.name);
    expect(lost.map((error) => error.message)).toContain((givenUp as Error).message);

    const migrating = await connected();
    migrating.waitForAnswersUpTo(5000);
    expect((await migrating.query(LONG_STATEMENT)).rowCount).toBe(1);
    expect((await migrating.query(LONG_STATEMENT)).rowCount).toBe(1);
  });

  it('refuses a wait that would end every statement', async () => {
    const client = await connected();
    for (const ms of [0, -1, Number.NaN]) {
      expect(() => client.waitForAnswersUpTo(ms)).toThrow(/must be a positive number/);
    }
  });

  it('keeps a connection whose query pg refused before sending it (a thrown TypeError is no silent server)', async () => {
    const client = await connected();
    const before = lost.length;
    expect(() => client.query(null as never)).toThrow(TypeError);
    await new Promise((resolve) => setTimeout(resolve, READ_TIMEOUT_MS * 2));
    expect(lost.slice(before)).toEqual([]);
    expect((await client.query('SELECT 1')).rowCount).toBe(1);
  });
});
