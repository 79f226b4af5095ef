import { SystemClock } from '../common/clock';
import { loadConfig } from '../config';
import type { DatabasePool } from '../database/database-pool';
import type { SqlStatement } from '../database/sql';
import type {
  FulfillmentDispatcher,
  FulfillmentResult,
  IntentHandlerRegistry,
  RegisteredHandler,
} from '../fulfillment';
import type { CallbackDeliveries } from './callback-deliveries';
import { AsyncFulfillments } from './async-fulfillments';
import { FulfillmentResults } from './fulfillment-results';
import type { JobQueue } from './job-queue';

const config = loadConfig({ DATABASE_URL: 'postgres://unused/x' }, '/srv');
const UNCONFIRMED_EN =
  "I couldn't confirm whether that went through: our systems stopped answering. Please check before you try it again.";
const UNCONFIRMED_DE =
  'Ich konnte nicht bestätigen, ob das ausgeführt wurde: Unsere Systeme haben nicht mehr geantwortet. Bitte prüfen Sie es, bevor Sie es noch einmal versuchen.';
const ERROR_EN = 'Sorry, something went wrong on our side. Please try again in a moment.';

/** What pg raises when the connection is lost while a statement is on it: the server may have committed it. */
const connectionLost = (): Error => new Error('Connection terminated unexpectedly');
/** Nobody listening: the statement never reached a server, so nothing it would have written can have committed. */
const refused = (): Error => Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });

const HANDLERS: Record<string, Partial<RegisteredHandler>> = {
  TransferFunds: { intent: 'TransferFunds', changesState: true },
  GetAccountBalance: { intent: 'GetAccountBalance', changesState: false },
};

function lateTurn(intent: string, languageCode = 'en') {
  return {
    caller: { id: 'bot', platforms: ['generic' as const] },
    platform: 'generic' as const,
    sessionId: 'session-1',
    intent,
    requestId: 'turn-1',
    idempotencyKey: 'bot:turn-1',
    parameters: {},
    contexts: [],
    sessionParameters: {},
    stage: 'fulfillment' as const,
    confirmation: 'none' as const,
    languageCode,
    raw: {},
  };
}

/** A store on a database that takes every write, and the result it is asked to finish late work with. */
async function storedFailure(
  intent: string,
  error: Error,
  options: { languageCode?: string; registry?: boolean } = {},
): Promise<{ status: unknown; result: FulfillmentResult }> {
  const finishes: (readonly unknown[])[] = [];
  const run = (statement: SqlStatement, params: readonly unknown[]) => {
    if (statement.name === 'fulfillments_finish') finishes.push(params);
    return Promise.resolve([]);
  };
  const pool = { run, transaction: (work: (tx: { run: typeof run }) => Promise<unknown>) => work({ run }) };
  const registry = { find: (name: string) => HANDLERS[name] } as unknown as IntentHandlerRegistry;
  const results = new FulfillmentResults(
    pool as unknown as DatabasePool,
    config,
    {} as CallbackDeliveries,
    new SystemClock(),
    options.registry === false ? undefined : registry,
  );
  results.defer(lateTurn(intent, options.languageCode), Promise.reject(error));
  expect(await results.lateWorkStored(5_000)).toBe(0);
  expect(finishes).toHaveLength(1);
  const [, status, result] = finishes[0];
  return { status, result: JSON.parse(result as string) as FulfillmentResult };
}

describe('FulfillmentResults: late work that failed', () => {
  it("keeps the unconfirmed text, not 'try again', for a state-changing handler whose write may have committed", async () => {
    expect(await storedFailure('TransferFunds', connectionLost())).toEqual({
      status: 'failed',
      result: { text: UNCONFIRMED_EN, failed: true },
    });
  });

  it("says so in the turn's language, as a turn answered in time does", async () => {
    const { result } = await storedFailure('TransferFunds', connectionLost(), { languageCode: 'de' });
    expect(result).toEqual({ text: UNCONFIRMED_DE, failed: true });
  });

  it('recognises the lost connection wrapped by TypeORM (driverError), as the turn path does', async () => {
    const wrapped = Object.assign(new Error('Query failed'), {
      driverError: Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' }),
    });
    expect((await storedFailure('TransferFunds', wrapped)).result.text).toBe(UNCONFIRMED_EN);
  });

  it('keeps the generic error text for a read-only handler, whatever the error', async () => {
    expect(await storedFailure('GetAccountBalance', connectionLost())).toEqual({
      status: 'failed',
      result: { text: ERROR_EN, failed: true },
    });
  });

  it('keeps the generic error text for a state-changing handler whose write surely did not commit', async () => {
    expect((await storedFailure('TransferFunds', refused())).result.text).toBe(ERROR_EN);
    expect((await storedFailure('TransferFunds', new Error('insufficient funds check failed'))).result.text).toBe(
      ERROR_EN,
    );
  });

  it('takes a handler it cannot look up (a store built without the registry) to change state', async () => {
    expect((await storedFailure('TransferFunds', connectionLost(), { registry: false })).result.text).toBe(
      UNCONFIRMED_EN,
    );
  });
});

describe('AsyncFulfillments: a job that failed on its last attempt', () => {
  /** The result an async job's last attempt is finished with, when its handler ended with `outcome`. */
  async function lastAttempt(intent: string, outcome: 'failed' | 'timed-out', error?: Error): Promise<unknown> {
    const finished: unknown[] = [];
    const registry = { find: (name: string) => HANDLERS[name] } as unknown as IntentHandlerRegistry;
    const results = new FulfillmentResults(
      {} as DatabasePool,
      config,
      {} as CallbackDeliveries,
      new SystemClock(),
      registry,
    );
    jest.spyOn(results, 'markRunning').mockResolvedValue(true);
    jest.spyOn(results, 'finish').mockImplementation((_id, status, result) => {
      finished.push({ status, result });
      return Promise.resolve();
    });
    let work: ((job: { data: unknown; retryCount: number; retryLimit: number }) => Promise<void>) | undefined;
    const queue = { work: (_options: unknown, handler: typeof work) => (work = handler) } as unknown as JobQueue;
    const dispatcher = {
      dispatch: () => Promise.resolve({ outcome, result: { text: '' }, error }),
    } as unknown as FulfillmentDispatcher;
    new AsyncFulfillments({} as DatabasePool, queue, results, dispatcher, config).onModuleInit();
    await work?.({ data: { fulfillmentId: 'f-1', input: lateTurn(intent) }, retryCount: 3, retryLimit: 3 });
    return finished;
  }

  it('keeps the unconfirmed text for a state-changing job whose write may have committed, or whose time ran out', async () => {
    const unconfirmed = [{ status: 'failed', result: { text: UNCONFIRMED_EN, failed: true } }];
    expect(await lastAttempt('TransferFunds', 'failed', connectionLost())).toEqual(unconfirmed);
    expect(await lastAttempt('TransferFunds', 'timed-out')).toEqual(unconfirmed);
  });

  it('keeps the generic error text for a read-only job, or an error after which nothing was written', async () => {
    const generic = [{ status: 'failed', result: { text: ERROR_EN, failed: true } }];
    expect(await lastAttempt('GetAccountBalance', 'timed-out')).toEqual(generic);
    expect(await lastAttempt('TransferFunds', 'failed', refused())).toEqual(generic);
  });
});
