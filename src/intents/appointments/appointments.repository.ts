import { Injectable } from '@nestjs/common';
import { randomInt } from 'node:crypto';
import { ReadThroughCache } from '../../cache/read-through-cache';
import { DatabasePool } from '../../database/database-pool';
import { mayHaveCommitted } from '../../database/connection-errors';
import { containsPattern, sql } from '../../database/sql';
import { CommittedWrites, lagTolerant } from '../committed-writes';
import type { Appointment } from './entities/appointment.entity';
import type { AppointmentSlot } from './entities/appointment-slot.entity';
import type { Provider } from './entities/provider.entity';

/** A slot as the handlers read it (without its provider). */
export type SlotView = Pick<AppointmentSlot, 'id' | 'providerId' | 'startsAt' | 'endsAt'>;

/** A slot at a time asked for, with the patient whose booked appointment holds it (null while it is free). */
export type SlotAtView = SlotView & { readonly bookedBy: string | null };

/** A booking as the handlers read it. */
export type BookedAppointment = Pick<Appointment, 'id' | 'reference' | 'createdAt'>;

const PROVIDER_COLUMNS = `id, slug, display_name AS "displayName", specialty`;
const SLOT_COLUMNS = `s.id, s.provider_id AS "providerId", s.starts_at AS "startsAt", s.ends_at AS "endsAt"`;

const PROVIDERS = sql<Provider, []>(
  'appointments_providers',
  `SELECT ${PROVIDER_COLUMNS} FROM providers ORDER BY display_name ASC, id ASC`,
);

const PROVIDER_BY_SLUG = sql<Provider, [slug: string]>(
  'appointments_provider_by_slug',
  `SELECT ${PROVIDER_COLUMNS} FROM providers WHERE slug = $1`,
);

const PROVIDER_BY_NAME = sql<Provider, [pattern: string]>(
  'appointments_provider_by_name',
  `SELECT ${PROVIDER_COLUMNS} FROM providers WHERE display_name ILIKE $1 ORDER BY display_name ASC, id ASC LIMIT 1`,
);

/** Slots in [from, to) without a booked appointment, earliest first; at most `limit` (all when null). */
const FREE_SLOTS = sql<SlotView, [providerId: string, from: Date, to: Date, limit: number | null]>(
  'appointments_free_slots',
  `SELECT ${SLOT_COLUMNS}
     FROM appointment_slots s
     LEFT JOIN appointments booked ON booked.slot_id = s.id AND booked.status = 'booked'
    WHERE s.provider_id = $1 AND s.starts_at >= $2 AND s.starts_at < $3 AND booked.id IS NULL
    ORDER BY s.starts_at ASC
    LIMIT $4`,
);

/** The slot at a time, and who holds it: a booked slot is not offered for confirmation as if it were free. */
const SLOT_AT = sql<SlotAtView, [providerId: string, startsAt: Date]>(
  'appointments_slot_at',
  `SELECT ${SLOT_COLUMNS}, booked.patient_ref AS "bookedBy"
     FROM appointment_slots s
     LEFT JOIN appointments booked ON booked.slot_id = s.id AND booked.status = 'booked'
    WHERE s.provider_id = $1 AND s.starts_at = $2`,
);

/**
 * A clash with the booked-slot index, the reference's or the turn key's unique index inserts nothing (no error to
 * log).
 */
const BOOK = sql<
  Pick<Appointment, 'id' | 'createdAt'>,
  [slotId: string, patientRef: string, reference: string, idempotencyKey: string]
>(
  'appointments_book',
  `INSERT INTO appointments (slot_id, patient_ref, status, reference, idempotency_key)
   VALUES ($1, $2, 'booked', $3, $4)
   ON CONFLICT DO NOTHING
   RETURNING id, created_at AS "createdAt"`,
);

/** The appointment made under a booking turn's key: by an earlier run of the turn, or by a request that reused it. */
const BOOKED_BY_KEY = sql<
  Pick<Appointment, 'id' | 'createdAt' | 'reference' | 'slotId' | 'patientRef' | 'status'>,
  [idempotencyKey: string]
>(
  'appointments_booked_by_key',
  `SELECT id, created_at AS "createdAt", reference, slot_id AS "slotId", patient_ref AS "patientRef", status
     FROM appointments WHERE idempotency_key = $1`,
);

/** The patient whose booked appointment holds a slot (no row while it is free). */
const SLOT_HOLDER = sql<{ patientRef: string }, [slotId: string]>(
  'appointments_slot_holder',
  `SELECT patient_ref AS "patientRef" FROM appointments WHERE slot_id = $1 AND status = 'booked'`,
);

/** The provider whose slot an appointment of this patient holds (or held). */
const PROVIDER_OF = sql<{ providerId: string }, [reference: string, patientRef: string]>(
  'appointments_provider_of',
  `SELECT s.provider_id AS "providerId"
     FROM appointments a JOIN appointment_slots s ON s.id = a.slot_id
    WHERE a.reference = $1 AND a.patient_ref = $2`,
);

/**
 * One statement: the row lock it takes makes a concurrent cancellation of the same booking find nothing. Only a
 * booking still to come: one whose time has come is not freed (nor its slot offered again).
 */
const CANCEL = sql<SlotView, [reference: string, patientRef: string]>(
  'appointments_cancel',
  `UPDATE appointments a SET status = 'cancelled', cancelled_at = now()
     FROM appointment_slots s
    WHERE s.id = a.slot_id AND a.reference = $1 AND a.patient_ref = $2 AND a.status = 'booked'
      AND s.starts_at > now()
   RETURNING ${SLOT_COLUMNS}`,
);

/** A booking of this patient that CANCEL left: already cancelled, or booked and its time come. */
const NOT_CANCELLED = sql<SlotView & { status: Appointment['status'] }, [reference: string, patientRef: string]>(
  'appointments_not_cancelled',
  `SELECT ${SLOT_COLUMNS}, a.status
     FROM appointments a JOIN appointment_slots s ON s.id = a.slot_id
    WHERE a.reference = $1 AND a.patient_ref = $2 AND (a.status = 'cancelled' OR s.starts_at <= now())`,
);

const REFERENCE_ALPHABET = 'ABCDEFGHJKLMNPQRSTUVWXYZ23456789';
const DAY_MS = 86_400_000;
/** Providers change by administration, not by turns: they are cached for this long. */
const DIRECTORY_TTL_MS = 300_000;
/** Free slots change by bookings and cancellations, which invalidate the provider. */
const FREE_SLOTS_TTL_MS = 60_000;
/** Ranges longer than this are read in one query rather than day by day from the cache. */
const MAX_CACHED_RANGE_DAYS = 31;
const DIRECTORY = 'providers';
const directoryScope = { kind: 'directory', id: DIRECTORY };

const providerScope = (providerId: string) => ({ kind: 'provider', id: providerId });

export type BookingOutcome =
  | { readonly kind: 'booked'; readonly appointment: BookedAppointment }
  /** Another patient holds the slot. */
  | { readonly kind: 'taken' }
  /** This patient holds the slot already, booked by another turn (another question): nothing new was booked. */
  | { readonly kind: 'held' }
  /**
   * The turn's key holds a booking of another slot or patient, or one cancelled since: a request id reused for another
   * request after its idempotency record expired. Nothing was booked.
   */
  | { readonly kind: 'key-reused' };

export type CancellationOutcome =
  | { readonly kind: 'cancelled'; readonly slot: SlotView }
  /** The appointment's time has come: it is kept. */
  | { readonly kind: 'past'; readonly slot: SlotView }
  | { readonly kind: 'not-found' };

function newReference(): string {
  return Array.from({ length: 6 }, () => REFERENCE_ALPHABET[randomInt(REFERENCE_ALPHABET.length)]).join('');
}

/**
 * Providers, their free slots, and bookings (one booked appointment per slot, enforced by the database). The
 * provider directory and each provider's free slots per day are cached, and read from a read replica when one
 * has replayed the provider's last booking; a booking or a cancellation invalidates the provider's slots once
 * committed.
 */
@Injectable()
export class AppointmentsRepository {
  private readonly providerList;
  private readonly providerLookups;
  private readonly daysFreeSlots;

  constructor(
    private readonly pool: DatabasePool,
    private readonly cache: ReadThroughCache,
    private readonly writes: CommittedWrites,
  ) {
    this.providerList = cache.define<Provider[]>('providers', { scope: 'directory', ttlMs: DIRECTORY_TTL_MS });
    this.providerLookups = cache.define<Provider | null>('provider_lookups', {
      scope: 'directory',
      ttlMs: DIRECTORY_TTL_MS,
    });
    this.daysFreeSlots = cache.define<SlotView[]>('free_slots', { scope: 'provider', ttlMs: FREE_SLOTS_TTL_MS });
  }

  providers(): Promise<readonly Provider[]> {
    return this.providerList.read(DIRECTORY, [], () =>
      this.pool.run(PROVIDERS, [], undefined, lagTolerant(directoryScope)),
    );
  }

  /** By slug (`dr-lee`) or by a name the user said ("Lee", "Dr. Ada Lee"). */
  findProvider(reference: string): Promise<Provider | null> {
    // Cached under the reference as said: a folded key would join names ILIKE tells apart (see findProduct).
    return this.providerLookups.read(DIRECTORY, [reference], () => this.lookUpProvider(reference));
  }

  private async lookUpProvider(reference: string): Promise<Provider | null> {
    const routing = lagTolerant(directoryScope);
    const [bySlug] = await this.pool.run(PROVIDER_BY_SLUG, [reference.toLowerCase()], undefined, routing);
    if (bySlug) return bySlug;
    const [byName] = await this.pool.run(PROVIDER_BY_NAME, [containsPattern(reference)], undefined, routing);
    return byName ?? null;
  }

  /** Slots in [from, to) without a booked appointment, earliest first: from each day's cached free slots. */
  async freeSlots(providerId: string, from: Date, to: Date, limit: number): Promise<readonly SlotView[]> {
    const firstDay = Math.floor(from.getTime() / DAY_MS) * DAY_MS;
    if (!this.cache.enabled || to.getTime() - firstDay > MAX_CACHED_RANGE_DAYS * DAY_MS) {
      return this.queryFreeSlots(providerId, from, to, limit);
    }
    const found: SlotView[] = [];
    for (let day = firstDay; day < to.getTime() && found.length < limit; day += DAY_MS) {
      const slots = await this.daysFreeSlots.read(providerId, [new Date(day).toISOString().slice(0, 10)], () =>
        this.queryFreeSlots(providerId, new Date(day), new Date(day + DAY_MS), null),
      );
      for (const slot of slots) {
        const at = slot.startsAt.getTime();
        if (at >= from.getTime() && at < to.getTime() && found.length < limit) found.push(slot);
      }
    }
    return found;
  }

  private queryFreeSlots(providerId: string, from: Date, to: Date, limit: number | null): Promise<SlotView[]> {
    return this.pool.run(FREE_SLOTS, [providerId, from, to, limit], undefined, lagTolerant(providerScope(providerId)));
  }

  /** The slot at `startsAt`, free or not (`bookedBy`). */
  async findSlot(providerId: string, startsAt: Date): Promise<SlotAtView | null> {
    const [slot] = await this.pool.run(
      SLOT_AT,
      [providerId, startsAt],
      undefined,
      lagTolerant(providerScope(providerId)),
    );
    return slot ?? null;
  }

  /**
   * Books a slot. When another booking got there first, the partial unique index turns this insert into a
   * no-op; a clash on the random reference alone is retried.
   */
  async book(
    slot: Pick<SlotView, 'id' | 'providerId'>,
    patientRef: string,
    idempotencyKey: string,
  ): Promise<BookingOutcome> {
    for (let attempt = 0; attempt < 3; attempt++) {
      const reference = newReference();
      const values = [slot.id, patientRef, reference, idempotencyKey] as const;
      const inserted = await this.pool.run(BOOK, values).catch(async (error: unknown) => {
        // A lost connection leaves the insert's outcome unknown: the slot may be booked now.
        if (mayHaveCommitted(error)) await this.writes.committed(providerScope(slot.providerId));
        throw error;
      });
      if (inserted.length === 1) {
        await this.writes.committed(providerScope(slot.providerId));
        return { kind: 'booked', appointment: { ...inserted[0], reference } };
      }
      // This turn booked before (a run whose reply was lost): its appointment, not "taken" by itself. Its slot's
      // cached free times go too: that run may have died before invalidating them.
      const [earlier] = await this.pool.run(BOOKED_BY_KEY, [idempotencyKey]);
      if (earlier) {
        const same = earlier.slotId === slot.id && earlier.patientRef === patientRef && earlier.status === 'booked';
        if (!same) return { kind: 'key-reused' };
        await this.writes.committed(providerScope(slot.providerId));
        const { id, createdAt, reference: booked } = earlier;
        return { kind: 'booked', appointment: { id, createdAt, reference: booked } };
      }
      const [holder] = await this.pool.run(SLOT_HOLDER, [slot.id]);
      if (holder) return { kind: holder.patientRef === patientRef ? 'held' : 'taken' };
    }
    throw new Error('could not allocate a unique appointment reference');
  }

  /**
   * Cancels a booked appointment of this patient that is still to come. A booking already cancelled answers as
   * cancelled: the run before may have committed the cancellation and lost its answer (a connection lost after the
   * commit), and its retry found nothing booked and said "not found".
   */
  async cancel(reference: string, patientRef: string): Promise<CancellationOutcome> {
    const code = reference.toUpperCase();
    const [slot] = await this.pool.run(CANCEL, [code, patientRef]).catch(async (error: unknown) => {
      // A lost connection leaves the cancellation's outcome unknown: the slot may be free again. Its provider is
      // looked up to invalidate (when that fails too, the free slots' TTL bounds how long the slot stays hidden).
      if (!mayHaveCommitted(error)) throw error;
      const [owner] = await this.pool.run(PROVIDER_OF, [code, patientRef]).catch(() => []);
      if (owner) await this.writes.committed(providerScope(owner.providerId));
      throw error;
    });
    if (!slot) {
      const [left] = await this.pool.run(NOT_CANCELLED, [code, patientRef]);
      if (!left) return { kind: 'not-found' };
      const { status, ...held } = left;
      return { kind: status === 'cancelled' ? 'cancelled' : 'past', slot: held };
    }
    await this.writes.committed(providerScope(slot.providerId));
    return { kind: 'cancelled', slot };
  }
}
