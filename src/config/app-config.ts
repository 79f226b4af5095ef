import { replicaUrls } from './connection-url-problems';
import { type DatabaseServers, parseDatabaseUrl } from './database-url';
import type { Environment } from './environment';
import { parseNameMap } from './name-map';
import type { Platform } from '../common/platform';
import type { RedisTopology } from '../common/redis/redis-client';

export interface HttpConfig {
  port: number;
  host: string;
  tlsTerminatedByProxy: boolean;
  bodyLimitBytes: number;
  jsonMaxDepth: number;
  headersTimeoutMs: number;
  requestTimeoutMs: number;
  keepAliveTimeoutMs: number;
  /** Event loop delay above which new turns are refused (0: never). */
  overloadDelayMs: number;
  overloadInFlight: number;
  /** `/openapi.json` and `/docs` are served. */
  openApi: boolean;
  /** PROBE_PORT: plain-HTTP listener for /health/live and /health/ready only; unset: none. */
  probePort?: number;
}

/** The service's own TLS; absent when it serves plain HTTP (local development or behind a proxy). */
export interface TlsConfig {
  certFile: string;
  keyFile: string;
  caFile?: string;
  crlFile?: string;
  clientAuth: 'require' | 'optional' | 'off';
  reloadIntervalMs: number;
  /** TLS_HANDSHAKE_TIMEOUT_MS, on the HTTPS and the gRPC listener. */
  handshakeTimeoutMs: number;
}

export interface DatabaseConfig {
  /** Unset means: start the embedded PostgreSQL. With several servers listed: the first. */
  url?: string;
  /**
   * The servers DATABASE_URL lists when it lists several or sets `target_session_attrs`: each new connection goes
   * to the one found suitable, searched in order when none is known.
   */
  servers?: DatabaseServers;
  poolSize: number;
  /** Fraction (0.1-1) of the pool one intent's turns may hold at once. */
  poolLaneShare: number;
  statementTimeoutMs: number;
  migrationsRun: boolean;
  /** What a migration's statements may take, and wait for a table lock in one attempt. */
  migrationLimits: MigrationLimits;
  seedDemoData: boolean;
  embedded: { dataDir: string; port: number };
  /** Read replicas (DATABASE_REPLICA_URLS), and when one is too far behind to read from. */
  replicas: { urls: readonly string[]; maxLagMs: number; checkIntervalMs: number };
}

export interface MigrationLimits {
  /** `statement_timeout` of each statement, and the longest the migrations wait for their locks in all. */
  statementTimeoutMs: number;
  /** `lock_timeout` of each statement: how long turns that need its table can be held up behind it. */
  lockTimeoutMs: number;
}

export interface CacheConfig {
  enabled: boolean;
  localMaxEntries: number;
  localTtlMs: number;
  maxTtlMs: number;
  /** CACHE_NAMESPACE; unset means one derived from the database URL. */
  namespace?: string;
}

export interface FulfillmentConfig {
  fallbackText: string;
  errorText: string;
  interimText: string;
  responseSource: string;
  deadlinesMs: Record<Platform, number>;
  pendingFollowupEvent?: string;
  lateWorkTimeoutMs: number;
  /** Rasa action name → intent, in addition to the default rule (action_get_account_balance → GetAccountBalance). */
  rasaActions: Readonly<Record<string, string>>;
}

/** The Rasa action server's settings besides the action map (`FulfillmentConfig.rasaActions`). */
export interface RasaConfig {
  /** `GET …/rasa/health` and `GET …/rasa/actions` answer without credentials, as the Rasa SDK's do. */
  openEndpoints: boolean;
  /** Handler parameter name → Rasa slot, for values whose own name the domain does not declare. */
  slotMap: Readonly<Record<string, string>>;
}

export interface AppConfigValues {
  nodeEnv: Environment['NODE_ENV'];
  logLevel: Environment['LOG_LEVEL'];
  http: HttpConfig;
  tls?: TlsConfig;
  database: DatabaseConfig;
  fulfillment: FulfillmentConfig;
  rasa: RasaConfig;
  callers: { file?: string; reloadIntervalMs: number };
  throttle: { limit: number; ttlSeconds: number };
  network: NetworkConfig;
  audit: { retentionDays: number; maxPerSource: number; windowSeconds: number };
  redisUrl?: string;
  redisTopology: RedisTopology;
  cache: CacheConfig;
  /** The environment as read, for the variables the intent domains declare themselves (`ConfigSection`). */
  environment: Readonly<Record<string, string | undefined>>;
  idempotency: IdempotencyConfig;
  async: AsyncConfig;
  degraded: DegradedConfig;
  shutdown: ShutdownConfig;
  grpc: { enabled: boolean; port: number; maxConnectionAgeMs: number; reflection: boolean };
  admin: { enabled: boolean; port: number; host: string };
  observability: ObservabilityConfig;
}

export interface NetworkConfig {
  /** CIDR ranges of the proxies whose forwarding headers are believed (TRUSTED_PROXIES). */
  trustedProxies: readonly string[];
  /** The one forwarding header the trusted proxies maintain (FORWARDED_HEADER). */
  forwardedHeader: 'x-forwarded-for' | 'forwarded';
  /** Requests per client address per window before authentication; 0 is off. */
  preAuth: { limit: number; ttlSeconds: number };
  /** Failed basic-auth attempts per username per window before the username is refused; 0 is off. */
  basicBackoff: { maxFailures: number; windowSeconds: number; maxConcurrentChecks: number };
}

export interface ObservabilityConfig {
  metricsEnabled: boolean;
  metricsPort: number;
  /** Parameter names whose values may be recorded; every other value is redacted. */
  parameterAllowlist: readonly string[];
  heapLimitBytes: number;
  certificateMinDays: number;
  /** Percent of probes and scrapes that get an access line (ACCESS_LOG_PROBES_PERCENT). */
  accessLogProbePercent: number;
}

export interface IdempotencyConfig {
  ttlMs: number;
}

export interface AsyncConfig {
  acceptedText: string;
  resultTtlMs: number;
  jobTimeoutMs: number;
  jobRetries: number;
  pollIntervalMs: number;
  maintenanceIntervalSeconds: number;
  /** Delay before each retry of a callback delivery (the first attempt is immediate). */
  callbackRetryDelaysMs: readonly number[];
  /** CALLBACK_RETRY_HORIZON_HOURS: what the waits between a delivery's attempts add up to at most (see retryWaitLimitMs). */
  callbackRetryHorizonMs: number;
  callbackTimeoutMs: number;
}

export interface DegradedConfig {
  mode: 'reply' | '503';
  text: string;
  /** UNCONFIRMED_TEXT: the degraded reply of a state-changing turn whose write may have committed. */
  unconfirmedText: string;
  probeIntervalMs: number;
}

export interface ShutdownConfig {
  delayMs: number;
  graceMs: number;
}

const DURATION_UNITS_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 } as const;

/** `5s,30s,2m` → delays in ms; the last delay repeats until their sum reaches the horizon. */
export function parseRetrySchedule(schedule: string, horizonHours: number): number[] {
  const steps = schedule.split(',').map((step) => {
    const match = /^(\d+)(ms|s|m|h)$/.exec(step.trim());
    if (!match) throw new Error(`invalid duration "${step}"`);
    return Number(match[1]) * DURATION_UNITS_MS[match[2] as keyof typeof DURATION_UNITS_MS];
  });
  const horizonMs = horizonHours * 3_600_000;
  const last = steps[steps.length - 1];
  let total = steps.reduce((sum, delay) => sum + delay, 0);
  while (last > 0 && total + last <= horizonMs) {
    steps.push(last);
    total += last;
  }
  return steps;
}

/** The validated configuration, injected wherever settings are needed (nothing else reads process.env). */
export class AppConfig implements AppConfigValues {
  readonly nodeEnv!: Environment['NODE_ENV'];
  readonly logLevel!: Environment['LOG_LEVEL'];
  readonly http!: HttpConfig;
  readonly tls?: TlsConfig;
  readonly database!: DatabaseConfig;
  readonly fulfillment!: FulfillmentConfig;
  readonly rasa!: RasaConfig;
  readonly callers!: { file?: string; reloadIntervalMs: number };
  readonly throttle!: { limit: number; ttlSeconds: number };
  readonly network!: NetworkConfig;
  readonly audit!: { retentionDays: number; maxPerSource: number; windowSeconds: number };
  readonly redisUrl?: string;
  /** How REDIS_URL is reached: as it is, through Sentinels (REDIS_SENTINELS), or as a cluster (REDIS_CLUSTER). */
  readonly redisTopology!: RedisTopology;
  readonly cache!: CacheConfig;
  readonly environment!: Readonly<Record<string, string | undefined>>;
  readonly idempotency!: IdempotencyConfig;
  readonly async!: AsyncConfig;
  readonly degraded!: DegradedConfig;
  readonly shutdown!: ShutdownConfig;
  readonly grpc!: { enabled: boolean; port: number; maxConnectionAgeMs: number; reflection: boolean };
  /** The operator console's listener (ADMIN_*). */
  readonly admin!: { enabled: boolean; port: number; host: string };
  readonly observability!: ObservabilityConfig;

  constructor(values: AppConfigValues) {
    Object.assign(this, values);
  }

  get isProduction(): boolean {
    return this.nodeEnv === 'production';
  }

  get callersFile(): string | undefined {
    return this.callers.file;
  }

  /** Returns a copy pointing at another database URL (used once the embedded server is up). */
  withDatabaseUrl(url: string): AppConfig {
    return new AppConfig({ ...this, database: { ...this.database, url } });
  }

  static fromEnvironment(
    env: Environment,
    resolvePath: (path: string) => string,
    environment: Readonly<Record<string, string | undefined>> = {},
  ): AppConfig {
    const embedded = !env.DATABASE_URL;
    const databaseUrl = env.DATABASE_URL ? parseDatabaseUrl(env.DATABASE_URL) : undefined;
    const tls =
      env.TLS_CERT_FILE && env.TLS_KEY_FILE
        ? {
            certFile: resolvePath(env.TLS_CERT_FILE),
            keyFile: resolvePath(env.TLS_KEY_FILE),
            caFile: env.TLS_CA_FILE ? resolvePath(env.TLS_CA_FILE) : undefined,
            crlFile: env.TLS_CRL_FILE ? resolvePath(env.TLS_CRL_FILE) : undefined,
            clientAuth: env.TLS_CLIENT_AUTH ?? (env.TLS_CA_FILE ? 'optional' : 'off'),
            reloadIntervalMs: env.TLS_RELOAD_INTERVAL_MS,
            handshakeTimeoutMs: env.TLS_HANDSHAKE_TIMEOUT_MS,
          }
        : undefined;
    const secure = tls !== undefined || env.TLS_TERMINATED_BY_PROXY;
    return new AppConfig({
      nodeEnv: env.NODE_ENV,
      logLevel: env.LOG_LEVEL,
      http: {
        port: env.PORT,
        host: env.HOST ?? (secure ? '0.0.0.0' : '127.0.0.1'),
        tlsTerminatedByProxy: env.TLS_TERMINATED_BY_PROXY,
        bodyLimitBytes: env.BODY_LIMIT_BYTES,
        jsonMaxDepth: env.JSON_MAX_DEPTH,
        headersTimeoutMs: env.HTTP_HEADERS_TIMEOUT_MS,
        requestTimeoutMs: env.HTTP_REQUEST_TIMEOUT_MS,
        keepAliveTimeoutMs: env.HTTP_KEEP_ALIVE_TIMEOUT_MS,
        overloadDelayMs: env.OVERLOAD_DELAY_MS,
        overloadInFlight: env.OVERLOAD_IN_FLIGHT,
        openApi: env.OPENAPI_ENABLED ?? env.NODE_ENV !== 'production',
        probePort: env.PROBE_PORT,
      },
      tls,
      database: {
        url: databaseUrl?.url,
        servers: databaseUrl?.servers,
        poolSize: env.DB_POOL_SIZE,
        poolLaneShare: env.DB_POOL_INTENT_SHARE_PERCENT / 100,
        statementTimeoutMs: env.DB_STATEMENT_TIMEOUT_MS,
        migrationsRun: env.DB_MIGRATIONS_RUN,
        migrationLimits: {
          statementTimeoutMs: env.DB_MIGRATION_STATEMENT_TIMEOUT_MS,
          lockTimeoutMs: env.DB_MIGRATION_LOCK_TIMEOUT_MS,
        },
        // Development seeds an empty database (embedded or not), so the README's examples work on either.
        seedDemoData: env.SEED_DEMO_DATA ?? (embedded || env.NODE_ENV === 'development'),
        embedded: { dataDir: resolvePath(env.EMBEDDED_PG_DATA_DIR), port: env.EMBEDDED_PG_PORT },
        replicas: {
          urls: replicaUrls(env.DATABASE_REPLICA_URLS),
          maxLagMs: env.REPLICA_MAX_LAG_MS,
          checkIntervalMs: env.REPLICA_CHECK_INTERVAL_MS,
        },
      },
      fulfillment: {
        fallbackText: env.FALLBACK_TEXT,
        errorText: env.ERROR_TEXT,
        interimText: env.INTERIM_TEXT,
        pendingFollowupEvent: env.PENDING_FOLLOWUP_EVENT,
        lateWorkTimeoutMs: env.LATE_WORK_TIMEOUT_MS,
        responseSource: env.RESPONSE_SOURCE,
        deadlinesMs: {
          'dialogflow-es': env.DIALOGFLOW_ES_DEADLINE_MS,
          'dialogflow-cx': env.DIALOGFLOW_CX_DEADLINE_MS,
          'lex-v2': env.LEX_V2_DEADLINE_MS,
          rasa: env.RASA_DEADLINE_MS,
          generic: env.GENERIC_DEADLINE_MS,
        },
        rasaActions: parseNameMap(env.RASA_ACTIONS),
      },
      rasa: { openEndpoints: env.RASA_OPEN_ENDPOINTS, slotMap: parseNameMap(env.RASA_SLOT_MAP) },
      callers: {
        file: env.CALLERS_FILE ? resolvePath(env.CALLERS_FILE) : undefined,
        reloadIntervalMs: env.CALLERS_RELOAD_INTERVAL_MS,
      },
      throttle: { limit: env.THROTTLE_LIMIT, ttlSeconds: env.THROTTLE_TTL_SECONDS },
      network: {
        trustedProxies: (env.TRUSTED_PROXIES ?? '')
          .split(',')
          .map((range) => range.trim())
          .filter(Boolean),
        forwardedHeader: env.FORWARDED_HEADER,
        preAuth: { limit: env.PREAUTH_LIMIT, ttlSeconds: env.PREAUTH_TTL_SECONDS },
        basicBackoff: {
          maxFailures: env.BASIC_AUTH_MAX_FAILURES,
          windowSeconds: env.BASIC_AUTH_FAILURE_WINDOW_SECONDS,
          maxConcurrentChecks: env.BASIC_AUTH_MAX_CONCURRENT_CHECKS,
        },
      },
      audit: {
        retentionDays: env.AUDIT_RETENTION_DAYS,
        maxPerSource: env.AUDIT_MAX_PER_SOURCE,
        windowSeconds: env.AUDIT_WINDOW_SECONDS,
      },
      redisUrl: env.REDIS_URL,
      redisTopology: {
        sentinels: env.REDIS_SENTINELS
          ? {
              addresses: env.REDIS_SENTINELS.split(',').map((address) => {
                const at = address.lastIndexOf(':');
                return { host: address.slice(0, at), port: Number(address.slice(at + 1)) };
              }),
              name: env.REDIS_SENTINEL_NAME,
              password: env.REDIS_SENTINEL_PASSWORD,
            }
          : undefined,
        cluster: env.REDIS_CLUSTER,
      },
      cache: {
        enabled: env.CACHE_ENABLED,
        localMaxEntries: env.CACHE_LOCAL_MAX_ENTRIES,
        localTtlMs: Math.min(env.CACHE_LOCAL_TTL_MS, env.CACHE_MAX_TTL_MS),
        maxTtlMs: env.CACHE_MAX_TTL_MS,
        namespace: env.CACHE_NAMESPACE,
      },
      environment,
      idempotency: { ttlMs: env.IDEMPOTENCY_TTL_HOURS * 3_600_000 },
      async: {
        acceptedText: env.ASYNC_ACCEPTED_TEXT,
        resultTtlMs: env.FULFILLMENT_RESULT_TTL_HOURS * 3_600_000,
        jobTimeoutMs: env.ASYNC_JOB_TIMEOUT_MS,
        jobRetries: env.ASYNC_JOB_RETRIES,
        pollIntervalMs: env.ASYNC_POLL_INTERVAL_MS,
        maintenanceIntervalSeconds: env.ASYNC_MAINTENANCE_INTERVAL_SECONDS,
        callbackRetryDelaysMs: parseRetrySchedule(env.CALLBACK_RETRY_SCHEDULE, env.CALLBACK_RETRY_HORIZON_HOURS),
        callbackRetryHorizonMs: env.CALLBACK_RETRY_HORIZON_HOURS * 3_600_000,
        callbackTimeoutMs: env.CALLBACK_TIMEOUT_MS,
      },
      degraded: {
        mode: env.DEGRADED_MODE,
        text: env.DEGRADED_TEXT,
        unconfirmedText: env.UNCONFIRMED_TEXT,
        probeIntervalMs: env.DB_PROBE_INTERVAL_MS,
      },
      shutdown: {
        delayMs: env.SHUTDOWN_DELAY_MS ?? (env.NODE_ENV === 'production' ? 5000 : 0),
        graceMs: env.SHUTDOWN_GRACE_MS,
      },
      grpc: {
        enabled: env.GRPC_ENABLED,
        port: env.GRPC_PORT,
        maxConnectionAgeMs: env.GRPC_MAX_CONNECTION_AGE_MS,
        reflection: env.GRPC_REFLECTION,
      },
      admin: {
        enabled: env.ADMIN_ENABLED ?? env.NODE_ENV !== 'production',
        port: env.ADMIN_PORT,
        host: env.ADMIN_HOST,
      },
      observability: {
        metricsEnabled: env.METRICS_ENABLED,
        metricsPort: env.METRICS_PORT,
        parameterAllowlist: (env.TRACE_PARAMETER_ALLOWLIST ?? '').split(',').filter(Boolean),
        heapLimitBytes: env.HEALTH_HEAP_LIMIT_MB * 1024 * 1024,
        certificateMinDays: env.HEALTH_CERT_MIN_DAYS,
        accessLogProbePercent: env.ACCESS_LOG_PROBES_PERCENT,
      },
    });
  }
}
