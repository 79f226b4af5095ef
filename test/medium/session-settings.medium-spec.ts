import { SessionSettingsClient } from '../../src/database/session-settings';
import { testPool } from './support/test-pool';

/** The server the test run uses (globalSetup sets it). */
const URL = process.env.DATABASE_URL;

const settingsOf = async (query: (text: string) => Promise<{ rows: unknown[] }>) =>
  (
    await query(
      `SELECT name, setting, source FROM pg_settings
        WHERE name IN ('statement_timeout', 'idle_in_transaction_session_timeout') ORDER BY name`,
    )
  ).rows;

/** What a session of the client has, and where it came from, on the test run's PostgreSQL. */
describe('SessionSettingsClient (real PostgreSQL)', () => {
  const config = { connectionString: URL, statement_timeout: 1234, idle_in_transaction_session_timeout: 5678 };

  it('sets the timeouts with SET once connected, not as startup parameters (which a PgBouncer refuses)', async () => {
    const client = new SessionSettingsClient(config);
    await client.connect();
    try {
      expect(await settingsOf((text) => client.query(text))).toEqual([
        { name: 'idle_in_transaction_session_timeout', setting: '5678', source: 'session' },
        { name: 'statement_timeout', setting: '1234', source: 'session' },
      ]);
    } finally {
      await client.end();
    }
  });

  it('does the same for every connection of a pool (pg-pool connects with a callback)', async () => {
    const pool = testPool({ ...config, Client: SessionSettingsClient, max: 2 });
    try {
      const [first, second] = await Promise.all([pool.connect(), pool.connect()]);
      for (const client of [first, second]) {
        expect(await settingsOf((text) => client.query(text))).toContainEqual({
          name: 'statement_timeout',
          setting: '1234',
          source: 'session',
        });
        client.release();
      }
    } finally {
      await pool.end();
    }
  });

  it('sets nothing it was not given', async () => {
    const client = new SessionSettingsClient({ connectionString: URL });
    await client.connect();
    try {
      const settings = (await settingsOf((text) => client.query(text))) as { source: string }[];
      expect(settings.map((row) => row.source)).not.toContain('session');
    } finally {
      await client.end();
    }
  });
});
