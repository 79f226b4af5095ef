import { Client } from 'pg';
import { runOn, type SqlStatement } from '../../src/database/sql';

/**
 * What a pooler in transaction mode does to the service's named statements, made on one real session: the server
 * already holds a statement of that name (another client prepared it on the shared connection), which this client
 * has never prepared. PostgreSQL's own words are kept, and the cause is named.
 */
describe('a statement meeting a session it does not own (real PostgreSQL)', () => {
  let client: Client;

  beforeAll(async () => {
    client = new Client({ connectionString: process.env.DATABASE_URL });
    await client.connect();
  });
  afterAll(() => client.end());

  // Not declared with sql(): the declared statements are checked against the schema elsewhere.
  const statement: SqlStatement<{ one: number }, []> = { name: 'wf_foreign_session_probe', text: 'SELECT 1 AS one' };

  it('says that a transaction-mode pooler is in front, with PostgreSQL 42P05 kept', async () => {
    await client.query(`PREPARE ${statement.name} AS SELECT 2`);
    const failure = runOn(client, statement, []);
    await expect(failure).rejects.toMatchObject({ code: '42P05' });
    await expect(failure).rejects.toThrow(
      /prepared statement "wf_foreign_session_probe" already exists \(the connection was shared .* pool_mode = transaction.* needs session pooling\)/,
    );
    await client.query(`DEALLOCATE ${statement.name}`);
  });

  it('leaves every other error as it was', async () => {
    const broken: SqlStatement = { name: 'wf_foreign_session_broken', text: 'SELECT * FROM no_such_table' };
    await expect(runOn(client, broken, [])).rejects.toThrow(/^relation "no_such_table" does not exist$/);
  });
});
