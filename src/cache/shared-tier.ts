import { Logger } from '@nestjs/common';
import { randomInt } from 'node:crypto';
import type { Cluster } from 'ioredis';
import { type ChannelListener, ServerChannelListener } from '../common/redis/channel-listener';
import { closeRedis } from '../common/redis/close-redis';
import { ClusterSlotListener } from '../common/redis/cluster-slot-listener';
import {
  clusterNodeOptions,
  redisClient,
  type RedisConnection,
  type RedisTopology,
} from '../common/redis/redis-client';
import { redisErrorText } from '../common/redis/redis-error-text';
import { UNKNOWN_POSITION, UNKNOWN_POSITION_TTL_MS } from '../common/write-position';

/** A stalled Redis must not hold a turn: the read goes to PostgreSQL after this long. */
const COMMAND_TIMEOUT_MS = 200;

/**
 * Bumps each scope's generation and tells every replica, in one round trip. A generation lives longer than any
 * entry (ARGV[1]), and one that is missing (expired, or evicted under memory pressure: it has a TTL, so the
 * volatile-* policies may take it) starts again at a random number (ARGV[5]), never where an entry stored before
 * could match it. With a write position (ARGV[4]) the scope's position key keeps the furthest one, for a replica that
 * sees the new generation before the message (see `read`); `unknown` (the writer could not read its position)
 * sends the scope's reads to the primary for a minute and is not replaced meanwhile. In a cluster the message is a
 * sharded one (SPUBLISH, Redis 7), on a channel of the generations' own slot: the node that ran the script hands
 * it to the listening connections before it answers, as a lone server does, where a plain PUBLISH would reach the
 * listeners on other nodes over the cluster bus, possibly after the writer's turn has been answered and another
 * replica asked. KEYS: the generations, then the positions, scope by scope.
 */
const invalidateScript = (publish: 'PUBLISH' | 'SPUBLISH'): string => `
local function lsn(text)
  local high, low = string.match(text or '', '^(%x+)/(%x+)$')
  if not high then return nil end
  return tonumber(high, 16) * 4294967296 + tonumber(low, 16)
end
local scopes = #KEYS / 2
for i = 1, scopes do
  local key = KEYS[i]
  if redis.call('EXISTS', key) == 0 then redis.call('SET', key, ARGV[5]) end
  redis.call('INCR', key)
  redis.call('PEXPIRE', key, ARGV[1])
  local position = KEYS[scopes + i]
  if ARGV[4] == '${UNKNOWN_POSITION}' then
    redis.call('SET', position, ARGV[4], 'PX', ${UNKNOWN_POSITION_TTL_MS})
  elseif ARGV[4] ~= '' then
    local known = redis.call('GET', position)
    if known ~= '${UNKNOWN_POSITION}' then
      local was, now = lsn(known), lsn(ARGV[4])
      if not was or (now and now > was) then redis.call('SET', position, ARGV[4], 'PX', ARGV[1]) end
    end
  end
end
redis.call('${publish}', ARGV[2], ARGV[3])
return scopes`;
const INVALIDATE_SCRIPT = invalidateScript('PUBLISH');
const INVALIDATE_SHARDED_SCRIPT = invalidateScript('SPUBLISH');

/**
 * A scope's generation, created at a random number when it has none (see the invalidation script), and its last
 * write position (a write may have created the generation since the caller's read).
 */
const GENERATION_SCRIPT = `
local generation = redis.call('GET', KEYS[1])
if not generation then
  generation = ARGV[1]
  redis.call('SET', KEYS[1], generation, 'PX', ARGV[2])
end
return { generation, redis.call('GET', KEYS[2]) }`;

/** Where a generation starts: far from any number a missing one had reached. */
const randomGeneration = (): string => String(randomInt(1, 2 ** 47));

/**
 * What the shared tier holds for a key: the scope's generation (none when it has none yet, or lost it) and the
 * tier's epoch now, the entry and how long it has left to live, and the scope's last write position.
 */
export interface SharedRead {
  readonly generation?: string;
  readonly epoch: string;
  readonly json?: string;
  readonly remainingMs?: number;
  readonly writtenAt?: string;
}

interface StoredEntry {
  readonly g: string;
  readonly e: string;
  readonly v: unknown;
}

/**
 * The Redis tier, shared by every replica. An entry carries the generation its scope had when the load began;
 * invalidation increments the generation, so an entry loaded before a write (even one stored after the write,
 * by a slow load) never matches again. Reads and the generation come back in one MGET.
 */
export class SharedTier {
  private readonly logger = new Logger('Cache');
  private readonly client: RedisConnection;
  private readonly listener: ChannelListener;
  private warnedAt = 0;
  /** Counts the calls to `distrust`. */
  private distrusts = 0;
  /** `distrusts` when the epoch last moved on in Redis: entries from before a later call must not be read. */
  private trustedAsOf = 0;
  private bumping = false;
  private readonly valuePrefix: string;
  private readonly generationPrefix: string;
  private readonly positionPrefix: string;
  private readonly epochKey: string;
  private readonly channel: string;
  private readonly sharded: boolean;

  constructor(
    url: string,
    namespace: string,
    private readonly maxTtlMs: number,
    onMessage: (message: string) => void,
    /** The subscription took effect, at first or after a gap (`afterGap`): notifications may have been missed. */
    onListening: (afterGap: boolean) => void,
    topology?: RedisTopology,
  ) {
    // A read's MGET and an invalidation's script name several keys: a cluster must hold them on one node, so there
    // the namespace is a hash tag. Elsewhere the names stay as they were (replicas of an older release share them).
    this.sharded = topology?.cluster === true;
    const base = this.sharded ? `{wf:cache:${namespace}}` : `wf:cache:${namespace}`;
    this.valuePrefix = `${base}:v:`;
    this.generationPrefix = `${base}:g:`;
    this.positionPrefix = `${base}:p:`;
    this.epochKey = `${base}:epoch`;
    this.channel = `${base}:invalidations`;
    const options = { maxRetriesPerRequest: 1, enableOfflineQueue: false, commandTimeout: COMMAND_TIMEOUT_MS };
    this.client = redisClient(url, options, topology);
    this.client.on('error', (error: Error) => this.warn(error));
    // In a cluster, a sharded channel's listener connects to the node that serves the channel's slot.
    this.listener = this.sharded
      ? new ClusterSlotListener(this.client as Cluster, this.channel, clusterNodeOptions(url))
      : new ServerChannelListener(url, this.channel, topology);
    this.listener.on('error', (error) => this.warn(error));
    this.listener.on('message', onMessage);
    // Each connection, the first and every one after a loss (or a failover that moved the channel's slot): a write
    // made meanwhile could not bump its scope's generation here, so every entry stored before is given up. So it is
    // at the first: a write whose invalidation Redis refused before this replica started left its entries current.
    // The listener is told once Redis has confirmed the subscription.
    this.listener.on('connected', () => this.distrust());
    this.listener.on('subscribed', onListening);
  }

  /** Whether the listening connection is up. */
  get listening(): boolean {
    return this.listener.connected;
  }

  /** Whether every invalidation published before the call has reached this replica (see ChannelListener). */
  caughtUp(): Promise<boolean> {
    return this.listener.caughtUp();
  }

  /** Reads and writes go to Redis only while both connections are up (a missed notification is never trusted). */
  get available(): boolean {
    return this.client.status === 'ready' && this.listener.connected && this.trustedAsOf === this.distrusts;
  }

  /**
   * Rejects when Redis was distrusted while the read was on its way: an invalidation sent before it on the same
   * connection failed, so what it read may be stale.
   */
  async read(key: string, scope: string): Promise<SharedRead> {
    const asOf = this.distrusts;
    const valueKey = this.valuePrefix + key;
    const askedAt = performance.now();
    // One round trip (the keys share a slot in a cluster: the namespace is a hash tag there).
    const answers = await this.client
      .pipeline()
      .mget(this.generationPrefix + scope, this.epochKey, valueKey, this.positionPrefix + scope)
      .pttl(valueKey)
      .exec();
    if (asOf !== this.distrusts) throw new Error('its entries were given up while the read was on its way');
    const [[readError, values], [ttlError, pttl]] = answers as [
      [Error | null, (string | null)[]],
      [Error | null, number],
    ];
    if (readError) throw readError;
    const [generation, epoch, json, writtenAt] = values;
    return {
      generation: generation ?? undefined,
      epoch: epoch ?? '0',
      json: json ?? undefined,
      // -1 (no TTL) and -2 (gone meanwhile) say nothing of the entry read. Counted from when it was asked: Redis
      // measured it after that, and the answer may have waited (a held-up event loop) before it was read here.
      remainingMs: !ttlError && pttl >= 0 ? Math.max(0, pttl - (performance.now() - askedAt)) : undefined,
      writtenAt: writtenAt ?? undefined,
    };
  }

  /**
   * The scope's generation, created when it has none (an entry stored under it is current until a write), and its
   * last write position.
   */
  async generation(scope: string): Promise<{ generation: string; writtenAt?: string }> {
    const [generation, writtenAt] = (await this.client.eval(
      GENERATION_SCRIPT,
      2,
      this.generationPrefix + scope,
      this.positionPrefix + scope,
      randomGeneration(),
      2 * this.maxTtlMs,
    )) as [string, string | null];
    return { generation: String(generation), writtenAt: writtenAt ?? undefined };
  }

  /**
   * The value when the stored entry belongs to the scope's current generation and the tier's current epoch. Never
   * without a generation: one lost to eviction must not make entries from before its writes current again.
   */
  static decode(read: SharedRead): { value: unknown } | undefined {
    if (read.json === undefined || read.generation === undefined) return undefined;
    const entry = JSON.parse(read.json, reviveDates) as StoredEntry;
    return entry.g === read.generation && entry.e === read.epoch ? { value: entry.v } : undefined;
  }

  /** Stores without waiting; a value that cannot be written as JSON stays in the local tier only. */
  write(
    key: string,
    read: { readonly generation: string; readonly epoch: string },
    value: unknown,
    ttlMs: number,
  ): void {
    let json: string;
    try {
      json = JSON.stringify({ g: read.generation, e: read.epoch, v: value }, tagDates);
    } catch (error: unknown) {
      return this.warn(error);
    }
    this.client.set(this.valuePrefix + key, json, 'PX', ttlMs).catch((error: unknown) => this.warn(error));
  }

  /**
   * Bumps the scopes' generations and publishes `message` to every replica; rejects when Redis did not answer or
   * refused (a demoted primary takes reads but no writes; a full one refuses writes). The entries of those scopes
   * would then stay current in Redis, so the whole tier is distrusted until its epoch moves on.
   */
  async invalidate(scopes: readonly string[], message: string, writtenAt?: string): Promise<void> {
    const keys = [
      ...scopes.map((scope) => this.generationPrefix + scope),
      ...scopes.map((scope) => this.positionPrefix + scope),
    ];
    try {
      const script = this.sharded ? INVALIDATE_SHARDED_SCRIPT : INVALIDATE_SCRIPT;
      const ttlMs = 2 * this.maxTtlMs;
      await this.client.eval(
        script,
        keys.length,
        ...keys,
        ttlMs,
        this.channel,
        message,
        writtenAt ?? '',
        randomGeneration(),
      );
    } catch (error: unknown) {
      this.distrust();
      throw error;
    }
  }

  /** Publishes `message` to every replica, nothing more (a replica saying it is there). */
  async announce(message: string): Promise<void> {
    await (this.sharded ? this.client.spublish(this.channel, message) : this.client.publish(this.channel, message));
  }

  /**
   * Gives up every entry Redis holds: reads skip Redis until the epoch has moved on there, retried until Redis
   * takes it. For whenever a write may not have bumped its scopes' generations in Redis.
   */
  distrust(): void {
    this.distrusts += 1;
    if (!this.bumping) this.bumpEpoch();
  }

  private bumpEpoch(): void {
    this.bumping = true;
    if (this.client.status !== 'ready') {
      // Still connecting (as at start-up) or reconnecting: bumped once it can be, not refused meanwhile.
      this.client.once('ready', () => this.bumpEpoch());
      return;
    }
    const asOf = this.distrusts;
    this.client.incr(this.epochKey).then(
      () => {
        this.trustedAsOf = asOf;
        if (asOf !== this.distrusts) return this.bumpEpoch();
        this.bumping = false;
      },
      (error: unknown) => {
        this.warn(error);
        // While the subscription is down, its return ('connected') distrusts again, which starts a new round.
        if (this.listener.connected) setTimeout(() => this.bumpEpoch(), 250).unref();
        else this.bumping = false;
      },
    );
  }

  async close(): Promise<void> {
    await Promise.all([closeRedis(this.client), this.listener.close()]);
  }

  warn(error: unknown): void {
    if (Date.now() - this.warnedAt < 10_000) return;
    this.warnedAt = Date.now();
    this.logger.warn(`Cache: Redis unavailable, reading PostgreSQL: ${redisErrorText(error)}`);
  }
}

const DATE_TAG = '$date';

/** JSON for values with dates (entities' timestamps): `{"$date": "…"}` comes back as a Date. */
function tagDates(this: Record<string, unknown>, key: string, value: unknown): unknown {
  const original = this[key];
  return original instanceof Date ? { [DATE_TAG]: original.toISOString() } : value;
}

function reviveDates(_key: string, value: unknown): unknown {
  if (typeof value === 'object' && value !== null && DATE_TAG in value) {
    const iso = (value as Record<string, unknown>)[DATE_TAG];
    if (typeof iso === 'string' && Object.keys(value).length === 1) return new Date(iso);
  }
  return value;
}
