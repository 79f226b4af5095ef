import { Column, CreateDateColumn, Entity, Index, JoinColumn, ManyToOne, PrimaryGeneratedColumn } from 'typeorm';
import type { AppointmentSlot } from './appointment-slot.entity';

export type AppointmentStatus = 'booked' | 'cancelled';

/**
 * A patient's booking of a slot. At most one booked appointment per slot, enforced by a partial unique
 * index, so two concurrent bookings of one slot cannot both succeed; a cancelled slot can be booked again.
 */
@Entity({ name: 'appointments' })
@Index('UQ_appointments_booked_slot', ['slotId'], { unique: true, where: `"status" = 'booked'` })
@Index('IDX_appointments_patient', ['patientRef'])
@Index('UQ_appointments_idempotency_key', ['idempotencyKey'], { unique: true })
export class Appointment {
  @PrimaryGeneratedColumn('uuid')
  id!: string;

  @Column({ name: 'slot_id', type: 'uuid' })
  slotId!: string;

  @ManyToOne('AppointmentSlot', { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'slot_id' })
  slot?: AppointmentSlot;

  @Column({ name: 'patient_ref', type: 'varchar', length: 64 })
  patientRef!: string;

  @Column({ type: 'varchar', length: 16 })
  status!: AppointmentStatus;

  /** Short code read back to the patient, e.g. `A7K2Q9`. */
  @Column({ type: 'varchar', length: 12, unique: true })
  reference!: string;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;

  @Column({ name: 'cancelled_at', type: 'timestamptz', nullable: true })
  cancelledAt!: Date | null;

  /** The booking turn's idempotency key: the turn run again finds this appointment (null before the key). */
  @Column({ name: 'idempotency_key', type: 'char', length: 64, nullable: true })
  idempotencyKey!: string | null;
}
