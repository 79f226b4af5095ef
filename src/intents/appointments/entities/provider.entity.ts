import { Column, Entity, PrimaryGeneratedColumn } from 'typeorm';

/** A clinician patients can book. */
@Entity({ name: 'providers' })
export class Provider {
  @PrimaryGeneratedColumn('uuid')
  id!: string;

  /** What the bot's `provider` entity resolves to, e.g. `dr-lee`. */
  @Column({ type: 'varchar', length: 64, unique: true })
  slug!: string;

  @Column({ name: 'display_name', type: 'varchar', length: 200 })
  displayName!: string;

  @Column({ type: 'varchar', length: 100 })
  specialty!: string;
}
