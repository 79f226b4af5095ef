import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sendGenericTurn } from './support/generic-turns';
import { type PrivateRedis, startPrivateRedis } from './support/redis';
import { freePort, killService, type ServiceProcess, startService } from './support/service-process';
import { createTestDatabase, type TestDatabase } from './support/test-database';
import { generateCertificates } from './support/tls-fixtures';

/**
 * Redis reached over TLS (`rediss://`), its certificate signed by a private CA that NODE_EXTRA_CA_CERTS adds to
 * Node's trusted ones: the cache's shared tier and the rate-limit counters live in it as without TLS. Without the
 * CA the service still answers (Redis is optional: reads go to PostgreSQL) and says why in its log. A real
 * redis-server serving TLS only, with the development CA's certificates.
 */

describe('Redis over TLS (rediss://, a private CA)', () => {
  let certs: string;
  let redis: PrivateRedis;
  let database: TestDatabase;
  let service: ServiceProcess | undefined;

  beforeAll(async () => {
    certs = await mkdtemp(join(tmpdir(), 'wf-redis-tls-'));
    generateCertificates(certs);
    redis = await startPrivateRedis({ tlsCerts: certs });
    database = await createTestDatabase();
  }, 60_000);

  afterAll(async () => {
    if (service) await killService(service);
    await redis?.stop();
    await database?.drop();
    await rm(certs, { recursive: true, force: true });
  });

  async function start(env: Record<string, string>): Promise<string> {
    const port = await freePort();
    service = startService({ DATABASE_URL: database.url, PORT: String(port), LOG_LEVEL: 'info', ...env });
    await service.waitFor(/"msg":"Listening/);
    return `http://127.0.0.1:${port}`;
  }

  const balance = (baseUrl: string, requestId: string) =>
    sendGenericTurn(baseUrl, {
      requestId,
      sessionId: 'redis-tls',
      intent: 'GetAccountBalance',
      parameters: { user_id: '12345', account_type: 'checking' },
    });

  it('keeps the shared cache and the rate-limit counters in Redis over TLS', async () => {
    const baseUrl = await start({ REDIS_URL: redis.url, NODE_EXTRA_CA_CERTS: join(certs, 'ca.crt') });
    const answer = await balance(baseUrl, 'redis-tls-1');
    expect(answer.json()).toMatchObject({ outcome: 'fulfilled', text: expect.stringContaining('$3,247.82') });
    // Per caller, so the limit is shared by every replica: counted in Redis.
    expect(answer.headers['ratelimit-policy']).toBeDefined();
    const admin = redis.client();
    try {
      const keys = await admin.keys('*');
      expect(keys.filter((key) => /^wf:cache:.*:v:/.test(key))).not.toEqual([]);
      expect(keys.filter((key) => !key.startsWith('wf:cache:'))).not.toEqual([]);
    } finally {
      admin.disconnect();
    }
    expect(service?.output()).not.toMatch(/Redis unavailable/);
    await killService(service);
    service = undefined;
  }, 60_000);

  it('without the CA, answers from PostgreSQL and logs why Redis is out of reach', async () => {
    const baseUrl = await start({ REDIS_URL: redis.url });
    const answer = await balance(baseUrl, 'redis-tls-2');
    expect(answer.json()).toMatchObject({ outcome: 'fulfilled', text: expect.stringContaining('$3,247.82') });
    await service?.waitFor(
      /"msg":"Cache: Redis unavailable, reading PostgreSQL: Error: unable to verify the first certificate[^"]* \(Redis's TLS certificate is not trusted: add the CA that signed it with NODE_EXTRA_CA_CERTS\)"/,
      10_000,
    );
  }, 60_000);
});
