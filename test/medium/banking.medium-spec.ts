import { randomUUID } from 'node:crypto';
import { AccountsRepository } from '../../src/intents/banking/accounts.repository';
import { TransfersRepository } from '../../src/intents/banking/transfers.repository';
import { mediumDatabase, MediumDatabase } from './support/medium-database';

/** The banking repositories on the seeded demo data (customer 12345: checking $3,247.82, savings $12,500.00). */
describe('banking repositories on PostgreSQL (no Nest)', () => {
  let db: MediumDatabase;
  let accounts: AccountsRepository;
  let transfers: TransfersRepository;

  beforeEach(async () => {
    db = await mediumDatabase();
    accounts = new AccountsRepository(db.pool);
    transfers = new TransfersRepository(db.pool);
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

  it('moves money once per turn key, whatever the number of runs', async () => {
    const key = randomUUID().replaceAll('-', '').padEnd(64, '0');
    const first = await transfers.transfer('12345', 'savings', 'checking', 10_000n, 'Transfer', key);
    expect(first).toMatchObject({ kind: 'done', from: { balanceMinor: '1240000' }, to: { balanceMinor: '334782' } });
    const again = await transfers.transfer('12345', 'savings', 'checking', 10_000n, 'Transfer', key);
    expect(again.kind).toBe('already-done');
    expect(await balances()).toEqual({ checking: '334782', savings: '1240000' });
    expect(await db.query('SELECT 1 FROM transfers WHERE idempotency_key = $1', [key])).toHaveLength(1);
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
    const runs = Array.from({ length: 20 }, (_, i) =>
      i % 2 === 0
        ? transfers.transfer('12345', 'checking', 'savings', 100n, 'Transfer', key())
        : transfers.transfer('12345', 'savings', 'checking', 300n, 'Transfer', key()),
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
});
