import { Column, Entity, Index, JoinColumn, ManyToOne, PrimaryGeneratedColumn } from 'typeorm';
import type { Provider } from './provider.entity';

/** A bookable period of a provider's calendar (times in UTC). */
@Entity({ name: 'appointment_slots' })
@Index('UQ_appointment_slots_provider_start', ['providerId', 'startsAt'], { unique: true })
export class AppointmentSlot {
  @PrimaryGeneratedColumn('uuid')
  id!: string;

  @Column({ name: 'provider_id', type: 'uuid' })
  providerId!: string;

  @ManyToOne('Provider', { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'provider_id' })
  provider?: Provider;

  @Column({ name: 'starts_at', type: 'timestamptz' })
  startsAt!: Date;

  @Column({ name: 'ends_at', type: 'timestamptz' })
  endsAt!: Date;
}
