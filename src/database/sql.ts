import type { ClientBase, QueryResultRow } from 'pg';
import type { EntityManager } from 'typeorm';

/**
 * One SQL statement of the service, with the types of its parameters and rows. Every statement is prepared
 * once per connection under its name (names are unique; the medium tests check each against the migrated
 * schema and keep a snapshot of the text). Rows name their columns like the entity's properties
 * (`balance_minor AS "balanceMinor"`), so their types come from the entity: `Pick<Account, 'balanceMinor'>`.
 */
export interface SqlStatement<
  Row extends QueryResultRow = QueryResultRow,
  Params extends readonly unknown[] = readonly unknown[],
> {
  readonly name: string;
  readonly text: string;
  /** Never set: carries the row and parameter types. */
  readonly types?: { readonly row: Row; readonly params: Params };
}

const declared: SqlStatement[] = [];

/** Declares a statement: `sql<Pick<Account, 'id'>, [customerNumber: string]>('accounts_find', '…')`. */
export function sql<
  Row extends QueryResultRow = Record<string, never>,
  Params extends readonly unknown[] = readonly unknown[],
>(name: string, text: string): SqlStatement<Row, Params> {
  const statement = { name, text };
  declared.push(statement);
  return statement;
}

/** Every statement declared by the modules loaded so far (the medium tests check them all). */
export function declaredStatements(): readonly SqlStatement[] {
  return declared;
}

/** One connection inside a transaction. */
export interface SqlTransaction {
  run<Row extends QueryResultRow, Params extends readonly unknown[]>(
    statement: SqlStatement<Row, Params>,
    params: Readonly<Params>,
  ): Promise<Row[]>;
  /** For a library that issues its own SQL inside our transaction (pg-boss's `db` option). */
  executeSql(text: string, values: unknown[]): Promise<{ rows: unknown[] }>;
}

/**
 * What PostgreSQL answers when a connection's prepared statements are not the ones this client prepared on it:
 * 42P05 duplicate_prepared_statement, 26000 invalid_sql_statement_name.
 */
const NOT_OUR_SESSION = new Set(['42P05', '26000']);

/**
 * A pooler that hands one server connection to several clients between transactions (PgBouncer's
 * `pool_mode = transaction`): the statements this service prepares by name meet other clients' or miss their
 * own. Said in the error, so that the log names the cause rather than only PostgreSQL's words.
 */
function explainForeignSession(error: unknown): unknown {
  const code = (error as { code?: unknown } | undefined)?.code;
  if (!(error instanceof Error) || typeof code !== 'string' || !NOT_OUR_SESSION.has(code)) return error;
  error.message +=
    ' (the connection was shared with other clients between transactions: a pooler in transaction mode, such as ' +
    'PgBouncer with pool_mode = transaction, is in front of PostgreSQL; the service needs session pooling)';
  return error;
}

/** Runs a statement on a connection of one's own (a command-line tool's client, a transaction's). */
export async function runOn<Row extends QueryResultRow, Params extends readonly unknown[]>(
  client: Pick<ClientBase, 'query'>,
  statement: SqlStatement<Row, Params>,
  params: Readonly<Params>,
): Promise<Row[]> {
  try {
    return (await client.query<Row>({ name: statement.name, text: statement.text, values: [...params] })).rows;
  } catch (error: unknown) {
    throw explainForeignSession(error);
  }
}

/** A transaction on a connection of one's own. */
export function transactionOn(client: Pick<ClientBase, 'query'>): SqlTransaction {
  return {
    run: (statement, params) => runOn(client, statement, params),
    executeSql: (text, values) => client.query(text, values),
  };
}

/**
 * The statements of a transaction TypeORM opened (an `EntityManager` in `dataSource.transaction`), through its
 * public `query`: for work that spans both styles on one connection, such as seeding every domain at once.
 */
export function transactionOfManager(manager: Pick<EntityManager, 'query'>): SqlTransaction {
  return {
    run: (statement, params) => manager.query(statement.text, [...params]),
    executeSql: async (text, values) => ({ rows: await manager.query<unknown[]>(text, values) }),
  };
}

/** A `LIKE`/`ILIKE` pattern matching values that contain `text` as typed: its own `%`, `_` and `\` match themselves. */
export function containsPattern(text: string): string {
  return `%${text.replace(/[%_\\]/g, '\\$&')}%`;
}
