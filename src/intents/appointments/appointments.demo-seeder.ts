import type { EntityManager } from 'typeorm';
import { sql, transactionOfManager } from '../../database/sql';
import { demoId, DemoSeeder } from '../demo-seeder';

const DAY_MS = 86_400_000;
const SLOT_MINUTES = 30;
const DAYS = 14;
const HOURS_UTC = [9, 10, 11];

export const DEMO_PROVIDERS = [
  { slug: 'dr-lee', displayName: 'Dr. Ada Lee', specialty: 'cardiology' },
  { slug: 'dr-patel', displayName: 'Dr. Ravi Patel', specialty: 'dermatology' },
] as const;

const NO_PROVIDERS = sql<{ empty: boolean }, []>(
  'appointments_seed_empty',
  `SELECT NOT EXISTS (SELECT 1 FROM providers) AS empty`,
);

const INSERT_PROVIDER = sql<never, [id: string, slug: string, displayName: string, specialty: string]>(
  'appointments_seed_provider',
  `INSERT INTO providers (id, slug, display_name, specialty) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING`,
);

const PRESENT_PROVIDERS = sql<{ id: string }, [ids: string[]]>(
  'appointments_seed_present_providers',
  `SELECT id FROM providers WHERE id = ANY($1::uuid[])`,
);

/** Existing slots (same id, or same provider and start) are kept: re-seeding never duplicates them. */
const INSERT_SLOTS = sql<never, [ids: string[], providerId: string, startsAt: Date[], endsAt: Date[]]>(
  'appointments_seed_slots',
  `INSERT INTO appointment_slots (id, provider_id, starts_at, ends_at)
   SELECT id, $2::uuid, starts_at, ends_at FROM unnest($1::uuid[], $3::timestamptz[], $4::timestamptz[]) AS t(id, starts_at, ends_at)
   ON CONFLICT DO NOTHING`,
);

/**
 * Two providers with half-hour slots every morning (UTC) for the next two weeks, counted from the day the
 * service starts: a restart tops the slots up, so the demo can be booked whenever it is run.
 */
export class AppointmentsDemoSeeder implements DemoSeeder {
  readonly name = 'appointments';

  async isEmpty(manager: EntityManager): Promise<boolean> {
    const [row] = await transactionOfManager(manager).run(NO_PROVIDERS, []);
    return row?.empty === true;
  }

  async seed(manager: EntityManager): Promise<void> {
    const tx = transactionOfManager(manager);
    for (const provider of DEMO_PROVIDERS) {
      const id = demoId(`provider:${provider.slug}`);
      await tx.run(INSERT_PROVIDER, [id, provider.slug, provider.displayName, provider.specialty]);
    }
    await this.refresh(manager);
  }

  /** Adds the coming days' slots of the demo providers (those still present); existing slots are kept. */
  async refresh(manager: EntityManager): Promise<void> {
    const tx = transactionOfManager(manager);
    const today = Date.parse(new Date().toISOString().slice(0, 10));
    const ids = DEMO_PROVIDERS.map((provider) => demoId(`provider:${provider.slug}`));
    const present = new Set((await tx.run(PRESENT_PROVIDERS, [ids])).map((row) => row.id));
    for (const provider of DEMO_PROVIDERS) {
      const providerId = demoId(`provider:${provider.slug}`);
      if (!present.has(providerId)) continue;
      const starts: Date[] = [];
      for (let day = 1; day <= DAYS; day++) {
        const date = today + day * DAY_MS;
        for (const hour of HOURS_UTC) {
          for (const minute of [0, SLOT_MINUTES]) starts.push(new Date(date + (hour * 60 + minute) * 60_000));
        }
      }
      await tx.run(INSERT_SLOTS, [
        starts.map((startsAt) => demoId(`slot:${provider.slug}:${startsAt.toISOString()}`)),
        providerId,
        starts,
        starts.map((startsAt) => new Date(startsAt.getTime() + SLOT_MINUTES * 60_000)),
      ]);
    }
  }
}
