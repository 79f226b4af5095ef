import type { EntityManager } from 'typeorm';
import { sql, transactionOfManager } from '../../database/sql';
import { demoId, DemoSeeder } from '../demo-seeder';
import type { TransactionView } from './accounts.repository';

interface DemoAccount {
  type: string;
  last4: string;
  currency: string;
  balanceMinor: bigint;
  transactions: number;
}

interface DemoCustomer {
  number: string;
  name: string;
  accounts: DemoAccount[];
}

export const DEMO_CUSTOMERS: readonly DemoCustomer[] = [
  {
    number: '12345',
    name: 'Alex Morgan',
    accounts: [
      { type: 'checking', last4: '4821', currency: 'USD', balanceMinor: 324782n, transactions: 30 },
      { type: 'savings', last4: '9930', currency: 'USD', balanceMinor: 1250000n, transactions: 8 },
    ],
  },
  {
    number: '67890',
    name: 'Jonas Weber',
    accounts: [{ type: 'checking', last4: '1207', currency: 'EUR', balanceMinor: 184315n, transactions: 12 }],
  },
];

const MERCHANTS = [
  ['Grocery Market', -8645],
  ['Coffee House', -475],
  ['Electric Utility', -11230],
  ['Payroll Deposit', 285000],
  ['Online Bookstore', -2399],
  ['Fuel Station', -5410],
  ['Pharmacy', -1875],
  ['Restaurant', -6420],
  ['Mobile Phone Bill', -4500],
  ['Transfer from Savings', 20000],
] as const;

const DAY_MS = 86_400_000;

/** Deterministic pseudo-random sequence so every seed produces the same history. */
function* sequence(seed: number): Generator<number> {
  let state = seed;
  for (;;) {
    state = (state * 1103515245 + 12345) % 2147483648;
    yield state;
  }
}

function buildTransactions(accountId: string, account: DemoAccount, label: string, now: number): TransactionView[] {
  const numbers = sequence(label.length * 7919 + account.transactions);
  const rows: TransactionView[] = [];
  let total = 0n;
  for (let i = 0; i < account.transactions - 1; i++) {
    const [description, base] = MERCHANTS[numbers.next().value % MERCHANTS.length];
    const jitter = base > 0 ? 0 : -(numbers.next().value % 500);
    const amount = BigInt(base + jitter);
    total += amount;
    rows.push({
      id: demoId(`${label}:tx:${i}`),
      accountId,
      postedAt: new Date(now - (i + 1) * DAY_MS - (numbers.next().value % 36_000_000)),
      description,
      amountMinor: amount.toString(),
    });
  }
  // An opening balance makes the history add up to the account's balance.
  rows.push({
    id: demoId(`${label}:tx:opening`),
    accountId,
    postedAt: new Date(now - (account.transactions + 5) * DAY_MS),
    description: 'Opening balance',
    amountMinor: (account.balanceMinor - total).toString(),
  });
  return rows;
}

const NO_CUSTOMERS = sql<{ empty: boolean }, []>(
  'banking_seed_empty',
  `SELECT NOT EXISTS (SELECT 1 FROM customers) AS empty`,
);

const INSERT_CUSTOMER = sql<never, [id: string, customerNumber: string, fullName: string]>(
  'banking_seed_customer',
  `INSERT INTO customers (id, customer_number, full_name) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING`,
);

const INSERT_ACCOUNT = sql<
  never,
  [id: string, customerId: string, type: string, last4: string, currency: string, balance: string, at: Date]
>(
  'banking_seed_account',
  `INSERT INTO accounts (id, customer_id, account_type, account_number_last4, currency, balance_minor, balance_updated_at)
   VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING`,
);

const INSERT_TRANSACTIONS = sql<
  never,
  [ids: string[], accountIds: string[], postedAt: Date[], descriptions: string[], amounts: string[]]
>(
  'banking_seed_transactions',
  `INSERT INTO transactions (id, account_id, posted_at, description, amount_minor)
   SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::timestamptz[], $4::varchar[], $5::bigint[])
   ON CONFLICT DO NOTHING`,
);

/** The banking tables are reached only through SQL statements, here too. */
export class BankingDemoSeeder implements DemoSeeder {
  readonly name = 'banking';

  async isEmpty(manager: EntityManager): Promise<boolean> {
    const [row] = await transactionOfManager(manager).run(NO_CUSTOMERS, []);
    return row?.empty === true;
  }

  async seed(manager: EntityManager): Promise<void> {
    const tx = transactionOfManager(manager);
    const now = Date.now();
    for (const demo of DEMO_CUSTOMERS) {
      const customerId = demoId(`customer:${demo.number}`);
      await tx.run(INSERT_CUSTOMER, [customerId, demo.number, demo.name]);
      for (const account of demo.accounts) {
        const label = `account:${demo.number}:${account.type}`;
        const accountId = demoId(label);
        const balance = account.balanceMinor.toString();
        await tx.run(INSERT_ACCOUNT, [
          accountId,
          customerId,
          account.type,
          account.last4,
          account.currency,
          balance,
          new Date(now),
        ]);
        const rows = buildTransactions(accountId, account, label, now);
        await tx.run(INSERT_TRANSACTIONS, [
          rows.map((row) => row.id),
          rows.map((row) => row.accountId),
          rows.map((row) => row.postedAt),
          rows.map((row) => row.description),
          rows.map((row) => row.amountMinor),
        ]);
      }
    }
  }
}
