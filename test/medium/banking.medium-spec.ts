import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { Client } from 'pg';
import { ReadThroughCache } from '../../src/cache/read-through-cache';
import { CommittedWrites } from '../../src/intents/committed-writes';
import { AccountsRepository } from '../../src/intents/banking/accounts.repository';
import { StatementsRepository } from '../../src/intents/banking/statements.repository';
import { TransfersRepository } from '../../src/intents/banking/transfers.repository';
import { mediumDatabase, MediumDatabase } from './support/medium-database';

/** The banking repositories on the seeded demo data (customer 12345: checking $3,247.82, savings $12,500.00). */
describe('banking repositories on PostgreSQL (no Nest)', () => {
  let db: MediumDatabase;
  let accounts: AccountsRepository;
  let transfers: TransfersRepository;

  const inProcessCache = () =>
    ReadThroughCache.of({ enabled: true, localMaxEntries: 1000, localTtlMs: 60_000, maxTtlMs: 60_000 });

  beforeEach(async () => {
    db = await mediumDatabase();
    const cache = inProcessCache();
    accounts = new AccountsRepository(db.pool, cache);
    transfers = new TransfersRepository(db.pool, new CommittedWrites(db.pool, cache));
  });
  afterEach(() => db.close());

  const balances = async () =>
    Object.fromEntries(
      (await accounts.listAccounts('12345')).map((account) => [account.accountType, account.balanceMinor]),
    );

  it('reads an account, a customer’s accounts and their history, with the entity’s property names', async () => {
    const checking = await accounts.findAccount('12345', 'checking');
    expect(checking).toMatchObject({
      accountType: 'checking',
      currency: 'USD',
      balanceMinor: '324782',
      accountNumberLast4: '4821',
    });
    expect(checking?.balanceUpdatedAt).toBeInstanceOf(Date);
    expect(await accounts.findAccount('12345', 'brokerage')).toBeNull();
    expect((await accounts.listAccounts('12345')).map((account) => account.accountType)).toEqual([
      'checking',
      'savings',
    ]);
    const history = await accounts.recentTransactions(checking!.id, 3);
    expect(history).toHaveLength(3);
    expect(history.map((row) => row.postedAt.getTime())).toEqual(
      [...history.map((row) => row.postedAt.getTime())].sort((a, b) => b - a),
    );
  });

  it('records a statement once per turn key before it is filed, and keeps the first reference it is filed under', async () => {
    const statements = new StatementsRepository(db.pool);
    const checking = (await accounts.findAccount('12345', 'checking'))!;
    const key = randomUUID().replaceAll('-', '').padEnd(64, '0');
    const period = { from: new Date('2026-11-01T00:00:00Z'), to: new Date('2026-12-01T00:00:00Z') };
    const figures = { transactionCount: 4, openingMinor: 100n, closingMinor: 324_782n };
    const recorded = await statements.record(key, checking.id, period, figures);
    expect(recorded).toMatchObject({ periodStart: period.from, periodEnd: period.to, archiveReference: null });

    // A run again (after a crash between recording and filing) finds what the first recorded, not its own period.
    const later = { from: new Date('2026-11-02T00:00:00Z'), to: new Date('2026-12-02T00:00:00Z') };
    const again = await statements.record(key, checking.id, later, { ...figures, transactionCount: 5 });
    expect(again).toEqual(recorded);
    expect(await statements.findByKey(key)).toEqual(recorded);

    expect((await statements.filed(recorded, 'AR-1')).archiveReference).toBe('AR-1');
    // A concurrent run that filed too does not replace the reference stored first.
    expect((await statements.filed(recorded, 'AR-2')).archiveReference).toBe('AR-1');
    expect(await db.query('SELECT archive_reference FROM statements WHERE idempotency_key = $1', [key])).toEqual([
      { archive_reference: 'AR-1' },
    ]);
  });

  it('takes a statement’s figures from one snapshot of the primary, a posting the cached balance has not seen included', async () => {
    const statements = new StatementsRepository(db.pool);
    const checking = (await accounts.findAccount('12345', 'checking'))!;
    const from = new Date(Date.now() - 30 * 86_400_000);
    // Posted by another system: the balance and its transaction change together, behind the cache's back.
    await db.query(
      `WITH posted AS (INSERT INTO transactions (account_id, posted_at, description, amount_minor)
                       VALUES ($1, now(), 'Card payment', -2500) RETURNING amount_minor)
       UPDATE accounts SET balance_minor = balance_minor + (SELECT amount_minor FROM posted) WHERE id = $1`,
      [checking.id],
    );
    expect((await accounts.findAccount('12345', 'checking'))?.balanceMinor).toBe(checking.balanceMinor);
    const [truth] = await db.query<{ balance: string; count: string; total: string }>(
      `SELECT a.balance_minor AS balance,
              (SELECT count(*) FROM transactions WHERE account_id = a.id AND posted_at >= $2) AS count,
              (SELECT coalesce(sum(amount_minor), 0) FROM transactions WHERE account_id = a.id AND posted_at >= $2) AS total
         FROM accounts a WHERE a.id = $1`,
      [checking.id, from],
    );
    expect(BigInt(truth.balance)).toBe(BigInt(checking.balanceMinor) - 2500n);
    expect(await statements.figures(checking.id, from)).toEqual({
      transactionCount: Number(truth.count),
      openingMinor: BigInt(truth.balance) - BigInt(truth.total),
      closingMinor: BigInt(truth.balance),
    });
  });

  it('moves money once per turn key, whatever the number of runs', async () => {
    const key = randomUUID().replaceAll('-', '').padEnd(64, '0');
    const first = await transfers.transfer('12345', 'savings', 'checking', 10_000n, 'Transfer', key);
    expect(first).toMatchObject({ kind: 'done', from: { balanceMinor: '1240000' }, to: { balanceMinor: '334782' } });
    const again = await transfers.transfer('12345', 'savings', 'checking', 10_000n, 'Transfer', key);
    expect(again.kind).toBe('already-done');
    expect(await balances()).toEqual({ checking: '334782', savings: '1240000' });
    expect(await db.query('SELECT 1 FROM transfers WHERE idempotency_key = $1', [key])).toHaveLength(1);
  });

  it('a committed transfer invalidates the balances the cache holds for that customer, and only when it moved money', async () => {
    const key = randomUUID().replaceAll('-', '').padEnd(64, '0');
    // Another process's cache that no invalidation reaches keeps what it read: the cache really answers.
    const elsewhere = new AccountsRepository(db.pool, inProcessCache());
    expect(await balances()).toEqual({ checking: '324782', savings: '1250000' });
    expect((await elsewhere.findAccount('12345', 'checking'))?.balanceMinor).toBe('324782');
    await transfers.transfer('12345', 'checking', 'savings', 99_999_999n, 'Transfer', key); // insufficient funds
    await transfers.transfer('12345', 'checking', 'savings', 2_500n, 'Transfer', key);
    expect(await balances()).toEqual({ checking: '322282', savings: '1252500' });
    expect((await accounts.findAccount('12345', 'checking'))?.balanceMinor).toBe('322282');
    expect((await elsewhere.findAccount('12345', 'checking'))?.balanceMinor).toBe('324782');
    expect(Object.isFrozen(await accounts.findAccount('12345', 'checking'))).toBe(true);
  });

  it('a retry that finds its transfer already done invalidates too: the run that moved the money may have died first', async () => {
    const key = randomUUID().replaceAll('-', '').padEnd(64, '0');
    expect(await balances()).toEqual({ checking: '324782', savings: '1250000' }); // now cached here
    // The first run, on a replica that died after the commit and before its invalidation reached anyone.
    const died = new TransfersRepository(db.pool, new CommittedWrites(db.pool, inProcessCache()));
    expect((await died.transfer('12345', 'checking', 'savings', 2_500n, 'Transfer', key)).kind).toBe('done');
    expect(await balances()).toEqual({ checking: '324782', savings: '1250000' }); // the cache still answers
    expect((await transfers.transfer('12345', 'checking', 'savings', 2_500n, 'Transfer', key)).kind).toBe(
      'already-done',
    );
    expect(await balances()).toEqual({ checking: '322282', savings: '1252500' });
  });

  it('a transfer whose statement surely did not commit leaves the cached balances alone (nothing to tell anyone)', async () => {
    const key = randomUUID().replaceAll('-', '').padEnd(64, '0');
    expect(await balances()).toEqual({ checking: '324782', savings: '1250000' }); // now cached here
    // A change no invalidation announces: the cache, still answering, shows the balance from before it.
    await db.query(
      `UPDATE accounts SET balance_minor = balance_minor + 1
        WHERE account_type = 'checking' AND customer_id = (SELECT id FROM customers WHERE customer_number = '12345')`,
    );
    // An amount the statement refuses (out of range for bigint): it failed before any commit.
    await expect(transfers.transfer('12345', 'checking', 'savings', 10n ** 30n, 'Transfer', key)).rejects.toThrow();
    expect(await balances()).toEqual({ checking: '324782', savings: '1250000' });
  });

  it('refuses what cannot be done without writing anything', async () => {
    const key = () => randomUUID().replaceAll('-', '').padEnd(64, '0');
    expect(await transfers.transfer('12345', 'checking', 'savings', 99_999_999n, 'Transfer', key())).toMatchObject({
      kind: 'insufficient-funds',
    });
    expect(await transfers.transfer('12345', 'brokerage', 'savings', 1n, 'Transfer', key())).toEqual({
      kind: 'unknown-account',
      accountType: 'brokerage',
    });
    expect(await balances()).toEqual({ checking: '324782', savings: '1250000' });
    expect(await db.query('SELECT 1 FROM transfers')).toEqual([]);
  });

  it('runs opposite transfers at once without a deadlock, and the money adds up', async () => {
    const key = () => randomUUID().replaceAll('-', '').padEnd(64, '0');
    // Four repositories stand for four replicas: each queues one customer's transfers itself, so only the row
    // locks keep the replicas apart.
    const replicas = Array.from(
      { length: 4 },
      () => new TransfersRepository(db.pool, new CommittedWrites(db.pool, inProcessCache())),
    );
    const runs = Array.from({ length: 20 }, (_, i) =>
      i % 2 === 0
        ? replicas[i % 4].transfer('12345', 'checking', 'savings', 100n, 'Transfer', key())
        : replicas[i % 4].transfer('12345', 'savings', 'checking', 300n, 'Transfer', key()),
    );
    expect((await Promise.all(runs)).map((outcome) => outcome.kind)).toEqual(Array(20).fill('done'));
    // 10 × -100 + 10 × +300 on checking, the reverse on savings.
    expect(await balances()).toEqual({ checking: String(324782 + 2000), savings: String(1250000 - 2000) });
    const [{ sum }] = await db.query<{ sum: string }>(
      `SELECT sum(t.amount_minor) AS sum FROM transactions t JOIN accounts a ON a.id = t.account_id
        JOIN customers c ON c.id = a.customer_id WHERE c.customer_number = '12345'`,
    );
    expect(sum).toBe(String(324782 + 1250000));
  });

  /** A separate session holding customer 12345's account rows locked, as a long transaction elsewhere would. */
  async function lockCustomerRows(): Promise<Client> {
    const blocker = new Client({ connectionString: db.database.url });
    await blocker.connect();
    await blocker.query('BEGIN');
    await blocker.query(
      `SELECT a.id FROM accounts a JOIN customers c ON c.id = a.customer_id WHERE c.customer_number = '12345' FOR UPDATE`,
    );
    return blocker;
  }

  const lockWaiters = async (): Promise<number> =>
    (
      await db.query<{ waiters: number }>(
        `SELECT count(*)::int AS waiters FROM pg_stat_activity
          WHERE wait_event_type = 'Lock' AND datname = current_database()`,
      )
    )[0].waiters;

  it('holds one connection for a customer whose rows are locked elsewhere, and serves other customers', async () => {
    const key = () => randomUUID().replaceAll('-', '').padEnd(64, '0');
    const blocker = await lockCustomerRows();
    try {
      const waiting = Array.from({ length: 8 }, () =>
        transfers.transfer('12345', 'checking', 'savings', 1n, 'Transfer', key()),
      );
      // Another customer's transfer is not stuck behind the locked one (its rows are read and it is answered).
      expect(await transfers.transfer('67890', 'checking', 'savings', 1n, 'Transfer', key())).toEqual({
        kind: 'unknown-account',
        accountType: 'savings',
      });
      // Eight transfers wait, one of them in PostgreSQL (without the queue, six would: the whole pool).
      while ((await lockWaiters()) === 0) await sleep(20);
      await sleep(200);
      expect(await lockWaiters()).toBe(1);
      await blocker.query('COMMIT');
      expect((await Promise.all(waiting)).map((outcome) => outcome.kind)).toEqual(Array(8).fill('done'));
      expect(await balances()).toEqual({ checking: '324774', savings: '1250008' });
    } finally {
      await blocker.end();
    }
  });

  /**
   * Two repositories stand for two replicas (each queues only its own transfers), e.g. a replica that took over a
   * turn whose first owner was slow. Both start while the rows are locked elsewhere, so both statements begin (and
   * take their snapshots) before either has written: the second finds the key only in the unique index.
   */
  async function sameTurnOnTwoReplicas(amountMinor: bigint, key: string) {
    const replicas = Array.from(
      { length: 2 },
      () => new TransfersRepository(db.pool, new CommittedWrites(db.pool, inProcessCache())),
    );
    const blocker = await lockCustomerRows();
    try {
      const runs = replicas.map((replica) =>
        replica.transfer('12345', 'checking', 'savings', amountMinor, 'Transfer', key),
      );
      while ((await lockWaiters()) < 2) await sleep(20);
      await blocker.query('COMMIT');
      return await Promise.all(runs);
    } finally {
      await blocker.end();
    }
  }

  it('moves money once when two replicas run the same turn at once, the second waiting for the first one’s lock', async () => {
    const key = randomUUID().replaceAll('-', '').padEnd(64, '0');
    const outcomes = await sameTurnOnTwoReplicas(700n, key);
    expect(outcomes.map((outcome) => outcome.kind).sort()).toEqual(['already-done', 'done']);
    for (const outcome of outcomes) {
      expect(outcome).toMatchObject({ from: { balanceMinor: '324082' }, to: { balanceMinor: '1250700' } });
    }
    expect(await balances()).toEqual({ checking: '324082', savings: '1250700' });
    expect(await db.query('SELECT 1 FROM transfers WHERE idempotency_key = $1', [key])).toHaveLength(1);
    expect(await db.query('SELECT 1 FROM transactions WHERE amount_minor IN (700, -700)')).toHaveLength(2);
  });

  it('answers the second of two replicas running the same turn "already done", not "insufficient funds"', async () => {
    // As above, but the first run's debit leaves less than the amount: the second locks that balance, and did not
    // see the first run's key in its snapshot.
    const outcomes = await sameTurnOnTwoReplicas(200_000n, randomUUID().replaceAll('-', '').padEnd(64, '0'));
    expect(outcomes.map((outcome) => outcome.kind).sort()).toEqual(['already-done', 'done']);
    for (const outcome of outcomes) {
      expect(outcome).toMatchObject({ from: { balanceMinor: '124782' }, to: { balanceMinor: '1450000' } });
    }
    expect(await balances()).toEqual({ checking: '124782', savings: '1450000' });
  });

  it('refuses a turn key already used by a transfer of other accounts or another amount, and moves nothing', async () => {
    const key = randomUUID().replaceAll('-', '').padEnd(64, '0');
    expect((await transfers.transfer('12345', 'checking', 'savings', 100n, 'Transfer', key)).kind).toBe('done');
    // The same request id with another body, once its idempotency record has expired.
    expect(await transfers.transfer('12345', 'savings', 'checking', 500n, 'Transfer', key)).toEqual({
      kind: 'key-reused',
    });
    expect(await transfers.transfer('12345', 'checking', 'savings', 900n, 'Transfer', key)).toEqual({
      kind: 'key-reused',
    });
    expect((await transfers.transfer('12345', 'checking', 'savings', 100n, 'Transfer', key)).kind).toBe('already-done');
    expect(await balances()).toEqual({ checking: '324682', savings: '1250100' });
  });

  it('answers a turn already done as done, even when the balance could no longer cover it', async () => {
    const key = randomUUID().replaceAll('-', '').padEnd(64, '0');
    expect((await transfers.transfer('12345', 'checking', 'savings', 300_000n, 'Transfer', key)).kind).toBe('done');
    expect(await transfers.transfer('12345', 'checking', 'savings', 300_000n, 'Transfer', key)).toMatchObject({
      kind: 'already-done',
      from: { balanceMinor: '24782' },
    });
    expect(await balances()).toEqual({ checking: '24782', savings: '1550000' });
  });

  it('gives up a transfer still waiting behind the customer’s others when its signal aborts, and moves nothing', async () => {
    const key = () => randomUUID().replaceAll('-', '').padEnd(64, '0');
    const blocker = await lockCustomerRows();
    try {
      const first = transfers.transfer('12345', 'checking', 'savings', 1n, 'Transfer', key());
      const controller = new AbortController();
      const abandoned = transfers.transfer('12345', 'checking', 'savings', 5n, 'Transfer', key(), controller.signal);
      controller.abort(new Error('the turn gave up'));
      await expect(abandoned).rejects.toThrow('the turn gave up');
      await blocker.query('COMMIT');
      await expect(first).resolves.toMatchObject({ kind: 'done' });
      expect(await balances()).toEqual({ checking: '324781', savings: '1250001' });
    } finally {
      await blocker.end();
    }
  });
});
