import { ReadThroughCache } from '../../src/cache/read-through-cache';
import { DatabasePool } from '../../src/database/database-pool';
import { PgPools } from '../../src/database/pg-pools';
import { CommerceRepository } from '../../src/intents/commerce/commerce.repository';
import { testPool } from './support/test-pool';
import { mediumDatabase, type MediumDatabase } from './support/medium-database';

describe('commerce repository on PostgreSQL (no Nest)', () => {
  let db: MediumDatabase;
  let pg: ReturnType<typeof testPool>;
  beforeEach(async () => {
    db = await mediumDatabase();
    pg = testPool({ connectionString: db.database.url, max: 2 });
  });
  afterEach(async () => {
    await pg.end();
    await db.close();
  });

  it('caches a product look-up under the reference as said: two names that upper-case alike stay two answers', async () => {
    await db.query(
      `INSERT INTO products (sku, name, weight_grams) VALUES ('MAP-1', 'Straßenkarte Bayern', 120),
         ('MAP-2', 'Strasse und Weg (Atlas)', 900)`,
    );
    const cache = ReadThroughCache.of({ enabled: true, localMaxEntries: 1000, localTtlMs: 60_000, maxTtlMs: 60_000 });
    const products = new CommerceRepository(new DatabasePool(PgPools.of(pg)), cache);
    // "straße".toUpperCase() and "strasse".toUpperCase() are both STRASSE; ILIKE finds different products.
    expect((await products.findProduct('straße'))?.sku).toBe('MAP-1');
    expect((await products.findProduct('strasse'))?.sku).toBe('MAP-2');
    expect((await products.findProduct('STRASSE'))?.sku).toBe('MAP-2');
  });
});
