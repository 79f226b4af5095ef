import 'reflect-metadata';
import PgBoss from 'pg-boss';
import { DELIVERY_QUEUE, type DeliveryJob } from '../async/callback-deliveries';
import type { DeliveryStatus } from '../async/callback-delivery.entity';
import { DeliverySummary, listDeliveries, reopenDelivery } from '../async/delivery-admin';
import { jobQueueOptions } from '../async/job-queue';
import { ConfigError, loadConfig } from '../config';
import { suitableServerUrl } from '../database/database-server';
import { SessionSettingsClient } from '../database/session-settings';
import { transactionOn } from '../database/sql';
import { readCommandLine, UsageError } from './command-line';

const USAGE = `usage: npm run deliveries -- list [pending|delivered|dead|disabled] [--caller ID] [--limit N]
       npm run deliveries -- replay <delivery id> [<delivery id> …]`;

const STATUSES = ['pending', 'delivered', 'dead', 'disabled'];

interface ListOptions {
  readonly status?: DeliveryStatus;
  readonly callerId?: string;
  readonly limit: number;
}

/**
 * The list command's arguments: a word that is no status (a typo listed every delivery) and an option it does not
 * know (`--limit=5` was ignored, `--caller` too) are a `UsageError`, not ignored.
 */
export function parseListArguments(args: string[]): ListOptions {
  const { values, positionals } = readCommandLine({
    args,
    options: { caller: { type: 'string' }, limit: { type: 'string', default: '50' } },
    allowPositionals: true,
  });
  const [status, ...more] = positionals;
  const stray = status !== undefined && !STATUSES.includes(status) ? status : more[0];
  if (stray !== undefined) throw new UsageError(`unknown argument ${JSON.stringify(stray)}`);
  const limit = /^\d{1,5}$/.test(values.limit) ? Number(values.limit) : NaN;
  if (!(limit >= 1 && limit <= 10_000)) throw new UsageError('--limit must be an integer from 1 to 10000');
  if (values.caller === '') throw new UsageError('--caller needs a caller id');
  return { status: status as DeliveryStatus | undefined, callerId: values.caller, limit };
}

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
  if (command !== 'list' && command !== 'replay')
    throw new UsageError(`unknown command ${JSON.stringify(command ?? '')}`);
  // The arguments are checked before anything connects: a typo is told as such, with or without a database.
  const listing = command === 'list' ? parseListArguments(rest) : undefined;
  const malformed = rest.find((id) => !/^msg_[0-9a-f]{32}$/.test(id));
  if (!listing && (rest.length === 0 || malformed !== undefined)) {
    throw new UsageError(`replay needs delivery ids (msg_…)${malformed ? `, not ${JSON.stringify(malformed)}` : ''}`);
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
    if (listing) {
      printRows(await listDeliveries(transactionOn(client), listing));
      return 0;
    }
    const boss = new PgBoss({ ...jobQueueOptions(url, 1), supervise: false, schedule: false });
    boss.on('error', () => undefined);
    await boss.start();
    let missing = 0;
    try {
      for (const id of rest) {
        await client.query('BEGIN');
        try {
          const row = await reopenDelivery(transactionOn(client), id);
          if (!row) {
            await client.query('ROLLBACK');
            process.stderr.write(`No dead or disabled delivery ${id}\n`);
            missing += 1;
            continue;
          }
          // As the console queues it: a copy pg-boss runs twice (a failover) is then known as stale and not sent.
          const job = await boss.send(DELIVERY_QUEUE, { deliveryId: id, attempt: 0 } satisfies DeliveryJob, {
            db: { executeSql: (text, values) => client.query(text, values) },
          });
          if (job === null) throw new Error(`the job queue took no job for ${id} (is the schema migrated?)`);
          await client.query('COMMIT');
          process.stdout.write(`Replaying ${id} to ${row.url}\n`);
        } catch (error: unknown) {
          await client.query('ROLLBACK').catch(() => undefined);
          throw error;
        }
      }
      return missing > 0 ? 1 : 0;
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
    if (error instanceof UsageError) {
      process.stderr.write(`${error.message}\n${USAGE}\n`);
      process.exit(2);
    }
    const message = error instanceof Error ? error.message : String(error);
    process.stderr.write(`${error instanceof ConfigError ? message : `deliveries failed: ${message}`}\n`);
    process.exit(1);
  });
