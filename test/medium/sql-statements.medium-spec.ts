import 'reflect-metadata';

import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { Client } from 'pg';
import { getMetadataArgsStorage } from 'typeorm';
import { declaredStatements, type SqlStatement } from '../../src/database/sql';
import { createTestDatabase, TestDatabase } from '../support/test-database';

const SRC = join(__dirname, '..', '..', 'src');

function sourceFiles(dir = SRC): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return entry.name === 'testing' || entry.name === 'migrations' ? [] : sourceFiles(path);
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.spec.ts') ? [path] : [];
  });
}

const files = sourceFiles();
// Every module that declares a statement, loaded so that its declarations are registered; and every entity,
// for the table names TypeORM maps them to. (Loaded by path: which files they are is what the test finds out.)
/* eslint-disable @typescript-eslint/no-require-imports */
for (const file of files.filter(
  (path) => /\bsql<|\bsql\(/.test(readFileSync(path, 'utf8')) && !path.endsWith('database/sql.ts'),
)) {
  require(file);
}
for (const file of files.filter((path) => path.endsWith('.entity.ts'))) require(file);
/* eslint-enable @typescript-eslint/no-require-imports */

const statements: readonly SqlStatement[] = [...declaredStatements()].sort((a, b) => a.name.localeCompare(b.name));
const entityTables = new Map(
  getMetadataArgsStorage().tables.map((table) => [(table.target as { name: string }).name, table.name as string]),
);
const tables = new Set(entityTables.values());

/** The tables a statement names (FROM, JOIN, INTO, UPDATE, DELETE FROM), among the schema's tables. */
function tablesOf(statement: SqlStatement): string[] {
  const named = [...statement.text.matchAll(/\b(?:FROM|JOIN|INTO|UPDATE)\s+("?)([a-z_]+)\1/gi)].map(
    (match) => match[2],
  );
  return [...new Set(named.filter((name) => tables.has(name)))].sort();
}

/** Tables reached through TypeORM: entities passed to getRepository, into, from and joins, in src/. */
function typeormTables(): Map<string, string[]> {
  const byTable = new Map<string, string[]>();
  for (const file of files) {
    const text = readFileSync(file, 'utf8');
    for (const match of text.matchAll(
      /\b(?:getRepository|into|from|leftJoin|innerJoin|findBy|findOneBy|insert)\(\s*([A-Z]\w+)\b/g,
    )) {
      const table = entityTables.get(match[1]);
      if (!table) continue;
      byTable.set(table, [...new Set([...(byTable.get(table) ?? []), relative(SRC, file)])]);
    }
  }
  return byTable;
}

describe('SQL statements (every sql() declaration in src/)', () => {
  let database: TestDatabase;
  let client: Client;

  beforeAll(async () => {
    database = await createTestDatabase();
    client = new Client({ connectionString: database.url });
    await client.connect();
  });
  afterAll(async () => {
    await client.end();
    await database.drop();
  });

  it('are found, each under a name of its own (PostgreSQL prepares them by name on every connection)', () => {
    expect(statements.length).toBeGreaterThan(30);
    const names = statements.map((statement) => statement.name);
    expect(names.filter((name, index) => names.indexOf(name) !== index)).toEqual([]);
    for (const name of names) expect(name).toMatch(/^[a-z][a-z0-9_]*$/);
  });

  it('each prepares against the migrated schema (tables, columns and parameter types all resolve)', async () => {
    const failures: string[] = [];
    for (const statement of statements) {
      try {
        await client.query(`PREPARE check_statement AS ${statement.text}`);
        await client.query('DEALLOCATE check_statement');
      } catch (error: unknown) {
        failures.push(`${statement.name}: ${(error as Error).message}`);
      }
    }
    expect(failures).toEqual([]);
  });

  it('reach each table in one way only: a table read or written by statements is never reached through TypeORM', () => {
    const bySql = new Map<string, string[]>();
    for (const statement of statements) {
      for (const table of tablesOf(statement)) bySql.set(table, [...(bySql.get(table) ?? []), statement.name]);
    }
    const byTypeorm = typeormTables();
    const both = [...bySql.keys()]
      .filter((table) => byTypeorm.has(table))
      .map((table) => ({
        table,
        statements: bySql.get(table),
        typeorm: byTypeorm.get(table),
      }));
    expect(both).toEqual([]);
    // Both styles are in use, each for its own tables.
    expect([...bySql.keys()].sort()).toEqual(
      expect.arrayContaining([
        'accounts',
        'appointments',
        'callback_deliveries',
        'fulfillments',
        'idempotency_records',
        'orders',
        'products',
        'transfers',
      ]),
    );
    expect([...byTypeorm.keys()].sort()).toEqual(expect.arrayContaining(['audit_events', 'leads']));
  });

  it('read as they did (a snapshot: a change to any statement shows in review)', () => {
    const text = statements
      .map((statement) => `-- ${statement.name}\n${statement.text.replace(/^\s+/gm, '  ').trim()}`)
      .join('\n\n');
    expect(text).toMatchSnapshot();
  });
});
