import { Column, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';

export type OrderStatus = 'processing' | 'shipped' | 'delivered' | 'cancelled';

@Entity({ name: 'orders' })
@Index('IDX_orders_customer', ['customerNumber'])
export class Order {
  @PrimaryGeneratedColumn('uuid')
  id!: string;

  /** What customers quote, e.g. `ORD-10042`. */
  @Column({ name: 'order_number', type: 'varchar', length: 32, unique: true })
  orderNumber!: string;

  /** The customer the order belongs to (the bot's `user_id`). */
  @Column({ name: 'customer_number', type: 'varchar', length: 64 })
  customerNumber!: string;

  @Column({ type: 'varchar', length: 16 })
  status!: OrderStatus;

  @Column({ name: 'placed_at', type: 'timestamptz' })
  placedAt!: Date;

  @Column({ name: 'ship_to_postcode', type: 'varchar', length: 16 })
  shipToPostcode!: string;

  @Column({ name: 'tracking_number', type: 'varchar', length: 64, nullable: true })
  trackingNumber!: string | null;
}
