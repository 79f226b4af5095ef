import { type EntityManager, In } from 'typeorm';
import { demoId, DemoSeeder } from '../demo-seeder';
import { AppointmentSlot } from './entities/appointment-slot.entity';
import { Provider } from './entities/provider.entity';

const DAY_MS = 86_400_000;
const SLOT_MINUTES = 30;
const DAYS = 14;
const HOURS_UTC = [9, 10, 11];

export const DEMO_PROVIDERS = [
  { slug: 'dr-lee', displayName: 'Dr. Ada Lee', specialty: 'cardiology' },
  { slug: 'dr-patel', displayName: 'Dr. Ravi Patel', specialty: 'dermatology' },
] as const;

/**
 * Two providers with half-hour slots every morning (UTC) for the next two weeks, counted from the day the
 * service starts: a restart tops the slots up, so the demo can be booked whenever it is run.
 */
export class AppointmentsDemoSeeder implements DemoSeeder {
  readonly name = 'appointments';

  async isEmpty(manager: EntityManager): Promise<boolean> {
    return (await manager.getRepository(Provider).count()) === 0;
  }

  async seed(manager: EntityManager): Promise<void> {
    for (const provider of DEMO_PROVIDERS) {
      await manager
        .createQueryBuilder()
        .insert()
        .into(Provider)
        .values({ id: demoId(`provider:${provider.slug}`), ...provider })
        .orIgnore()
        .execute();
    }
    await this.refresh(manager);
  }

  /** Adds the coming days' slots of the demo providers (those still present); existing slots are kept. */
  async refresh(manager: EntityManager): Promise<void> {
    const today = Date.parse(new Date().toISOString().slice(0, 10));
    const ids = DEMO_PROVIDERS.map((provider) => demoId(`provider:${provider.slug}`));
    const present = new Set((await manager.getRepository(Provider).findBy({ id: In(ids) })).map((row) => row.id));
    for (const provider of DEMO_PROVIDERS) {
      const providerId = demoId(`provider:${provider.slug}`);
      if (!present.has(providerId)) continue;
      const slots: Partial<AppointmentSlot>[] = [];
      for (let day = 1; day <= DAYS; day++) {
        const date = new Date(today + day * DAY_MS);
        for (const hour of HOURS_UTC) {
          for (const minute of [0, SLOT_MINUTES]) {
            const startsAt = new Date(date.getTime() + (hour * 60 + minute) * 60_000);
            slots.push({
              id: demoId(`slot:${provider.slug}:${startsAt.toISOString()}`),
              providerId,
              startsAt,
              endsAt: new Date(startsAt.getTime() + SLOT_MINUTES * 60_000),
            });
          }
        }
      }
      // Existing slots (same provider and start) are kept: re-seeding never duplicates them.
      await manager.createQueryBuilder().insert().into(AppointmentSlot).values(slots).orIgnore().execute();
    }
  }
}
