import type { EntityManager } from 'typeorm';
import { demoId, DemoSeeder } from '../demo-seeder';
import { Account } from './entities/account.entity';
import { Customer } from './entities/customer.entity';
import { Transaction } from './entities/transaction.entity';

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

function buildTransactions(accountId: string, account: DemoAccount, label: string, now: number): Transaction[] {
  const numbers = sequence(label.length * 7919 + account.transactions);
  const rows: Transaction[] = [];
  let total = 0n;
  for (let i = 0; i < account.transactions - 1; i++) {
    const [description, base] = MERCHANTS[numbers.next().value % MERCHANTS.length];
    const jitter = base > 0 ? 0 : -(numbers.next().value % 500);
    const amount = BigInt(base + jitter);
    total += amount;
    rows.push(
      Object.assign(new Transaction(), {
        id: demoId(`${label}:tx:${i}`),
        accountId,
        postedAt: new Date(now - (i + 1) * DAY_MS - (numbers.next().value % 36_000_000)),
        description,
        amountMinor: amount.toString(),
      }),
    );
  }
  // An opening balance makes the history add up to the account's balance.
  rows.push(
    Object.assign(new Transaction(), {
      id: demoId(`${label}:tx:opening`),
      accountId,
      postedAt: new Date(now - (account.transactions + 5) * DAY_MS),
      description: 'Opening balance',
      amountMinor: (account.balanceMinor - total).toString(),
    }),
  );
  return rows;
}

export class BankingDemoSeeder implements DemoSeeder {
  readonly name = 'banking';

  async isEmpty(manager: EntityManager): Promise<boolean> {
    return (await manager.getRepository(Customer).count()) === 0;
  }

  async seed(manager: EntityManager): Promise<void> {
    const now = Date.now();
    for (const demo of DEMO_CUSTOMERS) {
      const customerId = demoId(`customer:${demo.number}`);
      await manager
        .createQueryBuilder()
        .insert()
        .into(Customer)
        .values({ id: customerId, customerNumber: demo.number, fullName: demo.name })
        .orIgnore()
        .execute();
      for (const account of demo.accounts) {
        const label = `account:${demo.number}:${account.type}`;
        const accountId = demoId(label);
        await manager
          .createQueryBuilder()
          .insert()
          .into(Account)
          .values({
            id: accountId,
            customerId,
            accountType: account.type,
            accountNumberLast4: account.last4,
            currency: account.currency,
            balanceMinor: account.balanceMinor.toString(),
            balanceUpdatedAt: new Date(now),
          })
          .orIgnore()
          .execute();
        await manager
          .createQueryBuilder()
          .insert()
          .into(Transaction)
          .values(buildTransactions(accountId, account, label, now))
          .orIgnore()
          .execute();
      }
    }
  }
}
