import 'reflect-metadata';
import { createHash, randomUUID } from 'node:crypto';
import Redis from 'ioredis';
import { SystemClock } from '../../src/common/clock';
import type { AuthAttempt } from '../../src/auth/auth-attempt';
import { CallerRegistry } from '../../src/auth/callers/caller-registry';
import { hashPassword } from '../../src/auth/passwords';
import { BasicBackoff } from '../../src/auth/strategies/basic-backoff';
import { BasicStrategy } from '../../src/auth/strategies/basic.strategy';
import { PasswordCheckBudget } from '../../src/auth/strategies/password-check-budget';
import { loadConfig } from '../../src/config';
import { testRedisUrl } from '../support/redis';

const PASSWORD = 'correct horse battery staple';

/** Basic-auth backoff counted in a real Redis: only wrong passwords count, on one replica or several. */
describe('BasicBackoff in Redis (real Redis, real scrypt)', () => {
  let redis: Redis;
  let hash: string;
  const replicas: BasicBackoff[] = [];

  beforeAll(async () => {
    redis = new Redis(testRedisUrl());
    hash = await hashPassword(PASSWORD);
  });

  afterAll(async () => {
    await Promise.all(replicas.map((replica) => replica.onApplicationShutdown()));
    redis.disconnect();
  });

  /** A replica's BasicStrategy for `username` (limit 3), once its Redis connection is ready. */
  async function replica(username: string): Promise<BasicStrategy> {
    const registry = new CallerRegistry(
      [{ id: 'legacy-bot', platforms: ['generic'], auth: { basic: { username, passwordHashes: [hash] } } }],
      '/etc/callers.yaml',
    );
    const config = loadConfig({ BASIC_AUTH_MAX_FAILURES: '3', REDIS_URL: testRedisUrl() }, '/srv');
    const backoff = new BasicBackoff(config, new SystemClock());
    replicas.push(backoff);
    const connection = backoff['redis'];
    if (!connection) throw new Error('no Redis connection: REDIS_URL was not taken');
    if (connection.status !== 'ready') await new Promise((resolve) => connection.once('ready', resolve));
    return new BasicStrategy(registry, config, backoff, new PasswordCheckBudget(config));
  }

  const attempt = (credentials: string) =>
    ({
      headers: { authorization: `Basic ${Buffer.from(credentials).toString('base64')}` },
      rawBody: Buffer.alloc(0),
      connection: { encrypted: true, clientCertificateVerified: false },
      local: false,
      nowSeconds: 0,
    }) as AuthAttempt;
  const reasons = (outcomes: { ok: boolean; reason?: string }[]) =>
    outcomes.map((outcome) => (outcome.ok ? 'ok' : outcome.reason));
  /** The username's failure count as Redis holds it (the key names the username by its digest only). */
  const failuresKey = (username: string) =>
    `wf:basic-failures:{${createHash('sha256').update(username, 'utf8').digest('base64url')}}`;
  const failuresIn = (username: string) => redis.get(failuresKey(username));

  it('lets 5 right passwords arriving together through with a limit of 3, and counts none of them', async () => {
    const username = `legacy-${randomUUID()}`;
    const basic = await replica(username);
    const outcomes = await Promise.all(
      Array.from({ length: 5 }, () => basic.authenticate(attempt(`${username}:${PASSWORD}`))),
    );
    // Before, every attempt took a failure in Redis before its check: two of the five were refused.
    expect(reasons(outcomes)).toEqual(['ok', 'ok', 'ok', 'ok', 'ok']);
    expect(await failuresIn(username)).toBeNull();
  });

  it('checks no more than 3 of 12 wrong passwords arriving together at two replicas, and keeps the window', async () => {
    const username = `legacy-${randomUUID()}`;
    const [a, b] = [await replica(username), await replica(username)];
    const outcomes = await Promise.all(
      Array.from({ length: 12 }, (_, i) => (i % 2 ? a : b).authenticate(attempt(`${username}:nope`))),
    );
    expect(reasons(outcomes).filter((reason) => reason === 'bad-password')).toHaveLength(3);
    expect(reasons(outcomes).filter((reason) => reason === 'too-many-failures')).toHaveLength(9);
    expect(await failuresIn(username)).toBe('3');
    // The right password is refused now, at either replica, for the window (300 s from the first failure).
    expect(reasons([await a.authenticate(attempt(`${username}:${PASSWORD}`))])).toEqual(['too-many-failures']);
    expect(reasons([await b.authenticate(attempt(`${username}:${PASSWORD}`))])).toEqual(['too-many-failures']);
    const ttl = await redis.pttl(failuresKey(username));
    expect(ttl).toBeLessThanOrEqual(300_000);
    expect(ttl).toBeGreaterThan(290_000);
  });

  it('lets right passwords through at two replicas while wrong ones use up the limit beside them', async () => {
    const username = `legacy-${randomUUID()}`;
    const [a, b] = [await replica(username), await replica(username)];
    // Two wrong first (one short of the limit), then right ones at both replicas: one is checked at a time (a wrong
    // one in their place would use up the limit), the others wait for it and are let in as each passes.
    for (const basic of [a, b]) await basic.authenticate(attempt(`${username}:nope`));
    const outcomes = await Promise.all(
      Array.from({ length: 3 }, (_, i) => (i % 2 ? a : b).authenticate(attempt(`${username}:${PASSWORD}`))),
    );
    expect(reasons(outcomes)).toEqual(['ok', 'ok', 'ok']);
    expect(await failuresIn(username)).toBe('2');
  });
});
