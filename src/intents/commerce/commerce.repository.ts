import { Injectable } from '@nestjs/common';
import { ReadThroughCache } from '../../cache/read-through-cache';
import { DatabasePool } from '../../database/database-pool';
import { containsPattern, sql } from '../../database/sql';
import { customerScope, lagTolerant } from '../committed-writes';
import type { Order } from './entities/order.entity';
import type { Product } from './entities/product.entity';
import type { StockLevel } from './entities/stock-level.entity';
import type { Warehouse } from './entities/warehouse.entity';

export interface WarehouseStock {
  readonly warehouse: Warehouse;
  readonly quantity: number;
}

const PRODUCT_COLUMNS = `id, sku, name, weight_grams AS "weightGrams"`;

const PRODUCT_BY_SKU = sql<Product, [sku: string]>(
  'commerce_product_by_sku',
  `SELECT ${PRODUCT_COLUMNS} FROM products WHERE sku = $1`,
);

const PRODUCT_BY_NAME = sql<Product, [pattern: string]>(
  'commerce_product_by_name',
  `SELECT ${PRODUCT_COLUMNS} FROM products WHERE name ILIKE $1 ORDER BY name ASC, id ASC LIMIT 1`,
);

const STOCK_LEVELS = sql<StockLevel, [productId: string]>(
  'commerce_stock_levels',
  `SELECT product_id AS "productId", warehouse_id AS "warehouseId", quantity FROM stock_levels WHERE product_id = $1`,
);

const WAREHOUSES = sql<Warehouse, []>(
  'commerce_warehouses',
  `SELECT id, code, name, postcode FROM warehouses ORDER BY code ASC`,
);

const ORDER_OF_CUSTOMER = sql<Order, [orderNumber: string, customerNumber: string]>(
  'commerce_order_of_customer',
  `SELECT id, order_number AS "orderNumber", customer_number AS "customerNumber", status, placed_at AS "placedAt",
          ship_to_postcode AS "shipToPostcode", tracking_number AS "trackingNumber"
     FROM orders WHERE order_number = $1 AND customer_number = $2`,
);

/** The product catalogue changes by administration, not by turns. */
const CATALOGUE_TTL_MS = 300_000;
/** Stock and order status change outside this service (warehouses, carriers): fresh within this. */
const STOCK_TTL_MS = 15_000;
const ORDER_TTL_MS = 15_000;
const CATALOGUE = 'catalogue';
const catalogueScope = { kind: 'catalogue', id: CATALOGUE };
const productScope = (productId: string) => ({ kind: 'product', id: productId });

/**
 * Products, stock and orders, all read-only here and cached: nothing in this service writes them, so entries end
 * by age (the TTLs above bound how late an outside change shows). Every read may go to a read replica.
 */
@Injectable()
export class CommerceRepository {
  private readonly products;
  private readonly stockLevels;
  private readonly warehouses;
  private readonly orders;

  constructor(
    private readonly pool: DatabasePool,
    cache: ReadThroughCache,
  ) {
    this.products = cache.define<Product | null>('products', { scope: 'catalogue', ttlMs: CATALOGUE_TTL_MS });
    this.warehouses = cache.define<Warehouse[]>('warehouses', { scope: 'catalogue', ttlMs: CATALOGUE_TTL_MS });
    this.stockLevels = cache.define<StockLevel[]>('stock_levels', { scope: 'product', ttlMs: STOCK_TTL_MS });
    this.orders = cache.define<Order | null>('orders', { scope: 'customer', ttlMs: ORDER_TTL_MS });
  }

  /**
   * By SKU, else by name ("wireless headphones"). Cached under the reference as said: upper-casing it for the key
   * would make "straße" and "strasse" one entry (both STRASSE), where ILIKE tells them apart.
   */
  findProduct(reference: string): Promise<Product | null> {
    return this.products.read(CATALOGUE, [reference], () => this.lookUpProduct(reference));
  }

  private async lookUpProduct(reference: string): Promise<Product | null> {
    const routing = lagTolerant(catalogueScope);
    const [bySku] = await this.pool.run(PRODUCT_BY_SKU, [reference.toUpperCase()], undefined, routing);
    if (bySku) return bySku;
    const [byName] = await this.pool.run(PRODUCT_BY_NAME, [containsPattern(reference)], undefined, routing);
    return byName ?? null;
  }

  async stock(productId: string): Promise<WarehouseStock[]> {
    const [levels, warehouses] = await Promise.all([
      this.stockLevels.read(productId, [], () =>
        this.pool.run(STOCK_LEVELS, [productId], undefined, lagTolerant(productScope(productId))),
      ),
      this.warehouses.read(CATALOGUE, [], () => this.pool.run(WAREHOUSES, [], undefined, lagTolerant(catalogueScope))),
    ]);
    return warehouses.map((warehouse) => ({
      warehouse,
      quantity: levels.find((level) => level.warehouseId === warehouse.id)?.quantity ?? 0,
    }));
  }

  /** The order only when it belongs to this customer: another customer's order is "not found". */
  findOrder(orderNumber: string, customerNumber: string): Promise<Order | null> {
    const number = orderNumber.toUpperCase();
    return this.orders.read(customerNumber, [number], async () => {
      const [order] = await this.pool.run(
        ORDER_OF_CUSTOMER,
        [number, customerNumber],
        undefined,
        lagTolerant(customerScope(customerNumber)),
      );
      return order ?? null;
    });
  }

  /** The warehouse holding most of a product (where it would ship from). */
  async shipsFrom(productId: string): Promise<Warehouse | null> {
    const best = (await this.stock(productId)).filter((s) => s.quantity > 0).sort((a, b) => b.quantity - a.quantity)[0];
    return best?.warehouse ?? null;
  }
}
