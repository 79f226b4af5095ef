import { Transform } from 'class-transformer';
import { IsBoolean, IsIn, IsInt, IsOptional, IsString, Matches, Max, MaxLength, Min, MinLength } from 'class-validator';

import { IsCidrList } from './cidr-list';
import { IsNameMap } from './name-map';
import { emptyToUndefined, toBool, toInt, toOptionalBool, toOptionalInt } from './variable-transforms';

export const NODE_ENVS = ['development', 'test', 'production'] as const;
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'verbose'] as const;
export const TLS_CLIENT_AUTH_MODES = ['require', 'optional', 'off'] as const;
/** Said of a connection URL refused by its pattern: a space in the password is the likely cause besides the scheme. */
const NO_SPACES = ' without spaces (a space in the password is written %20)';

/**
 * The process environment as the service accepts it: every variable of the service itself, validated once at
 * start-up. The built-in intent domains declare their own variables beside their code (a `ConfigSection`), and
 * those are validated in the same pass, before anything starts.
 */
export class Environment {
  @IsIn(NODE_ENVS)
  NODE_ENV: (typeof NODE_ENVS)[number] = 'development';

  @Transform(toInt)
  @IsInt()
  @Min(0)
  @Max(65535)
  PORT = 8080;

  @IsOptional()
  @Transform(emptyToUndefined)
  @IsString()
  HOST?: string;

  /** Set when TLS ends at a trusted proxy or service mesh in front of the service. */
  @Transform(toBool)
  @IsBoolean()
  TLS_TERMINATED_BY_PROXY = false;

  @IsOptional()
  @Transform(emptyToUndefined)
  @IsString()
  TLS_CERT_FILE?: string;

  @IsOptional()
  @Transform(emptyToUndefined)
  @IsString()
  TLS_KEY_FILE?: string;

  /** CA bundle that client certificates must chain to. */
  @IsOptional()
  @Transform(emptyToUndefined)
  @IsString()
  TLS_CA_FILE?: string;

  @IsOptional()
  @Transform(emptyToUndefined)
  @IsString()
  TLS_CRL_FILE?: string;

  /** Defaults to `optional` when TLS_CA_FILE is set, `off` otherwise. */
  @IsOptional()
  @Transform(emptyToUndefined)
  @IsIn(TLS_CLIENT_AUTH_MODES)
  TLS_CLIENT_AUTH?: (typeof TLS_CLIENT_AUTH_MODES)[number];

  @Transform(toInt)
  @IsInt()
  @Min(100)
  @Max(3_600_000)
  TLS_RELOAD_INTERVAL_MS = 10_000;

  /** Time a client has to finish the TLS handshake (HTTPS and gRPC) before its connection is closed. */
  @Transform(toInt)
  @IsInt()
  @Min(100)
  @Max(10_000)
  TLS_HANDSHAKE_TIMEOUT_MS = 10_000;

  @Transform(toInt)
  @IsInt()
  @Min(1000)
  @Max(120_000)
  HTTP_HEADERS_TIMEOUT_MS = 10_000;

  @Transform(toInt)
  @IsInt()
  @Min(1000)
  @Max(600_000)
  HTTP_REQUEST_TIMEOUT_MS = 30_000;

  @Transform(toInt)
  @IsInt()
  @Min(1000)
  @Max(600_000)
  HTTP_KEEP_ALIVE_TIMEOUT_MS = 5_000;

  /**
   * Event loop delay (ms) above which new turns are refused at once with 503 OVERLOADED and Retry-After, so
   * the turns already accepted keep their platform deadlines. 0 never refuses.
   */
  @Transform(toInt)
  @IsInt()
  @Min(0)
  @Max(5_000)
  OVERLOAD_DELAY_MS = 200;

  /**
   * Requests in hand above which a replica whose event loop is saturated (busy 95 % of the last 100 ms) refuses
   * new turns with 503 OVERLOADED: under an open-loop flood the queue builds up in the kernel, unseen by the
   * event loop delay. 0 never refuses for this reason.
   */
  @Transform(toInt)
  @IsInt()
  @Min(0)
  @Max(1_000_000)
  OVERLOAD_IN_FLIGHT = 128;

  /**
   * The primary. It may list several servers as libpq does (`postgres://user@db-0:5432,db-1:5432/app`) with
   * `target_session_attrs=read-write` or `primary`: connections then go to the one that takes writes.
   */
  @IsOptional()
  @Transform(emptyToUndefined)
  @Matches(/^postgres(ql)?:\/\/[^\s]+$/, { message: `must be a postgres:// or postgresql:// URL${NO_SPACES}` })
  DATABASE_URL?: string;

  @IsOptional()
  @Transform(emptyToUndefined)
  @Matches(/^rediss?:\/\/[^\s]+$/, { message: `must be a redis:// or rediss:// URL${NO_SPACES}` })
  REDIS_URL?: string;

  /**
   * Redis Sentinels (comma-separated host:port) that name the primary of REDIS_SENTINEL_NAME: every connection asks
   * them where it is, so it follows their failovers. REDIS_URL then gives the credentials and database number.
   */
  @IsOptional()
  @Transform(emptyToUndefined)
  @Matches(/^[^\s,:]+:\d{1,5}(,[^\s,:]+:\d{1,5})*$/, {
    message: 'must be a comma-separated list of host:port (e.g. sentinel-0:26379,sentinel-1:26379)',
  })
  REDIS_SENTINELS?: string;

  /**
   * REDIS_URL names one node of a Redis Cluster (or its configuration endpoint): the other nodes, and which holds
   * which keys, are learned from it. Redis 7 or later (sharded Pub/Sub). Not with REDIS_SENTINELS; a cluster has
   * database 0 only.
   */
  @Transform(toBool)
  @IsBoolean()
  REDIS_CLUSTER = false;

  /** The Sentinels' name of the Redis primary and its replicas (`sentinel monitor <name> …`). */
  @Matches(/^[A-Za-z0-9._-]{1,64}$/, { message: 'must be the name the Sentinels monitor the primary under' })
  REDIS_SENTINEL_NAME = 'mymaster';

  /** The Sentinels' own password (`requirepass` in sentinel.conf), when they have one. */
  @IsOptional()
  @Transform(emptyToUndefined)
  @IsString()
  REDIS_SENTINEL_PASSWORD?: string;

  /**
   * Read replicas (comma-separated postgres:// URLs): reads that tolerate lag go to a healthy one, with
   * read-your-writes after a write. Empty: every read goes to DATABASE_URL.
   */
  @IsOptional()
  @Transform(emptyToUndefined)
  @Matches(/^postgres(ql)?:\/\/[^\s,]+(,\s*postgres(ql)?:\/\/[^\s,]+)*$/, {
    message: `must be a comma-separated list of postgres:// or postgresql:// URLs${NO_SPACES}`,
  })
  DATABASE_REPLICA_URLS?: string;

  /** A replica whose replay is further behind the primary than this gets no reads until it catches up. */
  @Transform(toInt)
  @IsInt()
  @Min(0)
  @Max(3_600_000)
  REPLICA_MAX_LAG_MS = 1000;

  /** How often each replica's replay position (and reachability) is checked. */
  @Transform(toInt)
  @IsInt()
  @Min(20)
  @Max(60_000)
  REPLICA_CHECK_INTERVAL_MS = 200;

  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(200)
  DB_POOL_SIZE = 10;

  /**
   * Share of the pool (percent) that the turns of one intent may hold at once; the rest stays free for the
   * other intents, so one slow or hot intent cannot take every connection. 100 turns the limit off.
   */
  @Transform(toInt)
  @IsInt()
  @Min(10)
  @Max(100)
  DB_POOL_INTENT_SHARE_PERCENT = 50;

  @Transform(toInt)
  @IsInt()
  @Min(100)
  @Max(600_000)
  DB_STATEMENT_TIMEOUT_MS = 3000;

  @Transform(toBool)
  @IsBoolean()
  DB_MIGRATIONS_RUN = true;

  /**
   * `statement_timeout` of a migration's statements (an index built on a large table takes longer than a turn's
   * statements may), and the longest a migration waits for the table locks it needs, all attempts together.
   */
  @Transform(toInt)
  @IsInt()
  @Min(1000)
  @Max(86_400_000)
  DB_MIGRATION_STATEMENT_TIMEOUT_MS = 600_000;

  /**
   * `lock_timeout` of a migration's statements: the longest one waits for a table lock in a single attempt. Turns
   * that need the table queue behind the waiting migration, so this is how long they can be held up; the migration
   * is tried again after a pause.
   */
  @Transform(toInt)
  @IsInt()
  @Min(100)
  @Max(600_000)
  DB_MIGRATION_LOCK_TIMEOUT_MS = 2000;

  /** Seed demo data into an empty database at start-up; defaults to on in development and for the embedded database. */
  @IsOptional()
  @Transform(toOptionalBool)
  @IsBoolean()
  SEED_DEMO_DATA?: boolean;

  @IsString()
  @MinLength(1)
  EMBEDDED_PG_DATA_DIR = '.data/postgres';

  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(65535)
  EMBEDDED_PG_PORT = 54329;

  @IsOptional()
  @Transform(emptyToUndefined)
  @IsString()
  CALLERS_FILE?: string;

  @Transform(toInt)
  @IsInt()
  @Min(1024)
  @Max(50 * 1024 * 1024)
  BODY_LIMIT_BYTES = 1024 * 1024;

  @Transform(toInt)
  @IsInt()
  @Min(50)
  @Max(5000)
  DIALOGFLOW_ES_DEADLINE_MS = 4500;

  /** CX lets the agent set its webhook timeout up to 30 s; keep this below the agent's setting. */
  @Transform(toInt)
  @IsInt()
  @Min(50)
  @Max(29_500)
  DIALOGFLOW_CX_DEADLINE_MS = 4500;

  /** Below the forwarding Lambda's own timeout (the README's Lambda waits 4 s). */
  @Transform(toInt)
  @IsInt()
  @Min(50)
  @Max(29_500)
  LEX_V2_DEADLINE_MS = 3500;

  @Transform(toInt)
  @IsInt()
  @Min(50)
  @Max(60_000)
  RASA_DEADLINE_MS = 4500;

  @Transform(toInt)
  @IsInt()
  @Min(50)
  @Max(60_000)
  GENERIC_DEADLINE_MS = 4500;

  /** Rasa action names mapped to intents, e.g. `action_balance=GetAccountBalance,action_tx=GetRecentTransactions`. */
  @IsOptional()
  @Transform(emptyToUndefined)
  @IsNameMap(/^[A-Za-z0-9_.-]+=[A-Za-z0-9_.-]+$/, 'action_name=IntentName, each action once')
  RASA_ACTIONS?: string;

  /**
   * Handler parameter names set as Rasa slots of another name, for values whose own name the domain does not
   * declare, e.g. `visits=visit_count,date=appointment_date`.
   */
  @IsOptional()
  @Transform(emptyToUndefined)
  @IsNameMap(/^[A-Za-z0-9_.-]+=[A-Za-z0-9_.-]+$/, 'handlerParameter=rasa_slot, each parameter once')
  RASA_SLOT_MAP?: string;

  /** Serve the Rasa SDK's `GET …/rasa/health` and `GET …/rasa/actions` without credentials, as the SDK does. */
  @Transform(toBool)
  @IsBoolean()
  RASA_OPEN_ENDPOINTS = false;

  /** Serve `/openapi.json` and `/docs` (unauthenticated); defaults to on, except with NODE_ENV=production. */
  @IsOptional()
  @Transform(toOptionalBool)
  @IsBoolean()
  OPENAPI_ENABLED?: boolean;

  @IsString()
  @MinLength(1)
  @MaxLength(1000)
  FALLBACK_TEXT = "Sorry, I can't help with that yet. Could you try asking another way?";

  @IsString()
  @MinLength(1)
  @MaxLength(1000)
  ERROR_TEXT = 'Sorry, something went wrong on our side. Please try again in a moment.';

  @IsString()
  @MinLength(1)
  @MaxLength(1000)
  INTERIM_TEXT = "I'm still working on that. Please ask me again in a moment.";

  @IsString()
  @MinLength(1)
  @MaxLength(100)
  RESPONSE_SOURCE = 'webhook-fulfillment';

  @IsIn(LOG_LEVELS)
  LOG_LEVEL: (typeof LOG_LEVELS)[number] = 'info';

  @Transform(toInt)
  @IsInt()
  @Min(200)
  @Max(3_600_000)
  CALLERS_RELOAD_INTERVAL_MS = 5_000;

  /** Requests per THROTTLE_TTL_SECONDS for callers without their own rateLimit. */
  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(1_000_000)
  THROTTLE_LIMIT = 600;

  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(86_400)
  THROTTLE_TTL_SECONDS = 60;

  /** Proxies (comma-separated IPv4/IPv6 CIDRs) whose Forwarded / X-Forwarded-For is believed; empty: none. */
  @IsOptional()
  @Transform(emptyToUndefined)
  @IsCidrList()
  TRUSTED_PROXIES?: string;

  /**
   * The forwarding header the trusted proxies maintain; the other is never read (a proxy that appends to one
   * passes the other on as the client wrote it).
   */
  @IsIn(['x-forwarded-for', 'forwarded'])
  FORWARDED_HEADER: 'x-forwarded-for' | 'forwarded' = 'x-forwarded-for';

  /** Requests per client address per PREAUTH_TTL_SECONDS, counted before authentication; 0 turns it off. */
  @Transform(toInt)
  @IsInt()
  @Min(0)
  @Max(10_000_000)
  PREAUTH_LIMIT = 20_000;

  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(86_400)
  PREAUTH_TTL_SECONDS = 60;

  /** Failed basic-auth attempts per username within BASIC_AUTH_FAILURE_WINDOW_SECONDS before it is refused; 0: off. */
  @Transform(toInt)
  @IsInt()
  @Min(0)
  @Max(1000)
  BASIC_AUTH_MAX_FAILURES = 10;

  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(86_400)
  BASIC_AUTH_FAILURE_WINDOW_SECONDS = 300;

  /** Basic-auth password checks (scrypt) running at once; a burst beyond a short queue is answered 503. */
  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(64)
  BASIC_AUTH_MAX_CONCURRENT_CHECKS = 2;

  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(3650)
  AUDIT_RETENTION_DAYS = 365;

  /** Audit rows written per client address per AUDIT_WINDOW_SECONDS; the rest are counted, not written. 0: no cap. */
  @Transform(toInt)
  @IsInt()
  @Min(0)
  @Max(1_000_000)
  AUDIT_MAX_PER_SOURCE = 100;

  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(86_400)
  AUDIT_WINDOW_SECONDS = 60;

  @Transform(toInt)
  @IsInt()
  @Min(4)
  @Max(1000)
  JSON_MAX_DEPTH = 64;

  /** How long a state-changing turn's stored reply is replayed to retries and duplicates. */
  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(720)
  IDEMPOTENCY_TTL_HOURS = 24;

  /** Dialogflow ES event sent with an interim reply so the agent calls back for the result; unset: none. */
  @IsOptional()
  @Transform(emptyToUndefined)
  @Matches(/^[A-Za-z0-9_-]{1,150}$/, { message: 'must be a Dialogflow event name (letters, digits, _ and -)' })
  PENDING_FOLLOWUP_EVENT?: string;

  /** How long a turn's work may go on after its deadline (its result kept for a later turn) before it is abandoned. */
  @Transform(toInt)
  @IsInt()
  @Min(100)
  @Max(3_600_000)
  LATE_WORK_TIMEOUT_MS = 60_000;

  /** How long results of late and async work are kept for polling and later turns. */
  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(720)
  FULFILLMENT_RESULT_TTL_HOURS = 24;

  /** The reply to a turn whose handler runs asynchronously (`mode: 'async'`). */
  @IsString()
  @MinLength(1)
  @MaxLength(1000)
  ASYNC_ACCEPTED_TEXT = "Got it. I'm working on that and will let you know when it's done.";

  /** Longest run of an async handler; a job running longer (or whose pod died) is retried. */
  @Transform(toInt)
  @IsInt()
  @Min(1000)
  @Max(3_600_000)
  ASYNC_JOB_TIMEOUT_MS = 60_000;

  @Transform(toInt)
  @IsInt()
  @Min(0)
  @Max(20)
  ASYNC_JOB_RETRIES = 3;

  /** How often an idle replica asks the queue for work (pg-boss polls; minimum 500 ms). */
  @Transform(toInt)
  @IsInt()
  @Min(500)
  @Max(60_000)
  ASYNC_POLL_INTERVAL_MS = 1000;

  /** How often the queue looks for jobs whose runner died (expired) and purges old ones. */
  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(3600)
  ASYNC_MAINTENANCE_INTERVAL_SECONDS = 60;

  /**
   * Delays between callback delivery attempts, e.g. `5s,30s,2m,10m,30m,1h`; the last one repeats until the
   * total reaches CALLBACK_RETRY_HORIZON_HOURS. Each delay gets ±20 % jitter; the waits (Retry-After included) add
   * up to at most the horizon, the schedule's span or a day, whichever is longest.
   */
  @Matches(/^\d+(ms|s|m|h)(,\d+(ms|s|m|h))*$/, { message: 'must be a comma-separated list like 5s,30s,2m,1h' })
  CALLBACK_RETRY_SCHEDULE = '5s,30s,2m,10m,30m,1h';

  @Transform(toInt)
  @IsInt()
  @Min(0)
  @Max(168)
  CALLBACK_RETRY_HORIZON_HOURS = 24;

  @Transform(toInt)
  @IsInt()
  @Min(100)
  @Max(60_000)
  CALLBACK_TIMEOUT_MS = 10_000;

  /**
   * What a turn gets while PostgreSQL is unreachable: `reply` (a polite platform-shaped "temporarily
   * unavailable", HTTP 200) or `503` (so the platform retries).
   */
  @IsIn(['reply', '503'])
  DEGRADED_MODE: 'reply' | '503' = 'reply';

  @IsString()
  @MinLength(1)
  @MaxLength(1000)
  DEGRADED_TEXT = "Sorry, I can't reach our systems right now. Please try again in a few minutes.";

  /**
   * What a state-changing turn (a transfer, a booking) gets instead of DEGRADED_TEXT (or a 503) when PostgreSQL stopped
   * answering after its write may have committed: "try again" would have the user ask anew, a new turn that moves
   * the money a second time.
   */
  @IsString()
  @MinLength(1)
  @MaxLength(1000)
  UNCONFIRMED_TEXT =
    "I couldn't confirm whether that went through: our systems stopped answering. Please check before you try it again.";

  /** The read-through cache of hot reads (balances, orders, products, slots); `false` reads PostgreSQL every time. */
  @Transform(toBool)
  @IsBoolean()
  CACHE_ENABLED = true;

  /** Entries the in-process tier keeps (least recently used go first), all caches together. */
  @Transform(toInt)
  @IsInt()
  @Min(100)
  @Max(10_000_000)
  CACHE_LOCAL_MAX_ENTRIES = 10_000;

  /**
   * How long an entry stays in the in-process tier. Other replicas' writes reach it through Redis (or PostgreSQL)
   * notifications; when neither can tell it, this is how stale it can be.
   */
  @Transform(toInt)
  @IsInt()
  @Min(100)
  @Max(600_000)
  CACHE_LOCAL_TTL_MS = 5_000;

  /**
   * Prefix of the cache's Redis keys and channel. Unset: derived from DATABASE_URL's host, port, database and user,
   * so replicas of one deployment share entries. Set it when replicas reach one database by different URLs. It does
   * not make one Redis safe for two deployments (whose URLs may read alike, and whose rate limits and replay windows
   * are keyed by caller id): each needs a Redis, or a database number, of its own.
   */
  @IsOptional()
  @Transform(emptyToUndefined)
  @Matches(/^[A-Za-z0-9_.-]{1,64}$/, { message: 'must be 1-64 letters, digits, ".", "_" or "-"' })
  CACHE_NAMESPACE?: string;

  /** The longest any entry lives in any tier, whatever its cache asks for. */
  @Transform(toInt)
  @IsInt()
  @Min(100)
  @Max(86_400_000)
  CACHE_MAX_TTL_MS = 300_000;

  /** How often PostgreSQL is checked while it is marked unreachable (and for readiness). */
  @Transform(toInt)
  @IsInt()
  @Min(100)
  @Max(60_000)
  DB_PROBE_INTERVAL_MS = 1000;

  /**
   * After SIGTERM: how long the service keeps serving with readiness false, so load balancers stop sending
   * to it before connections are refused. Default 5000 in production, 0 otherwise.
   */
  @IsOptional()
  @Transform(toOptionalInt)
  @IsInt()
  @Min(0)
  @Max(120_000)
  SHUTDOWN_DELAY_MS?: number;

  /** Serve the gRPC transport (FulfillmentService, grpc.health.v1, reflection) on GRPC_PORT. */
  @Transform(toBool)
  @IsBoolean()
  GRPC_ENABLED = true;

  @Transform(toInt)
  @IsInt()
  @Min(0)
  @Max(65535)
  GRPC_PORT = 50051;

  /**
   * How long a gRPC connection lives before the server asks the client to reconnect (GOAWAY; calls running then get
   * 30 s more): a client behind a Kubernetes Service reaches pods added since, and a connection the client left
   * behind goes. grpc-js adds up to ±10 % so that connections opened together do not end together.
   */
  @Transform(toInt)
  @IsInt()
  @Min(1000)
  @Max(86_400_000)
  GRPC_MAX_CONNECTION_AGE_MS = 1_800_000;

  /**
   * Serve gRPC server reflection (what grpcurl and `buf curl` use to list and describe the services). It answers
   * without credentials, to anyone who can open a connection (with TLS_CLIENT_AUTH=require, anyone with a client
   * certificate): turn it off where the schema should not be handed out.
   */
  @Transform(toBool)
  @IsBoolean()
  GRPC_REFLECTION = true;

  /** Serve Prometheus metrics (text format) on METRICS_PORT at /metrics. */
  @Transform(toBool)
  @IsBoolean()
  METRICS_ENABLED = true;

  @Transform(toInt)
  @IsInt()
  @Min(0)
  @Max(65535)
  METRICS_PORT = 9464;

  /**
   * Serve the operator console and its admin API on ADMIN_PORT (never on PORT); defaults to on, except with
   * NODE_ENV=production.
   */
  @IsOptional()
  @Transform(toOptionalBool)
  @IsBoolean()
  ADMIN_ENABLED?: boolean;

  @Transform(toInt)
  @IsInt()
  @Min(0)
  @Max(65535)
  ADMIN_PORT = 9465;

  /** The address the admin listener binds: loopback unless the console is reached through an internal ingress. */
  @IsString()
  @MinLength(1)
  @MaxLength(255)
  ADMIN_HOST = '127.0.0.1';

  /**
   * Plain-HTTP port serving only /health/live and /health/ready (for the kubelet, which cannot present a client
   * certificate when TLS_CLIENT_AUTH=require); unset: no probe listener, the probes answer on PORT only.
   */
  @IsOptional()
  @Transform(toOptionalInt)
  @IsInt()
  @Min(0)
  @Max(65535)
  PROBE_PORT?: number;

  /** Parameter names whose values may appear in spans and logs (all others are redacted), e.g. `account_type`. */
  @IsOptional()
  @Transform(emptyToUndefined)
  @Matches(/^[A-Za-z0-9_.-]+(,[A-Za-z0-9_.-]+)*$/, { message: 'must be a comma-separated list of parameter names' })
  TRACE_PARAMETER_ALLOWLIST?: string;

  /** Readiness fails when the heap in use exceeds this many MiB. */
  @Transform(toInt)
  @IsInt()
  @Min(64)
  @Max(65_536)
  HEALTH_HEAP_LIMIT_MB = 1536;

  /** Percent of health probes and scrapes (HTTP and gRPC) that get an access line; every other request gets one. */
  @Transform(toInt)
  @IsInt()
  @Min(0)
  @Max(100)
  ACCESS_LOG_PROBES_PERCENT = 0;

  /**
   * Readiness fails when the server certificate has expired or expires within this many days. 0: only once it has
   * expired, since every replica serves the same certificate and all would leave the Service at once while it still
   * works (the expiry metric and the chart's alerts warn ahead).
   */
  @Transform(toInt)
  @IsInt()
  @Min(0)
  @Max(365)
  HEALTH_CERT_MIN_DAYS = 0;

  /** Longest the whole shutdown may take (in-flight requests and running jobs); then the process exits 1. */
  @Transform(toInt)
  @IsInt()
  @Min(1000)
  @Max(600_000)
  SHUTDOWN_GRACE_MS = 25_000;
}

/** Variables whose values must never be echoed back in an error message. */
export const SECRET_VARIABLES: ReadonlySet<keyof Environment> = new Set([
  'DATABASE_URL',
  'DATABASE_REPLICA_URLS',
  'REDIS_URL',
  'REDIS_SENTINEL_PASSWORD',
]);
