// Reference: the same SELECT behind bare express 5 (the HTTP layer @nestjs/platform-express runs on), to show
// how much of the service's cost is the platform rather than our code.
import express from 'express';
import pg from 'pg';
import { BALANCE_SQL } from '../request.mjs';

const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL, max: Number(process.env.DB_POOL_SIZE ?? 10) });
const app = express();
app.disable('x-powered-by');
app.set('etag', false);
app.use(express.json({ limit: 1024 * 1024 }));
app.post('/v1/webhooks/dialogflow-es', async (req, res) => {
  try {
    const { user_id: userId, account_type: accountType } = req.body.queryResult.parameters;
    const { rows } = await pool.query({
      name: 'banking_find_account',
      text: BALANCE_SQL,
      values: [userId, accountType],
    });
    res.json({ fulfillmentText: `balance ${rows[0]?.balance_minor}` });
  } catch {
    res.status(500).end();
  }
});
const server = app.listen(Number(process.env.PORT), '127.0.0.1', () => process.stdout.write('Listening\n'));
process.on('SIGTERM', () => server.close(() => pool.end().then(() => process.exit(0))));
