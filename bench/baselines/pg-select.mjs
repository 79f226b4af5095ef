// Baseline 2: a bare node:http server that parses the body and runs the same indexed SELECT through a pg pool.
import { createServer } from 'node:http';
import pg from 'pg';
import { BALANCE_SQL } from '../request.mjs';

const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL, max: Number(process.env.DB_POOL_SIZE ?? 10) });
const server = createServer((req, res) => {
  const chunks = [];
  req.on('data', (chunk) => chunks.push(chunk));
  req.on('end', async () => {
    try {
      const { queryResult } = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      const { rows } = await pool.query({
        name: 'banking_find_account',
        text: BALANCE_SQL,
        values: [queryResult.parameters.user_id, queryResult.parameters.account_type],
      });
      const body = JSON.stringify({ fulfillmentText: `balance ${rows[0]?.balance_minor}` });
      res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) });
      res.end(body);
    } catch {
      res.writeHead(500).end();
    }
  });
});
server.listen(Number(process.env.PORT), '127.0.0.1', () => process.stdout.write('Listening\n'));
process.on('SIGTERM', () => server.close(() => pool.end().then(() => process.exit(0))));
