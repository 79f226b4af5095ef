import type { EntityManager } from 'typeorm';
import { demoId, DemoSeeder } from '../demo-seeder';
import { Order } from './entities/order.entity';
import { Product } from './entities/product.entity';
import { StockLevel } from './entities/stock-level.entity';
import { Warehouse } from './entities/warehouse.entity';

const WAREHOUSES = [
  { code: 'BER', name: 'Berlin warehouse', postcode: '10115' },
  { code: 'NYC', name: 'New Jersey warehouse', postcode: '07001' },
];

const PRODUCTS = [
  { sku: 'X200', name: 'X200 Wireless Headphones', weightGrams: 450, stock: { BER: 12, NYC: 30 } },
  { sku: 'K7', name: 'K7 Mechanical Keyboard', weightGrams: 1200, stock: { BER: 0, NYC: 4 } },
  { sku: 'M1', name: 'M1 Travel Mouse', weightGrams: 90, stock: { BER: 0, NYC: 0 } },
];

const ORDERS = [
  {
    orderNumber: 'ORD-10042',
    customerNumber: '12345',
    status: 'shipped',
    trackingNumber: 'DP123456789',
    postcode: '10117',
  },
  { orderNumber: 'ORD-10043', customerNumber: '12345', status: 'processing', trackingNumber: null, postcode: '10117' },
  {
    orderNumber: 'ORD-20001',
    customerNumber: '67890',
    status: 'delivered',
    trackingNumber: 'DP987654321',
    postcode: '80331',
  },
] as const;

/** Two warehouses, three products with per-warehouse stock, and orders of the demo customers. */
export class CommerceDemoSeeder implements DemoSeeder {
  readonly name = 'commerce';

  async isEmpty(manager: EntityManager): Promise<boolean> {
    return (await manager.getRepository(Product).count()) === 0;
  }

  async seed(manager: EntityManager): Promise<void> {
    // Every row has a derived id: re-seeding inserts nothing twice.
    const insert = (entity: typeof Warehouse | typeof Product | typeof StockLevel | typeof Order, values: object[]) =>
      manager.createQueryBuilder().insert().into(entity).values(values).orIgnore().execute();
    await insert(
      Warehouse,
      WAREHOUSES.map((w) => ({ id: demoId(`warehouse:${w.code}`), ...w })),
    );
    await insert(
      Product,
      PRODUCTS.map(({ stock: _stock, ...p }) => ({ id: demoId(`product:${p.sku}`), ...p })),
    );
    await insert(
      StockLevel,
      PRODUCTS.flatMap((p) =>
        Object.entries(p.stock).map(([code, quantity]) => ({
          productId: demoId(`product:${p.sku}`),
          warehouseId: demoId(`warehouse:${code}`),
          quantity,
        })),
      ),
    );
    const placed = Date.now() - 3 * 86_400_000;
    await insert(
      Order,
      ORDERS.map((o) => ({
        id: demoId(`order:${o.orderNumber}`),
        orderNumber: o.orderNumber,
        customerNumber: o.customerNumber,
        status: o.status,
        trackingNumber: o.trackingNumber,
        shipToPostcode: o.postcode,
        placedAt: new Date(placed),
      })),
    );
  }
}
