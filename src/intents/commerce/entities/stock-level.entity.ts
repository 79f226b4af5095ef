import { Column, Entity, PrimaryColumn } from 'typeorm';

/** How many units of a product a warehouse holds. */
@Entity({ name: 'stock_levels' })
export class StockLevel {
  @PrimaryColumn({ name: 'product_id', type: 'uuid' })
  productId!: string;

  @PrimaryColumn({ name: 'warehouse_id', type: 'uuid' })
  warehouseId!: string;

  @Column({ type: 'integer' })
  quantity!: number;
}
