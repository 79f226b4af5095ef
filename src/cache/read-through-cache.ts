import { Injectable, Logger, OnApplicationShutdown, Optional } from '@nestjs/common';
import { context, ROOT_CONTEXT } from '@opentelemetry/api';
import { createHash, randomUUID } from 'node:crypto';
import { AppConfig, type CacheConfig } from '../config';
import { Metrics } from '../observability/metrics';
import { type CacheScope, entryKey, type KeyPart, scopeKey } from './cache-keys';
import { type EvictionReason, LocalTier } from './local-tier';
import { SharedTier } from './shared-tier';
import { UNKNOWN_POSITION } from '../common/write-position';

/**
 * A second way to tell the other replicas about a write: PostgreSQL LISTEN/NOTIFY, wired by the composition root
 * (the cache may not import the database). Used when there is no Redis, or when Redis did not take a write's
 * invalidation.
 */
export interface InvalidationChannel {
  publish(message: string): Promise<void>;
  /** `onListening`: the subscription took effect, at first or after a gap; earlier messages may have been missed. */
  subscribe(onMessage: (message: string) => void, onListening: (afterGap: boolean) => void): void;
  /** Whether every message published before the call has reached this replica's listener. */
  caughtUp(): Promise<boolean>;
  /** Whether the listening connection is up now. */
  listening(): boolean;
}

export interface CacheDefinition {
  /** The kind of scope every entry belongs to (`customer`, `provider`, `product`); writes invalidate scopes. */
  readonly scope: string;
  /** How long an entry may live (capped by CACHE_MAX_TTL_MS, and in process by CACHE_LOCAL_TTL_MS). */
  readonly ttlMs: number;
  /**
   * A read sees every write committed on any service replica before it began (a balance after a transfer, whichever
   * pod the next turn lands on). An invalidation travels to the other replicas on its own, so before an in-process
   * entry is used, the replica's listening connections make a round trip (one for all the reads waiting): every
   * invalidation sent before has then arrived. When they cannot, the entry is not used, and the load reads the
   * scope from the primary (its last write's position may have been missed too).
   */
  readonly exactAcrossReplicas?: boolean;
}

interface Counts {
  hitsLocal: number;
  hitsShared: number;
  misses: number;
  loads: number;
  loadErrors: number;
  evictedSize: number;
  evictedExpired: number;
  invalidatedLocal: number;
  invalidatedRemote: number;
}

interface InvalidationMessage {
  /** The replica that made the write (it has already invalidated its own tier). */
  readonly o: string;
  /** Scope keys. */
  readonly s: readonly string[];
  /** When the write was committed (ms since the epoch), for the propagation-delay histogram. */
  readonly t: number;
  /** Where the write stands in the primary's WAL, when read replicas are in use (read-your-writes). */
  readonly p?: string;
  /** A replica saying it is there, with no write: `s` is then empty. */
  readonly h?: 1;
}

/** How often a replica says it is there, on every channel it listens to (`InvalidationMessage.h`). */
export const PRESENCE_INTERVAL_MS = 1000;
/**
 * A replica that has listened this long and heard no other is alone: nobody else's invalidation can be on its way,
 * and an exact read needs no round trip. Also how long after the last word from another one it stops waiting.
 */
export const PEERS_FORGOTTEN_MS = 3500;

const PROPAGATION_BUCKETS_SECONDS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1];

/** One cache: its reads go through `read`, with its scope and its own key parts. */
export class CacheRegion<Value> {
  constructor(
    private readonly owner: ReadThroughCache,
    readonly name: string,
    readonly definition: CacheDefinition,
  ) {}

  /**
   * The cached value of this read, or `load`'s (called at most once at a time per key and scope version in this
   * process). `signal` is the caller's: it is handed to the load this caller starts, and a caller that joined
   * another's load which that caller's abort ended loads again for itself.
   */
  read(
    scopeId: string,
    parts: readonly KeyPart[],
    load: (signal?: AbortSignal) => Promise<Value>,
    signal?: AbortSignal,
  ): Promise<Value> {
    return this.owner.read(this, scopeId, parts, load, signal) as Promise<Value>;
  }
}

/**
 * The read-through cache repositories declare their hot reads with (`cache.define`): an in-process LRU, and Redis
 * shared by every replica when REDIS_URL is set. Keys always hold the scope (customer, provider…), concurrent
 * misses for one key load once, a committed write invalidates its scopes in every replica (`invalidate`, after
 * commit), and a Redis outage falls back to PostgreSQL, with in-process entries stale for at most
 * CACHE_LOCAL_TTL_MS when no notification can reach this replica.
 */
@Injectable()
export class ReadThroughCache implements OnApplicationShutdown {
  private readonly logger = new Logger('Cache');
  private readonly settings: CacheConfig;
  private readonly local: LocalTier;
  private readonly shared?: SharedTier;
  private fallback?: InvalidationChannel;
  private readonly origin = randomUUID();
  private readonly regions = new Map<string, CacheRegion<unknown>>();
  private readonly counts = new Map<string, Counts>();
  private readonly flights = new Map<string, { promise: Promise<unknown>; signal?: AbortSignal }>();
  private readonly recordPropagation?: (seconds: number) => void;
  private remoteWrites?: (scopeKeys: readonly string[], position: string) => void;
  private readonly heard = new RoundTrips(() => this.everythingHeard());
  /** When another replica was last heard from (any message), and since when this one has listened without a gap. */
  private peerHeardAt = Number.NEGATIVE_INFINITY;
  private listeningSince?: number;
  private presence?: NodeJS.Timeout;

  constructor(config: AppConfig, @Optional() metrics?: Metrics) {
    this.settings = config.cache;
    this.local = new LocalTier(this.settings.localMaxEntries, this.settings.localTtlMs, (cache, reason) =>
      this.countEviction(cache, reason),
    );
    if (this.settings.enabled && config.redisUrl) {
      this.shared = new SharedTier(
        config.redisUrl,
        this.settings.namespace ?? namespaceOf(config.database?.url),
        this.settings.maxTtlMs,
        (message) => this.received(message, 'redis'),
        (afterGap) => this.resync('Redis', afterGap),
        config.redisTopology,
      );
      this.sayPresent();
    }
    if (metrics) this.registerMetrics(metrics);
    const observe = metrics?.histogram(
      'cache_invalidation_propagation_seconds',
      "From a write's commit on one replica to its invalidation reaching this one",
      PROPAGATION_BUCKETS_SECONDS,
    );
    this.recordPropagation = observe && ((seconds) => observe(seconds));
  }

  /** A cache outside Nest (command-line tools, the medium tests): in process, or with Redis when given. */
  static of(settings: CacheConfig, redisUrl?: string): ReadThroughCache {
    return new ReadThroughCache(
      Object.assign(Object.create(AppConfig.prototype) as AppConfig, { cache: settings, redisUrl }),
    );
  }

  get enabled(): boolean {
    return this.settings.enabled;
  }

  /** Declares a cache; names are unique (they label the metrics). */
  define<Value>(name: string, definition: CacheDefinition): CacheRegion<Value> {
    if (this.regions.has(name)) throw new Error(`cache "${name}" is defined twice`);
    const region = new CacheRegion<Value>(this, name, {
      ...definition,
      ttlMs: Math.min(definition.ttlMs, this.settings.maxTtlMs),
    });
    this.regions.set(name, region);
    this.counts.set(name, {
      hitsLocal: 0,
      hitsShared: 0,
      misses: 0,
      loads: 0,
      loadErrors: 0,
      evictedSize: 0,
      evictedExpired: 0,
      invalidatedLocal: 0,
      invalidatedRemote: 0,
    });
    return region;
  }

  /**
   * Told of every write another service replica made, with its WAL position (`invalidate`'s `writtenAt`), before
   * the scope's entries are dropped here: the database routes the reload to the primary, or to a read replica that
   * has replayed the write. Wired by the composition root.
   */
  onRemoteWrite(listener: (scopeKeys: readonly string[], position: string) => void): void {
    this.remoteWrites = listener;
  }

  /**
   * The composition root hands the PostgreSQL notification channel over here. With the cache off it is used only
   * when it must carry writes' WAL positions to the other replicas (`carriesWritePositions`: read replicas in use).
   */
  useFallbackChannel(channel: InvalidationChannel, options: { carriesWritePositions?: boolean } = {}): void {
    if (!this.settings.enabled && !options.carriesWritePositions) return;
    this.fallback = channel;
    this.sayPresent();
    channel.subscribe(
      (message) => this.received(message, 'postgres'),
      (afterGap) => this.resync('PostgreSQL', afterGap),
    );
  }

  async read(
    region: CacheRegion<unknown>,
    scopeId: string,
    parts: readonly KeyPart[],
    load: (signal?: AbortSignal) => Promise<unknown>,
    signal?: AbortSignal,
  ): Promise<unknown> {
    const scope = scopeKey({ kind: region.definition.scope, id: scopeId });
    const exact = region.definition.exactAcrossReplicas === true;
    // Every write position sent before has arrived (the load is routed by them), and every invalidation; nothing
    // to wait for when no other replica is there to send one.
    const trusted = !exact || !this.mayHavePeers() || (await this.heard.next());
    // Or not: the scope reads from the primary, as after a write of unknown position.
    if (!trusted) this.remoteWrites?.([scope], UNKNOWN_POSITION);
    if (!this.settings.enabled) return load(signal);
    const counts = this.counts.get(region.name) as Counts;
    const key = entryKey(region.name, scopeId, parts);
    const cached = trusted ? this.local.get(key, scope) : undefined;
    if (cached) {
      counts.hitsLocal++;
      return cached.value;
    }
    const epoch = this.local.epochOf(scope);
    const flightKey = `${epoch}:${key}`;
    const flight = this.flights.get(flightKey);
    if (flight) {
      try {
        return await flight.promise;
      } catch (error: unknown) {
        // The load ended with its caller's abort; this caller still wants the value.
        if (flight.signal?.aborted && !signal?.aborted) return this.read(region, scopeId, parts, load, signal);
        throw error;
      }
    }
    const promise = this.fill(region, counts, key, scope, epoch, load, signal);
    this.flights.set(flightKey, { promise, signal });
    try {
      return await promise;
    } finally {
      this.flights.delete(flightKey);
    }
  }

  /**
   * Invalidates the scopes a committed write changed, here and in every replica. Call it after the commit, never
   * before (a read between the two would cache the old row again), and await it before answering. `writtenAt`:
   * the write's WAL position, passed on to the other replicas (see `onRemoteWrite`).
   */
  async invalidate(scopes: readonly CacheScope[], writtenAt?: string): Promise<void> {
    if (scopes.length === 0) return;
    if (!this.settings.enabled && writtenAt === undefined) return;
    const keys = scopes.map(scopeKey);
    for (const key of keys) this.local.invalidate(key);
    this.countInvalidations(scopes, 'invalidatedLocal');
    const message = JSON.stringify({
      o: this.origin,
      s: keys,
      t: Date.now(),
      ...(writtenAt !== undefined && { p: writtenAt }),
    } satisfies InvalidationMessage);
    if (this.shared) {
      try {
        await this.shared.invalidate(keys, message, writtenAt);
        return;
      } catch (error: unknown) {
        this.shared.warn(error);
      }
    }
    // No Redis, or it did not take the write: tell the replicas through PostgreSQL. Each one with Redis then gives
    // up every entry there until it has moved the epoch on (as this one does), so none reads the old entry.
    await this.fallback?.publish(message).catch((error: unknown) => {
      this.logger.error(`Cache: could not notify the other replicas of a write: ${String(error)}`);
    });
  }

  async onApplicationShutdown(): Promise<void> {
    clearInterval(this.presence);
    await this.shared?.close();
  }

  /**
   * Whether another replica may have sent an invalidation this one has not heard yet: one was heard from lately, or
   * this one has not listened long enough to know (a replica says it is there as soon as it listens, and every
   * PRESENCE_INTERVAL_MS). Without any channel there is nobody to hear.
   */
  private mayHavePeers(): boolean {
    if (!this.shared && !this.fallback) return false;
    // Nothing can be heard while a listening connection is down: not even that another replica started.
    if ((this.shared && !this.shared.listening) || (this.fallback && !this.fallback.listening())) return true;
    const now = Date.now();
    if (this.listeningSince === undefined || now - this.listeningSince < PEERS_FORGOTTEN_MS) return true;
    return now - this.peerHeardAt < PEERS_FORGOTTEN_MS;
  }

  private sayPresent(): void {
    if (this.presence) return;
    this.presence = setInterval(() => this.announce(), PRESENCE_INTERVAL_MS);
    this.presence.unref();
  }

  private announce(): void {
    const message = JSON.stringify({ o: this.origin, s: [], t: Date.now(), h: 1 } satisfies InvalidationMessage);
    this.shared?.announce(message);
    this.fallback?.publish(message).catch(() => undefined);
  }

  /** Whether every invalidation sent before now has reached this replica, on each way one can come. */
  private async everythingHeard(): Promise<boolean> {
    const [redis, postgres] = await Promise.all([
      this.shared ? this.shared.caughtUp() : true,
      this.fallback ? this.fallback.caughtUp() : true,
    ]);
    return redis && postgres;
  }

  private async fill(
    region: CacheRegion<unknown>,
    counts: Counts,
    key: string,
    scope: string,
    epoch: number,
    load: (signal?: AbortSignal) => Promise<unknown>,
    signal?: AbortSignal,
  ): Promise<unknown> {
    const { ttlMs } = region.definition;
    let stamp: { generation: string; epoch: string } | undefined;
    if (this.shared?.available) {
      try {
        const read = await this.shared.read(key, scope);
        const stored = SharedTier.decode(read);
        if (stored) {
          counts.hitsShared++;
          this.local.set(key, region.name, scope, epoch, deepFreeze(stored.value), ttlMs);
          return stored.value;
        }
        // The scope's last write, which this replica may not have heard of yet (its message still on its way, while
        // its generation is already here): the load must see it, or the entry stored under the new generation would
        // hold what a lagging read replica had before the write.
        const current =
          read.generation === undefined
            ? await this.shared.generation(scope)
            : { generation: read.generation, writtenAt: read.writtenAt };
        if (current.writtenAt !== undefined) this.remoteWrites?.([scope], current.writtenAt);
        stamp = { generation: current.generation, epoch: read.epoch };
      } catch (error: unknown) {
        this.shared.warn(error);
      }
    }
    counts.misses++;
    counts.loads++;
    let value: unknown;
    try {
      value = deepFreeze(await load(signal));
    } catch (error: unknown) {
      counts.loadErrors++;
      throw error;
    }
    this.local.set(key, region.name, scope, epoch, value, ttlMs);
    if (stamp) this.shared?.write(key, stamp, value, ttlMs);
    return value;
  }

  private received(text: string, via: 'redis' | 'postgres'): void {
    let message: InvalidationMessage;
    try {
      message = JSON.parse(text) as InvalidationMessage;
    } catch {
      return;
    }
    if (message.o === this.origin || !Array.isArray(message.s)) return;
    this.peerHeardAt = Date.now();
    if (message.h === 1) return;
    const keys = message.s.filter((key): key is string => typeof key === 'string');
    if (typeof message.p === 'string') this.remoteWrites?.(keys, message.p);
    for (const key of keys) this.local.invalidate(key);
    this.countInvalidations(keys.map(kindOfScopeKey), 'invalidatedRemote');
    if (typeof message.t === 'number') this.recordPropagation?.(Math.max(0, Date.now() - message.t) / 1000);
    // The writer could not bump the scopes' generations in Redis, so their entries there still look current: Redis
    // is given up here at once (no read of it may begin before), until its epoch has moved on.
    if (via === 'postgres') this.shared?.distrust();
  }

  /**
   * The notifications of `source` reach this replica (again): whatever was cached before may have missed one,
   * also at the very first subscription (a read between start and LISTEN/SUBSCRIBE).
   */
  private resync(source: string, afterGap: boolean): void {
    this.local.clear();
    // A write whose invalidation Redis refused reached the replicas only through PostgreSQL: if this one missed it,
    // the scope's entries in Redis are still current.
    if (source === 'PostgreSQL') this.shared?.distrust();
    // What was said while not listening went unheard: who is there is known again only after a while.
    this.listeningSince = Date.now();
    this.announce();
    if (afterGap) {
      this.logger.log(
        `Cache: ${source} notifications are back; in-process entries dropped (some may have been missed)`,
      );
    }
  }

  private countInvalidations(scopes: readonly Pick<CacheScope, 'kind'>[], field: keyof Counts): void {
    for (const region of this.regions.values()) {
      const hits = scopes.filter((scope) => scope.kind === region.definition.scope).length;
      if (hits > 0) (this.counts.get(region.name) as Counts)[field] += hits;
    }
  }

  private countEviction(cache: string, reason: EvictionReason): void {
    const counts = this.counts.get(cache);
    if (counts) counts[reason === 'size' ? 'evictedSize' : 'evictedExpired']++;
  }

  private registerMetrics(metrics: Metrics): void {
    const each = (observe: (value: number, attributes: Record<string, string>) => void, pick: (c: Counts) => number) =>
      this.counts.forEach((counts, cache) => observe(pick(counts), { cache }));
    metrics.cumulative('cache_hits_total', 'Reads answered by the cache, by cache and tier', (observe) => {
      this.counts.forEach((counts, cache) => {
        observe(counts.hitsLocal, { cache, tier: 'local' });
        observe(counts.hitsShared, { cache, tier: 'shared' });
      });
    });
    metrics.cumulative('cache_misses_total', 'Reads the cache could not answer, by cache', (observe) =>
      each(observe, (c) => c.misses),
    );
    metrics.cumulative(
      'cache_loads_total',
      'Loads from the database after a miss (one per key however many wait)',
      (o) => {
        this.counts.forEach((counts, cache) => {
          o(counts.loads - counts.loadErrors, { cache, outcome: 'ok' });
          o(counts.loadErrors, { cache, outcome: 'error' });
        });
      },
    );
    metrics.cumulative('cache_evictions_total', 'In-process entries dropped for room or age, by cache', (observe) => {
      this.counts.forEach((counts, cache) => {
        observe(counts.evictedSize, { cache, reason: 'size' });
        observe(counts.evictedExpired, { cache, reason: 'expired' });
      });
    });
    metrics.cumulative('cache_invalidations_total', 'Scopes invalidated by writes, by cache and origin', (observe) => {
      this.counts.forEach((counts, cache) => {
        observe(counts.invalidatedLocal, { cache, origin: 'local' });
        observe(counts.invalidatedRemote, { cache, origin: 'remote' });
      });
    });
    metrics.gauge('cache_local_entries', 'Entries held by the in-process tier', (observe) => observe(this.local.size));
  }
}

/**
 * Round trips shared by the reads that wait for one: a read joins the next round trip to leave, never one already on
 * its way (it may have left before the write the read must see was announced), so under load there is at most one
 * on its way and one waiting.
 */
class RoundTrips {
  private current?: Promise<boolean>;
  private waiting?: Promise<boolean>;

  constructor(private readonly roundTrip: () => Promise<boolean>) {}

  next(): Promise<boolean> {
    const current = this.current;
    if (!current) return this.start();
    this.waiting ??= current.then(() => {
      this.waiting = undefined;
      return this.start();
    });
    return this.waiting;
  }

  private start(): Promise<boolean> {
    // Shared by whichever turns wait for it: it belongs to no one turn's trace.
    const trip: Promise<boolean> = context
      .with(ROOT_CONTEXT, () => this.roundTrip())
      .catch(() => false)
      .finally(() => {
        if (this.current === trip) this.current = undefined;
      });
    this.current = trip;
    return trip;
  }
}

/** The database's identity in its URL (host, port, database, user; never the password). */
function namespaceOf(url: string | undefined): string {
  let identity = 'embedded';
  if (url) {
    const parsed = new URL(url);
    identity = `${parsed.hostname}:${parsed.port || '5432'}${parsed.pathname}:${decodeURIComponent(parsed.username)}`;
  }
  return createHash('sha256').update(identity).digest('hex').slice(0, 16);
}

function kindOfScopeKey(key: string): Pick<CacheScope, 'kind'> {
  try {
    const [kind] = JSON.parse(key) as [unknown];
    return { kind: typeof kind === 'string' ? kind : '' };
  } catch {
    return { kind: '' };
  }
}

/** Cached values are shared by every reader: freezing them makes a handler that edits one fail loudly. */
function deepFreeze<T>(value: T): T {
  if (typeof value !== 'object' || value === null || Object.isFrozen(value) || value instanceof Date) return value;
  for (const child of Object.values(value)) deepFreeze(child);
  return Object.freeze(value);
}
