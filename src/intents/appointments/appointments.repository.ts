import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { randomInt } from 'node:crypto';
import { DataSource } from 'typeorm';
import { Appointment } from './entities/appointment.entity';
import { AppointmentSlot } from './entities/appointment-slot.entity';
import { Provider } from './entities/provider.entity';

const REFERENCE_ALPHABET = 'ABCDEFGHJKLMNPQRSTUVWXYZ23456789';

export type BookingOutcome =
  { readonly kind: 'booked'; readonly appointment: Appointment } | { readonly kind: 'taken' };

function newReference(): string {
  return Array.from({ length: 6 }, () => REFERENCE_ALPHABET[randomInt(REFERENCE_ALPHABET.length)]).join('');
}

/** Providers, their free slots, and bookings (one booked appointment per slot, enforced by the database). */
@Injectable()
export class AppointmentsRepository {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  providers(): Promise<Provider[]> {
    return this.dataSource.getRepository(Provider).find({ order: { displayName: 'ASC' } });
  }

  /** By slug (`dr-lee`) or by a name the user said ("Lee", "Dr. Ada Lee"). */
  async findProvider(reference: string): Promise<Provider | null> {
    const repository = this.dataSource.getRepository(Provider);
    const bySlug = await repository.findOne({ where: { slug: reference.toLowerCase() } });
    if (bySlug) return bySlug;
    return repository
      .createQueryBuilder('provider')
      .where('provider.displayName ILIKE :name', { name: `%${reference.replace(/[%_\\]/g, '')}%` })
      .orderBy('provider.displayName', 'ASC')
      .getOne();
  }

  /** Slots in [from, to) without a booked appointment, earliest first. */
  freeSlots(providerId: string, from: Date, to: Date, limit: number): Promise<AppointmentSlot[]> {
    return this.dataSource
      .getRepository(AppointmentSlot)
      .createQueryBuilder('slot')
      .leftJoin(Appointment, 'booked', `booked.slot_id = slot.id AND booked.status = 'booked'`)
      .where('slot.providerId = :providerId', { providerId })
      .andWhere('slot.startsAt >= :from AND slot.startsAt < :to', { from, to })
      .andWhere('booked.id IS NULL')
      .orderBy('slot.startsAt', 'ASC')
      .take(limit)
      .getMany();
  }

  findSlot(providerId: string, startsAt: Date): Promise<AppointmentSlot | null> {
    return this.dataSource.getRepository(AppointmentSlot).findOne({ where: { providerId, startsAt } });
  }

  /**
   * Books a slot. When another booking got there first, the partial unique index turns this insert into a
   * no-op (ON CONFLICT DO NOTHING: no error to log); a clash on the random reference alone is retried.
   */
  async book(slotId: string, patientRef: string): Promise<BookingOutcome> {
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
        .execute();
      if ((result.raw as unknown[]).length === 1) return { kind: 'booked', appointment };
      const taken = await this.dataSource.getRepository(Appointment).exists({ where: { slotId, status: 'booked' } });
      if (taken) return { kind: 'taken' };
    }
    throw new Error('could not allocate a unique appointment reference');
  }

  /** Cancels a booked appointment of this patient; null when there is none with that reference. */
  async cancel(reference: string, patientRef: string): Promise<(Appointment & { slot: AppointmentSlot }) | null> {
    return this.dataSource.transaction(async (manager) => {
      const appointment = await manager.getRepository(Appointment).findOne({
        where: { reference: reference.toUpperCase(), patientRef, status: 'booked' },
        relations: { slot: { provider: true } },
        lock: { mode: 'pessimistic_write', tables: ['appointments'] },
      });
      if (!appointment?.slot) return null;
      await manager.update(Appointment, { id: appointment.id }, { status: 'cancelled', cancelledAt: new Date() });
      return appointment as Appointment & { slot: AppointmentSlot };
    });
  }
}
