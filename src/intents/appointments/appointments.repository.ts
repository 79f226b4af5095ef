import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { randomInt } from 'node:crypto';
import { DataSource } from 'typeorm';
import { ReadThroughCache } from '../../cache/read-through-cache';
import { CommittedWrites } from '../committed-writes';
import { Appointment } from './entities/appointment.entity';
import { AppointmentSlot } from './entities/appointment-slot.entity';
import { Provider } from './entities/provider.entity';

const REFERENCE_ALPHABET = 'ABCDEFGHJKLMNPQRSTUVWXYZ23456789';
const DAY_MS = 86_400_000;
/** Providers change by administration, not by turns: they are cached for this long. */
const DIRECTORY_TTL_MS = 300_000;
/** Free slots change by bookings and cancellations, which invalidate the provider. */
const FREE_SLOTS_TTL_MS = 60_000;
/** Ranges longer than this are read in one query rather than day by day from the cache. */
const MAX_CACHED_RANGE_DAYS = 31;
const DIRECTORY = 'providers';

const providerScope = (providerId: string) => ({ kind: 'provider', id: providerId });

export type BookingOutcome =
  { readonly kind: 'booked'; readonly appointment: Appointment } | { readonly kind: 'taken' };

function newReference(): string {
  return Array.from({ length: 6 }, () => REFERENCE_ALPHABET[randomInt(REFERENCE_ALPHABET.length)]).join('');
}

/**
 * Providers, their free slots, and bookings (one booked appointment per slot, enforced by the database). The
 * provider directory and each provider's free slots per day are cached; a booking or a cancellation invalidates
 * the provider's slots once committed.
 */
@Injectable()
export class AppointmentsRepository {
  private readonly providerList;
  private readonly providerLookups;
  private readonly daysFreeSlots;

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly cache: ReadThroughCache,
    private readonly writes: CommittedWrites,
  ) {
    this.providerList = cache.define<Provider[]>('providers', { scope: 'directory', ttlMs: DIRECTORY_TTL_MS });
    this.providerLookups = cache.define<Provider | null>('provider_lookups', {
      scope: 'directory',
      ttlMs: DIRECTORY_TTL_MS,
    });
    this.daysFreeSlots = cache.define<AppointmentSlot[]>('free_slots', { scope: 'provider', ttlMs: FREE_SLOTS_TTL_MS });
  }

  providers(): Promise<readonly Provider[]> {
    return this.providerList.read(DIRECTORY, [], () =>
      this.dataSource.getRepository(Provider).find({ order: { displayName: 'ASC' } }),
    );
  }

  /** By slug (`dr-lee`) or by a name the user said ("Lee", "Dr. Ada Lee"). */
  findProvider(reference: string): Promise<Provider | null> {
    return this.providerLookups.read(DIRECTORY, [reference.toLowerCase()], () => this.lookUpProvider(reference));
  }

  private async lookUpProvider(reference: string): Promise<Provider | null> {
    const repository = this.dataSource.getRepository(Provider);
    const bySlug = await repository.findOne({ where: { slug: reference.toLowerCase() } });
    if (bySlug) return bySlug;
    return repository
      .createQueryBuilder('provider')
      .where('provider.displayName ILIKE :name', { name: `%${reference.replace(/[%_\\]/g, '')}%` })
      .orderBy('provider.displayName', 'ASC')
      .getOne();
  }

  /** Slots in [from, to) without a booked appointment, earliest first: from each day's cached free slots. */
  async freeSlots(providerId: string, from: Date, to: Date, limit: number): Promise<readonly AppointmentSlot[]> {
    const firstDay = Math.floor(from.getTime() / DAY_MS) * DAY_MS;
    if (!this.cache.enabled || to.getTime() - firstDay > MAX_CACHED_RANGE_DAYS * DAY_MS) {
      return this.queryFreeSlots(providerId, from, to, limit);
    }
    const found: AppointmentSlot[] = [];
    for (let day = firstDay; day < to.getTime() && found.length < limit; day += DAY_MS) {
      const slots = await this.daysFreeSlots.read(providerId, [new Date(day).toISOString().slice(0, 10)], () =>
        this.queryFreeSlots(providerId, new Date(day), new Date(day + DAY_MS)),
      );
      for (const slot of slots) {
        const at = slot.startsAt.getTime();
        if (at >= from.getTime() && at < to.getTime() && found.length < limit) found.push(slot);
      }
    }
    return found;
  }

  private queryFreeSlots(providerId: string, from: Date, to: Date, limit?: number): Promise<AppointmentSlot[]> {
    const query = this.dataSource
      .getRepository(AppointmentSlot)
      .createQueryBuilder('slot')
      .leftJoin(Appointment, 'booked', `booked.slot_id = slot.id AND booked.status = 'booked'`)
      .where('slot.providerId = :providerId', { providerId })
      .andWhere('slot.startsAt >= :from AND slot.startsAt < :to', { from, to })
      .andWhere('booked.id IS NULL')
      .orderBy('slot.startsAt', 'ASC');
    return (limit === undefined ? query : query.take(limit)).getMany();
  }

  findSlot(providerId: string, startsAt: Date): Promise<AppointmentSlot | null> {
    return this.dataSource.getRepository(AppointmentSlot).findOne({ where: { providerId, startsAt } });
  }

  /**
   * Books a slot. When another booking got there first, the partial unique index turns this insert into a
   * no-op (ON CONFLICT DO NOTHING: no error to log); a clash on the random reference alone is retried.
   */
  async book(slot: Pick<AppointmentSlot, 'id' | 'providerId'>, patientRef: string): Promise<BookingOutcome> {
    const slotId = slot.id;
    for (let attempt = 0; attempt < 3; attempt++) {
      const appointment = Object.assign(new Appointment(), {
        slotId,
        patientRef,
        status: 'booked',
        reference: newReference(),
        cancelledAt: null,
      });
      const result = await this.dataSource
        .createQueryBuilder()
        .insert()
        .into(Appointment)
        .values(appointment)
        .orIgnore()
        .returning(['id', 'createdAt'])
        .execute()
        .catch(async (error: unknown) => {
          // A lost connection leaves the insert's outcome unknown: the slot may be booked now.
          await this.writes.committed(providerScope(slot.providerId));
          throw error;
        });
      if ((result.raw as unknown[]).length === 1) {
        await this.writes.committed(providerScope(slot.providerId));
        return { kind: 'booked', appointment };
      }
      const taken = await this.dataSource.getRepository(Appointment).exists({ where: { slotId, status: 'booked' } });
      if (taken) return { kind: 'taken' };
    }
    throw new Error('could not allocate a unique appointment reference');
  }

  /** Cancels a booked appointment of this patient; null when there is none with that reference. */
  async cancel(reference: string, patientRef: string): Promise<(Appointment & { slot: AppointmentSlot }) | null> {
    const cancelled = await this.dataSource.transaction(async (manager) => {
      const appointment = await manager.getRepository(Appointment).findOne({
        where: { reference: reference.toUpperCase(), patientRef, status: 'booked' },
        relations: { slot: { provider: true } },
        lock: { mode: 'pessimistic_write', tables: ['appointments'] },
      });
      if (!appointment?.slot) return null;
      await manager.update(Appointment, { id: appointment.id }, { status: 'cancelled', cancelledAt: new Date() });
      return appointment as Appointment & { slot: AppointmentSlot };
    });
    if (cancelled) await this.writes.committed(providerScope(cancelled.slot.providerId));
    return cancelled;
  }
}
