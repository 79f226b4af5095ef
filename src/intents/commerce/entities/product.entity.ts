import { Column, Entity, PrimaryGeneratedColumn } from 'typeorm';

@Entity({ name: 'products' })
export class Product {
  @PrimaryGeneratedColumn('uuid')
  id!: string;

  @Column({ type: 'varchar', length: 64, unique: true })
  sku!: string;

  @Column({ type: 'varchar', length: 200 })
  name!: string;

  /** Shipping weight in grams (the carrier prices by weight). */
  @Column({ name: 'weight_grams', type: 'integer' })
  weightGrams!: number;
}
