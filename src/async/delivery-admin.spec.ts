import type { DatabasePool } from '../database/database-pool';
import type { SqlStatement } from '../database/sql';
import type { CallbackDeliveries } from './callback-deliveries';
import { DeliveryAdministration, type DeliverySummary } from './delivery-admin';
import type { JobQueue } from './job-queue';

const ID = 'msg_0123456789abcdef0123456789abcdef';
const OLD_URL = 'https://old.bot.example/results';
const NEW_URL = 'https://new.bot.example/results';

/** The console's replay of a dead delivery of caller `bot`, last sent to OLD_URL, with `urls` the callers' URLs now. */
async function replay(urls: Record<string, string>) {
  const reopened: DeliverySummary = {
    id: ID,
    callerId: 'bot',
    status: 'pending',
    attempts: 0,
    lastStatus: 500,
    lastError: null,
    url: OLD_URL,
    createdAt: new Date(),
    updatedAt: new Date(),
  };
  const calls: { statement: string; params: readonly unknown[] }[] = [];
  const run = (statement: SqlStatement, params: readonly unknown[]) => {
    calls.push({ statement: statement.name, params });
    return Promise.resolve(statement.name === 'deliveries_reopen' ? [reopened] : []);
  };
  const pool = { transaction: <T>(work: (tx: unknown) => Promise<T>) => work({ run }) } as unknown as DatabasePool;
  const queued: { queue: string; data: unknown }[] = [];
  const queue = {
    send: (name: string, data: unknown) => {
      queued.push({ queue: name, data });
      return Promise.resolve('job-id');
    },
  } as unknown as JobQueue;
  const deliveries = {
    currentUrlOf: (callerId: string) => urls[callerId],
    replayQueueOf: (callerId: string) =>
      Promise.resolve(urls[callerId] ? `callback-delivery.${callerId}` : 'callback-delivery'),
  } as unknown as CallbackDeliveries;
  const row = await new DeliveryAdministration(pool, queue, deliveries).replay(ID);
  return { row, calls, queued };
}

describe('DeliveryAdministration.replay', () => {
  it("replays to the caller's callback URL now, stores it, and enables that URL (before: the URL it died at)", async () => {
    const { row, calls, queued } = await replay({ bot: NEW_URL });
    expect(row).toMatchObject({ id: ID, status: 'pending', attempts: 0, url: NEW_URL });
    expect(calls).toEqual([
      { statement: 'deliveries_reopen', params: [ID] },
      { statement: 'deliveries_redirect', params: [ID, NEW_URL, 0] },
      { statement: 'deliveries_enable_url', params: ['bot', NEW_URL] },
    ]);
    expect(queued).toEqual([{ queue: 'callback-delivery.bot', data: { deliveryId: ID, attempt: 0 } }]);
  });

  it('a caller with no callback URL now: replayed as it was, on the shared queue, where its attempt settles it', async () => {
    const { row, calls, queued } = await replay({});
    expect(row).toMatchObject({ id: ID, url: OLD_URL });
    expect(calls.map((call) => call.statement)).toEqual(['deliveries_reopen', 'deliveries_enable_url']);
    expect(queued).toEqual([{ queue: 'callback-delivery', data: { deliveryId: ID, attempt: 0 } }]);
  });
});
