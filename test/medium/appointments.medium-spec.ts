import { ReadThroughCache } from '../../src/cache/read-through-cache';
import { DatabasePool } from '../../src/database/database-pool';
import { PgPools } from '../../src/database/pg-pools';
import { AppointmentsRepository } from '../../src/intents/appointments/appointments.repository';
import { CommittedWrites } from '../../src/intents/committed-writes';
import { AnswerLosingPool } from './support/answer-losing-pool';
import { testPool } from './support/test-pool';
import { mediumDatabase, type MediumDatabase } from './support/medium-database';

describe('appointments repository on PostgreSQL (no Nest)', () => {
  let db: MediumDatabase;
  let pg: ReturnType<typeof testPool>;
  beforeEach(async () => {
    db = await mediumDatabase();
    pg = testPool({ connectionString: db.database.url, max: 4 });
  });
  afterEach(async () => {
    await pg.end();
    await db.close();
  });

  it('a booking turn run again finds the appointment it made, not its own slot "taken"; once, whatever the runs', async () => {
    const pool = new AnswerLosingPool(PgPools.of(pg));
    const cache = ReadThroughCache.of({ enabled: true, localMaxEntries: 1000, localTtlMs: 60_000, maxTtlMs: 60_000 });
    const appointments = new AppointmentsRepository(pool, cache, new CommittedWrites(pool, cache));
    const [slot] = await db.query<{ id: string; providerId: string }>(
      `SELECT id, provider_id AS "providerId" FROM appointment_slots
        WHERE starts_at BETWEEN now() + interval '1 hour' AND now() + interval '7 days' ORDER BY starts_at LIMIT 1`,
    );
    const key = 'b'.repeat(64);
    // The first run commits, and its answer is lost (its replica died, the connection dropped).
    pool.losing = 'appointments_book';
    await expect(appointments.book(slot, 'patient-2', key)).rejects.toThrow('Connection terminated unexpectedly');
    pool.losing = undefined;
    const again = await appointments.book(slot, 'patient-2', key);
    const [stored] = await db.query<{ reference: string; n: string }>(
      `SELECT min(reference) AS reference, count(*) AS n FROM appointments WHERE idempotency_key = $1`,
      [key],
    );
    expect(stored.n).toBe('1');
    expect(again).toMatchObject({ kind: 'booked', appointment: { reference: stored.reference } });
    // Another patient's turn for the same slot still finds it taken.
    expect(await appointments.book(slot, 'patient-3', 'c'.repeat(64))).toEqual({ kind: 'taken' });
  });

  it('a cancellation whose answer was lost still frees the slot in the cache (it may have committed)', async () => {
    const pool = new AnswerLosingPool(PgPools.of(pg));
    const cache = ReadThroughCache.of({ enabled: true, localMaxEntries: 1000, localTtlMs: 60_000, maxTtlMs: 60_000 });
    const appointments = new AppointmentsRepository(pool, cache, new CommittedWrites(pool, cache));
    const [{ providerId }] = await db.query<{ providerId: string }>(
      `SELECT provider_id AS "providerId" FROM appointment_slots
        WHERE starts_at BETWEEN now() + interval '1 hour' AND now() + interval '7 days' ORDER BY starts_at LIMIT 1`,
    );
    const from = new Date();
    const to = new Date(Date.now() + 14 * 86_400_000); // within the days the cache keeps
    const [slot] = await appointments.freeSlots(providerId, from, to, 50);
    const booked = await appointments.book(slot, 'patient-1', 'a'.repeat(64));
    expect(booked.kind).toBe('booked');
    const reference = (booked as { appointment: { reference: string } }).appointment.reference;
    expect((await appointments.freeSlots(providerId, from, to, 50)).map((free) => free.id)).not.toContain(slot.id);

    pool.losing = 'appointments_cancel';
    await expect(appointments.cancel(reference, 'patient-1')).rejects.toThrow('Connection terminated unexpectedly');
    pool.losing = undefined;
    // Committed, though the answer was lost: the slot is free in the database, and the cache shows it.
    expect((await appointments.freeSlots(providerId, from, to, 50)).map((free) => free.id)).toContain(slot.id);
  });

  it('a booking whose statement surely did not commit leaves the cached free slots alone (nothing to tell anyone)', async () => {
    const pool = PgPools.of(pg);
    const cache = ReadThroughCache.of({ enabled: true, localMaxEntries: 1000, localTtlMs: 60_000, maxTtlMs: 60_000 });
    const database = new DatabasePool(pool);
    const appointments = new AppointmentsRepository(database, cache, new CommittedWrites(database, cache));
    const [{ providerId }] = await db.query<{ providerId: string }>(
      `SELECT provider_id AS "providerId" FROM appointment_slots
        WHERE starts_at BETWEEN now() + interval '1 hour' AND now() + interval '7 days' ORDER BY starts_at LIMIT 1`,
    );
    const from = new Date();
    const to = new Date(Date.now() + 14 * 86_400_000);
    const [slot, other] = await appointments.freeSlots(providerId, from, to, 50);
    // A booking on a replica whose invalidation never reaches this cache: it still lists the slot as free.
    const isolated = ReadThroughCache.of({ enabled: true, localMaxEntries: 10, localTtlMs: 60_000, maxTtlMs: 60_000 });
    const elsewhere = new AppointmentsRepository(database, isolated, new CommittedWrites(database, isolated));
    expect((await elsewhere.book(other, 'patient-3', 'd'.repeat(64))).kind).toBe('booked');
    // A patient reference longer than its column: the insert fails before any commit.
    await expect(appointments.book(slot, 'p'.repeat(65), 'c'.repeat(64))).rejects.toThrow();
    expect((await appointments.freeSlots(providerId, from, to, 50)).map((free) => free.id)).toContain(other.id);
  });
});
