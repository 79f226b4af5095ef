import 'reflect-metadata';
import PgBoss from 'pg-boss';
import type { DeliveryJob } from '../async/callback-deliveries';
import type { DeliveryStatus } from '../async/callback-delivery.entity';
import { DeliverySummary, listDeliveries, reopenDelivery } from '../async/delivery-admin';
import { DELIVERY_QUEUE, deliveryQueueOf } from '../async/delivery-queues';
import { jobQueueOptions } from '../async/job-queue';
import { loadCallersFile } from '../auth/callers/callers-file';
import { loadConfig } from '../config';
import { suitableServerUrl } from '../database/database-server';
import { operatorCommandClient } from '../database/operator-command-client';
import { transactionOn } from '../database/sql';
import { exitWith, readCommandLine, UsageError } from './command-line';

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

/**
 * Each caller's callback URL now, from the service's callers file when CALLERS_FILE names one (a broken file stops
 * the command before it changes anything); undefined without one: the service then sends to whatever URL the caller
 * has at the time.
 */
function callbackUrls(file: string | undefined): ((callerId: string) => string | undefined) | undefined {
  if (!file) return undefined;
  const callers = loadCallersFile(file);
  return (callerId) => callers.find((caller) => caller.id === callerId)?.callback?.url;
}

/** What a replay says: where the delivery goes (`urlOf`: each caller's callback URL now, when known). */
function replayLine(row: DeliverySummary, urlOf: ((callerId: string) => string | undefined) | undefined): string {
  if (!urlOf) {
    return (
      `Replaying ${row.id} to the callback URL caller ${row.callerId} has when it is sent ` +
      `(CALLERS_FILE is not set; it was last sent to ${row.url})`
    );
  }
  const url = urlOf(row.callerId);
  return url === undefined
    ? `Replaying ${row.id}: caller ${row.callerId} has no callback URL now, so it will be dead`
    : `Replaying ${row.id} to ${url}`;
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
  const urlOf = listing ? undefined : callbackUrls(config.callersFile);
  const url = await suitableServerUrl(config.database, configured);
  // The service's statement_timeout: a delivery row locked by a long transaction fails the command, not hangs it.
  const client = operatorCommandClient(url, config.database);
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
          const row = await reopenDelivery(transactionOn(client), id, urlOf ?? (() => undefined));
          if (!row) {
            await client.query('ROLLBACK');
            process.stderr.write(`No dead or disabled delivery ${id}\n`);
            missing += 1;
            continue;
          }
          // The caller's own queue, which the replicas work (one whose caller is gone, while it holds jobs); the
          // shared one when the caller never had one.
          const own = deliveryQueueOf(row.callerId);
          const queue = (await boss.getQueue(own)) ? own : DELIVERY_QUEUE;
          // As the console queues it: a copy pg-boss runs twice (a failover) is then known as stale and not sent.
          const job = await boss.send(queue, { deliveryId: id, attempt: 0 } satisfies DeliveryJob, {
            db: { executeSql: (text, values) => client.query(text, values) },
          });
          if (job === null) throw new Error(`the job queue took no job for ${id} (is the schema migrated?)`);
          await client.query('COMMIT');
          process.stdout.write(`${replayLine(row, urlOf)}\n`);
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

exitWith('deliveries', USAGE, run(process.argv.slice(2)));
