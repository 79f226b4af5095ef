import type { DataSource } from 'typeorm';
import { sql, transactionOfManager } from '../database/sql';
import { AppointmentsDemoSeeder } from './appointments/appointments.demo-seeder';
import { BankingDemoSeeder } from './banking/banking.demo-seeder';
import { CommerceDemoSeeder } from './commerce/commerce.demo-seeder';
import type { DemoSeeder } from './demo-seeder';

/** Advisory lock key held while a domain is checked and seeded ("wfde" in ASCII). */
const DEMO_SEED_LOCK = 0x77666465;
const SEED_LOCK = sql<{ locked: '' }, [key: number]>(
  'demo_seed_lock',
  'SELECT pg_advisory_xact_lock($1)::text AS locked',
);

/** Every domain's demo data, in dependency order. */
export const DEMO_SEEDERS: readonly DemoSeeder[] = [
  new BankingDemoSeeder(),
  new AppointmentsDemoSeeder(),
  new CommerceDemoSeeder(),
];

/**
 * Seeds each domain in its own transaction. With `onlyWhenEmpty`, domains that already hold data are only
 * refreshed (start-up seeding); without it every seeder runs, which is safe because seeders are idempotent.
 */
export async function seedDemoData(dataSource: DataSource, onlyWhenEmpty: boolean): Promise<string[]> {
  const seeded: string[] = [];
  for (const seeder of DEMO_SEEDERS) {
    await dataSource.transaction(async (manager) => {
      // Instances starting together on one empty database seed one after the other, not into each other.
      await transactionOfManager(manager).run(SEED_LOCK, [DEMO_SEED_LOCK]);
      if (onlyWhenEmpty && !(await seeder.isEmpty(manager))) {
        await seeder.refresh?.(manager);
        return;
      }
      await seeder.seed(manager);
      seeded.push(seeder.name);
    });
  }
  return seeded;
}

/** Whether the banking demo data (what the README's first example reads) is missing. */
export async function demoDataMissing(dataSource: DataSource): Promise<boolean> {
  return dataSource.transaction((manager) => DEMO_SEEDERS[0].isEmpty(manager));
}
