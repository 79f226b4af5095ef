import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { ReadThroughCache } from '../../cache/read-through-cache';
import { Order } from './entities/order.entity';
import { Product } from './entities/product.entity';
import { StockLevel } from './entities/stock-level.entity';
import { Warehouse } from './entities/warehouse.entity';

export interface WarehouseStock {
  readonly warehouse: Warehouse;
  readonly quantity: number;
}

/** The product catalogue changes by administration, not by turns. */
const CATALOGUE_TTL_MS = 300_000;
/** Stock and order status change outside this service (warehouses, carriers): fresh within this. */
const STOCK_TTL_MS = 15_000;
const ORDER_TTL_MS = 15_000;
const CATALOGUE = 'catalogue';

/**
 * Products, stock and orders, all read-only here and cached: nothing in this service writes them, so entries end
 * by age (the TTLs above bound how late an outside change shows).
 */
@Injectable()
export class CommerceRepository {
  private readonly products;
  private readonly stockLevels;
  private readonly warehouses;
  private readonly orders;

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    cache: ReadThroughCache,
  ) {
    this.products = cache.define<Product | null>('products', { scope: 'catalogue', ttlMs: CATALOGUE_TTL_MS });
    this.warehouses = cache.define<Warehouse[]>('warehouses', { scope: 'catalogue', ttlMs: CATALOGUE_TTL_MS });
    this.stockLevels = cache.define<StockLevel[]>('stock_levels', { scope: 'product', ttlMs: STOCK_TTL_MS });
    this.orders = cache.define<Order | null>('orders', { scope: 'customer', ttlMs: ORDER_TTL_MS });
  }

  /** By SKU, else by name ("wireless headphones"). */
  findProduct(reference: string): Promise<Product | null> {
    return this.products.read(CATALOGUE, [reference.toUpperCase()], () => this.lookUpProduct(reference));
  }

  private async lookUpProduct(reference: string): Promise<Product | null> {
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
    const [levels, warehouses] = await Promise.all([
      this.stockLevels.read(productId, [], () =>
        this.dataSource.getRepository(StockLevel).find({ where: { productId } }),
      ),
      this.warehouses.read(CATALOGUE, [], () =>
        this.dataSource.getRepository(Warehouse).find({ order: { code: 'ASC' } }),
      ),
    ]);
    return warehouses.map((warehouse) => ({
      warehouse,
      quantity: levels.find((level) => level.warehouseId === warehouse.id)?.quantity ?? 0,
    }));
  }

  /** The order only when it belongs to this customer: another customer's order is "not found". */
  findOrder(orderNumber: string, customerNumber: string): Promise<Order | null> {
    const number = orderNumber.toUpperCase();
    return this.orders.read(customerNumber, [number], () =>
      this.dataSource.getRepository(Order).findOne({ where: { orderNumber: number, customerNumber } }),
    );
  }

  /** The warehouse holding most of a product (where it would ship from). */
  async shipsFrom(productId: string): Promise<Warehouse | null> {
    const best = (await this.stock(productId)).filter((s) => s.quantity > 0).sort((a, b) => b.quantity - a.quantity)[0];
    return best?.warehouse ?? null;
  }
}
