import 'reflect-metadata';
import PgBoss from 'pg-boss';
import { DELIVERY_QUEUE } from '../async/callback-deliveries';
import type { DeliveryStatus } from '../async/callback-delivery.entity';
import { DeliverySummary, listDeliveries, reopenDelivery } from '../async/delivery-admin';
import { jobQueueOptions } from '../async/job-queue';
import { ConfigError, loadConfig } from '../config';
import { suitableServerUrl } from '../database/database-server';
import { SessionSettingsClient } from '../database/session-settings';
import { transactionOn } from '../database/sql';

const USAGE = `usage: npm run deliveries -- list [pending|delivered|dead|disabled] [--limit N]
       npm run deliveries -- replay <delivery id>`;

const STATUSES = ['pending', 'delivered', 'dead', 'disabled'];

function printRows(rows: DeliverySummary[]): void {
  if (rows.length === 0) {
    process.stdout.write('No deliveries.\n');
    return;
  }
  for (const row of rows) {
    process.stdout.write(
      `${row.id}  ${row.status.padEnd(9)} caller=${row.callerId} attempts=${row.attempts}` +
        ` last=${row.lastStatus ?? '-'} updated=${row.updatedAt.toISOString()}\n` +
        `    ${row.url}${row.lastError ? `\n    ${row.lastError}` : ''}\n`,
    );
  }
}

/** Lists callback deliveries and replays dead ones (operators; needs DATABASE_URL like the service). */
async function run(args: string[]): Promise<number> {
  const [command, ...rest] = args;
  if (command !== 'list' && command !== 'replay') {
    process.stderr.write(`${USAGE}\n`);
    return 2;
  }
  // Serves nothing: an operator's one-off pod from the image (NODE_ENV=production) needs DATABASE_URL only.
  const config = loadConfig(process.env, undefined, { serving: false });
  const configured = config.database.url;
  if (!configured) {
    process.stderr.write('DATABASE_URL must be set (the service database)\n');
    return 2;
  }
  const url = await suitableServerUrl(config.database, configured);
  // The service's statement_timeout: a delivery row locked by a long transaction fails the command, not hangs it.
  const client = new SessionSettingsClient({
    connectionString: url,
    statement_timeout: config.database.statementTimeoutMs,
    idle_in_transaction_session_timeout: config.database.statementTimeoutMs * 4,
  });
  // A connection lost between statements is emitted here; the next statement then fails with it.
  client.on('error', () => undefined);
  await client.connect();
  try {
    if (command === 'list') {
      const status = rest.find((arg) => STATUSES.includes(arg));
      const limitIndex = rest.indexOf('--limit');
      const limit = limitIndex >= 0 ? Number(rest[limitIndex + 1]) : 50;
      if (!Number.isInteger(limit) || limit < 1 || limit > 10_000) {
        process.stderr.write('--limit must be an integer from 1 to 10000\n');
        return 2;
      }
      const rows = await listDeliveries(transactionOn(client), { status: status as DeliveryStatus | undefined, limit });
      printRows(rows);
      return 0;
    }

    const id = rest[0];
    if (!id || !/^msg_[0-9a-f]{32}$/.test(id)) {
      process.stderr.write('replay needs a delivery id (msg_…)\n');
      return 2;
    }
    const boss = new PgBoss({ ...jobQueueOptions(url, 1), supervise: false, schedule: false });
    boss.on('error', () => undefined);
    await boss.start();
    try {
      await client.query('BEGIN');
      const row = await reopenDelivery(transactionOn(client), id);
      if (!row) {
        await client.query('ROLLBACK');
        process.stderr.write(`No dead or disabled delivery ${id}\n`);
        return 1;
      }
      await boss.send(
        DELIVERY_QUEUE,
        { deliveryId: id },
        { db: { executeSql: (text, values) => client.query(text, values) } },
      );
      await client.query('COMMIT');
      process.stdout.write(`Replaying ${id} to ${row.url}\n`);
      return 0;
    } finally {
      await boss.stop({ graceful: false, close: true }).catch(() => undefined);
    }
  } finally {
    await client.end();
  }
}

run(process.argv.slice(2))
  .then((code) => process.exit(code))
  .catch((error: unknown) => {
    const message = error instanceof Error ? error.message : String(error);
    process.stderr.write(`${error instanceof ConfigError ? message : `deliveries failed: ${message}`}\n`);
    process.exit(1);
  });
