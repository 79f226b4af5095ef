import type { DataSource } from 'typeorm';
import { AppointmentsDemoSeeder } from './appointments/appointments.demo-seeder';
import { BankingDemoSeeder } from './banking/banking.demo-seeder';
import { CommerceDemoSeeder } from './commerce/commerce.demo-seeder';
import type { DemoSeeder } from './demo-seeder';

/** Every domain's demo data, in dependency order. */
export const DEMO_SEEDERS: readonly DemoSeeder[] = [
  new BankingDemoSeeder(),
  new AppointmentsDemoSeeder(),
  new CommerceDemoSeeder(),
];

/**
 * Seeds each domain in its own transaction. With `onlyWhenEmpty`, domains that already hold data are left
 * alone (start-up seeding); without it every seeder runs, which is safe because seeders are idempotent.
 */
export async function seedDemoData(dataSource: DataSource, onlyWhenEmpty: boolean): Promise<string[]> {
  const seeded: string[] = [];
  for (const seeder of DEMO_SEEDERS) {
    await dataSource.transaction(async (manager) => {
      if (onlyWhenEmpty && !(await seeder.isEmpty(manager))) return;
      await seeder.seed(manager);
      seeded.push(seeder.name);
    });
  }
  return seeded;
}
