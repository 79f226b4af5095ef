import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { Order } from './entities/order.entity';
import { Product } from './entities/product.entity';
import { StockLevel } from './entities/stock-level.entity';
import { Warehouse } from './entities/warehouse.entity';

export interface WarehouseStock {
  readonly warehouse: Warehouse;
  readonly quantity: number;
}

@Injectable()
export class CommerceRepository {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  /** By SKU, else by name ("wireless headphones"). */
  async findProduct(reference: string): Promise<Product | null> {
    const products = this.dataSource.getRepository(Product);
    const bySku = await products.findOne({ where: { sku: reference.toUpperCase() } });
    if (bySku) return bySku;
    return products
      .createQueryBuilder('product')
      .where('product.name ILIKE :name', { name: `%${reference.replace(/[%_\\]/g, '')}%` })
      .orderBy('product.name', 'ASC')
      .getOne();
  }

  async stock(productId: string): Promise<WarehouseStock[]> {
    const levels = await this.dataSource.getRepository(StockLevel).find({ where: { productId } });
    const warehouses = await this.dataSource.getRepository(Warehouse).find({ order: { code: 'ASC' } });
    return warehouses.map((warehouse) => ({
      warehouse,
      quantity: levels.find((level) => level.warehouseId === warehouse.id)?.quantity ?? 0,
    }));
  }

  /** The order only when it belongs to this customer: another customer's order is "not found". */
  findOrder(orderNumber: string, customerNumber: string): Promise<Order | null> {
    return this.dataSource
      .getRepository(Order)
      .findOne({ where: { orderNumber: orderNumber.toUpperCase(), customerNumber } });
  }

  /** The warehouse holding most of a product (where it would ship from). */
  async shipsFrom(productId: string): Promise<Warehouse | null> {
    const best = (await this.stock(productId)).filter((s) => s.quantity > 0).sort((a, b) => b.quantity - a.quantity)[0];
    return best?.warehouse ?? null;
  }
}
