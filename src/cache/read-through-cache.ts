import { Injectable, Logger, OnApplicationShutdown, Optional } from '@nestjs/common';
import { context, ROOT_CONTEXT } from '@opentelemetry/api';
import { createHash, randomUUID } from 'node:crypto';
import { AppConfig, type CacheConfig } from '../config';
import { Metrics } from '../observability/metrics';
import { answeredWithin } from '../common/answered-within';
import { type CacheScope, entryKey, type KeyPart, scopeKey } from './cache-keys';
import { InvalidationOutbox } from './invalidation-outbox';
import { type EvictionReason, LocalTier } from './local-tier';
import { Peers, PRESENCE_INTERVAL_MS } from './peers';
import { SharedTier } from './shared-tier';
import { UNKNOWN_POSITION } from '../common/write-position';

export { PEER_QUIET_MS, PEERS_FORGOTTEN_MS, PRESENCE_INTERVAL_MS } from './peers';

/**
 * A second way to tell the other replicas about a write: PostgreSQL LISTEN/NOTIFY, wired by the composition root
 * (the cache may not import the database). Used when there is no Redis, or when Redis did not take a write's
 * invalidation.
 */
export interface InvalidationChannel {
  publish(message: string): Promise<void>;
  /** Publishes the messages in their order, in one go; all or none are taken. */
  publishAll?(messages: readonly string[]): Promise<void>;
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
   * invalidation sent before has then arrived. When they cannot, or another replica has gone quiet (it may hold an
   * invalidation it could not send), no entry is used, nor a load begun before, and the load reads the scope from
   * the primary (its last write's position may have been missed too).
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
  /** With `h`: it is shutting down, with no invalidation left unsent; the others stop waiting for it. */
  readonly l?: 1;
  /** Drop everything: stands for more invalidations than one replica holds (see `InvalidationOutbox`). */
  readonly c?: 1;
}

/** How long a replica shutting down waits for its goodbye to be taken. */
const GOODBYE_TIMEOUT_MS = 500;

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
  private outbox?: InvalidationOutbox;
  private readonly origin = randomUUID();
  private readonly regions = new Map<string, CacheRegion<unknown>>();
  private readonly counts = new Map<string, Counts>();
  private readonly flights = new Map<string, { promise: Promise<unknown>; signal?: AbortSignal }>();
  private readonly recordPropagation?: (seconds: number) => void;
  private remoteWrites?: (scopeKeys: readonly string[], position: string) => void;
  private readonly heard = new RoundTrips(() => this.everythingHeard());
  private readonly peers = new Peers();
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
    this.outbox = new InvalidationOutbox(
      (messages) => (channel.publishAll ? channel.publishAll(messages) : publishInTurn(channel, messages)),
      () => JSON.stringify({ o: this.origin, s: [], t: Date.now(), c: 1 } satisfies InvalidationMessage),
    );
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
    const { trusted, sharedTrusted } = region.definition.exactAcrossReplicas
      ? await this.whatToTrust()
      : { trusted: true, sharedTrusted: true };
    // Or not: the scope reads from the primary, as after a write of unknown position.
    if (!trusted) this.remoteWrites?.([scope], UNKNOWN_POSITION);
    if (!this.settings.enabled) return load(signal);
    // What this replica holds of the scope, or is loading since before, may be from before that write.
    if (!trusted) this.local.invalidate(scope);
    const counts = this.counts.get(region.name) as Counts;
    const key = entryKey(region.name, scopeId, parts);
    const cached = this.local.get(key, scope);
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
    const promise = this.fill(region, counts, key, scope, epoch, load, signal, sharedTrusted);
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
        this.outbox?.said();
        return;
      } catch (error: unknown) {
        this.shared.warn(error);
      }
    }
    // No Redis, or it did not take the write: tell the replicas through PostgreSQL (sent again until it is taken).
    // Each one with Redis then gives up every entry there until it has moved the epoch on (as this one does), so
    // none reads the old entry.
    await this.outbox?.send(message);
  }

  async onApplicationShutdown(): Promise<void> {
    clearInterval(this.presence);
    this.outbox?.close();
    await this.sayGoodbye();
    await this.shared?.close();
  }

  /**
   * Every invalidation sent before now has reached this replica, and no other replica has gone quiet (it may hold
   * one it could not send: neither tier may have heard of that write). Nothing to wait for when no other replica is
   * there to send one.
   */
  private async whatToTrust(): Promise<{ trusted: boolean; sharedTrusted: boolean }> {
    this.forgetGonePeers();
    const heard = !this.mayHavePeers() || (await this.heard.next());
    const quiet = this.peers.quiet();
    return { trusted: heard && !quiet, sharedTrusted: !quiet };
  }

  /**
   * Whether another replica may have sent an invalidation this one has not heard yet (see `Peers.mayBeThere`).
   * Without any channel there is nobody to hear.
   */
  private mayHavePeers(): boolean {
    if (!this.shared && !this.fallback) return false;
    // Nothing can be heard while a listening connection is down: not even that another replica started.
    if ((this.shared && !this.shared.listening) || (this.fallback && !this.fallback.listening())) return true;
    return this.peers.mayBeThere();
  }

  /**
   * A replica gone without saying so may have taken an invalidation it could not send with it, and this one
   * trusted entries it changed until it found that replica quiet: they all go (Redis's too, for a write Redis
   * refused).
   */
  private forgetGonePeers(): void {
    if (!this.peers.forgetGone()) return;
    this.dropEverything();
    this.logger.log('Cache: a replica went quiet without leaving; in-process entries dropped');
  }

  private dropEverything(): void {
    this.local.clear();
    this.shared?.distrust();
  }

  private sayPresent(): void {
    if (this.presence) return;
    this.presence = setInterval(() => this.announce(), PRESENCE_INTERVAL_MS);
    this.presence.unref();
  }

  private announce(): void {
    this.forgetGonePeers();
    // While an invalidation is held, the others must find this replica quiet, not hear that it is there.
    if (this.outbox?.holding) return;
    this.sayToAll({ o: this.origin, s: [], t: Date.now(), h: 1 }).catch(() => undefined);
  }

  /** The others stop waiting for this replica, unless it leaves invalidations unsent (they then drop everything). */
  private async sayGoodbye(): Promise<void> {
    if (!this.presence || this.outbox?.holding) return;
    const goodbye = this.sayToAll({ o: this.origin, s: [], t: Date.now(), h: 1, l: 1 });
    await answeredWithin(goodbye, GOODBYE_TIMEOUT_MS);
  }

  /** Resolves once any channel took `message`. */
  private sayToAll(message: InvalidationMessage): Promise<void> {
    const text = JSON.stringify(message);
    const taken = [this.shared?.announce(text), this.fallback?.publish(text)]
      .filter((sending): sending is Promise<void> => sending !== undefined)
      .map((sending) => sending.then(() => this.outbox?.said()));
    return Promise.any(taken).then(() => undefined);
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
    signal: AbortSignal | undefined,
    sharedTrusted: boolean,
  ): Promise<unknown> {
    const { ttlMs } = region.definition;
    let stamp: { generation: string; epoch: string } | undefined;
    if (sharedTrusted && this.shared?.available) {
      try {
        const read = await this.shared.read(key, scope);
        const stored = SharedTier.decode(read);
        if (stored) {
          counts.hitsShared++;
          // Never longer than the entry has left in Redis: its TTL (and CACHE_MAX_TTL_MS) runs from its load.
          const leftMs = Math.min(ttlMs, read.remainingMs ?? ttlMs);
          if (leftMs > 0) this.local.set(key, region.name, scope, epoch, deepFreeze(stored.value), leftMs);
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
    if (typeof message.o !== 'string' || message.o === this.origin || !Array.isArray(message.s)) return;
    if (message.l === 1) return this.peers.left(message.o);
    this.peers.heard(message.o);
    if (message.h === 1) return;
    if (message.c === 1) return this.dropEverything();
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
    this.peers.listening();
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

/** One message after another, for a channel that cannot take several in one go. */
async function publishInTurn(channel: InvalidationChannel, messages: readonly string[]): Promise<void> {
  for (const message of messages) await channel.publish(message);
}
