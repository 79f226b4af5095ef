import type { EntityManager } from 'typeorm';
import { sql, transactionOfManager } from '../../database/sql';
import { demoId, DemoSeeder } from '../demo-seeder';

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

const NO_PRODUCTS = sql<{ empty: boolean }, []>(
  'commerce_seed_empty',
  `SELECT NOT EXISTS (SELECT 1 FROM products) AS empty`,
);

const INSERT_WAREHOUSE = sql<never, [id: string, code: string, name: string, postcode: string]>(
  'commerce_seed_warehouse',
  `INSERT INTO warehouses (id, code, name, postcode) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING`,
);

const INSERT_PRODUCT = sql<never, [id: string, sku: string, name: string, weightGrams: number]>(
  'commerce_seed_product',
  `INSERT INTO products (id, sku, name, weight_grams) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING`,
);

const INSERT_STOCK_LEVEL = sql<never, [productId: string, warehouseId: string, quantity: number]>(
  'commerce_seed_stock_level',
  `INSERT INTO stock_levels (product_id, warehouse_id, quantity) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING`,
);

const INSERT_ORDER = sql<
  never,
  [
    id: string,
    orderNumber: string,
    customerNumber: string,
    status: string,
    placedAt: Date,
    postcode: string,
    trackingNumber: string | null,
  ]
>(
  'commerce_seed_order',
  `INSERT INTO orders (id, order_number, customer_number, status, placed_at, ship_to_postcode, tracking_number)
   VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING`,
);

/** Two warehouses, three products with per-warehouse stock, and orders of the demo customers. */
export class CommerceDemoSeeder implements DemoSeeder {
  readonly name = 'commerce';

  async isEmpty(manager: EntityManager): Promise<boolean> {
    const [row] = await transactionOfManager(manager).run(NO_PRODUCTS, []);
    return row?.empty === true;
  }

  async seed(manager: EntityManager): Promise<void> {
    // Every row has a derived id: re-seeding inserts nothing twice.
    const tx = transactionOfManager(manager);
    for (const w of WAREHOUSES)
      await tx.run(INSERT_WAREHOUSE, [demoId(`warehouse:${w.code}`), w.code, w.name, w.postcode]);
    for (const p of PRODUCTS) {
      const productId = demoId(`product:${p.sku}`);
      await tx.run(INSERT_PRODUCT, [productId, p.sku, p.name, p.weightGrams]);
      for (const [code, quantity] of Object.entries(p.stock)) {
        await tx.run(INSERT_STOCK_LEVEL, [productId, demoId(`warehouse:${code}`), quantity]);
      }
    }
    const placed = new Date(Date.now() - 3 * 86_400_000);
    for (const o of ORDERS) {
      await tx.run(INSERT_ORDER, [
        demoId(`order:${o.orderNumber}`),
        o.orderNumber,
        o.customerNumber,
        o.status,
        placed,
        o.postcode,
        o.trackingNumber,
      ]);
    }
  }
}
