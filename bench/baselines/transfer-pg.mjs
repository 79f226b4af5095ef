// Baseline for the TransferFunds row: a bare node:http server doing the same durable work as the service's
// turn in one PostgreSQL transaction: claim the turn's key, lock both accounts, move the money (transfer row,
// both balances, both history rows), store the reply; a turn already claimed gets its stored reply.
import { createHash } from 'node:crypto';
import { createServer } from 'node:http';
import pg from 'pg';

const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL, max: Number(process.env.DB_POOL_SIZE ?? 10) });
const CALLER = 'bench-baseline';

const CLAIM = `INSERT INTO idempotency_records (caller_id, key, platform, request_hash, state, owner, lease_expires_at, expires_at)
  VALUES ($1, $2, 'generic', $3, 'in-flight', 'baseline', now() + interval '10 seconds', now() + interval '1 day')
  ON CONFLICT (caller_id, key) DO NOTHING RETURNING 1 AS claimed`;
const STORED = `SELECT response_body AS body FROM idempotency_records WHERE caller_id = $1 AND key = $2`;
const LOCK = `SELECT a.id, a.account_type, a.currency, a.balance_minor FROM accounts a JOIN customers c ON c.id = a.customer_id
  WHERE c.customer_number = $1 AND a.account_type = ANY($2::text[]) ORDER BY a.id FOR UPDATE OF a`;
const APPLY = `WITH transfer AS (
    INSERT INTO transfers (idempotency_key, from_account_id, to_account_id, amount_minor) VALUES ($1, $2, $3, $4::bigint) RETURNING id),
  debit AS (UPDATE accounts SET balance_minor = balance_minor - $4::bigint, balance_updated_at = now() WHERE id = $2 RETURNING balance_minor),
  credit AS (UPDATE accounts SET balance_minor = balance_minor + $4::bigint, balance_updated_at = now() WHERE id = $3 RETURNING balance_minor),
  history AS (INSERT INTO transactions (account_id, posted_at, description, amount_minor)
    VALUES ($2, now(), 'Transfer to savings', -($4::bigint)), ($3, now(), 'Transfer from checking', $4::bigint))
  SELECT (SELECT balance_minor FROM debit) AS from_balance`;
const COMPLETE = `UPDATE idempotency_records SET state = 'completed', response_status = 200, response_body = $3, lease_expires_at = NULL
  WHERE caller_id = $1 AND key = $2`;

async function transfer(raw) {
  const turn = JSON.parse(raw);
  const key = createHash('sha256').update(`${CALLER}\ngeneric\n${turn.requestId}`).digest('hex');
  const { user_id: customer, from_account: from, to_account: to, amount } = turn.parameters;
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    const claimed = await client.query({ name: 'claim', text: CLAIM, values: [CALLER, key, key] });
    if (claimed.rowCount === 0) {
      await client.query('ROLLBACK');
      return (await client.query({ name: 'stored', text: STORED, values: [CALLER, key] })).rows[0].body;
    }
    const { rows } = await client.query({ name: 'lock', text: LOCK, values: [customer, [from, to]] });
    const source = rows.find((row) => row.account_type === from);
    const target = rows.find((row) => row.account_type === to);
    const minor = Math.round(amount * 100).toString();
    const [applied] = (await client.query({ name: 'apply', text: APPLY, values: [key, source.id, target.id, minor] }))
      .rows;
    const body = JSON.stringify({ text: `Done: ${from} balance ${applied.from_balance}` });
    await client.query({ name: 'complete', text: COMPLETE, values: [CALLER, key, body] });
    await client.query('COMMIT');
    return body;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
}

const server = createServer((req, res) => {
  const chunks = [];
  req.on('data', (chunk) => chunks.push(chunk));
  req.on('end', () => {
    transfer(Buffer.concat(chunks).toString('utf8')).then(
      (body) => {
        res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) });
        res.end(body);
      },
      () => res.writeHead(500).end(),
    );
  });
});
server.listen(Number(process.env.PORT), '127.0.0.1', () => process.stdout.write('Listening\n'));
process.on('SIGTERM', () => server.close(() => pool.end().then(() => process.exit(0))));
