import type { Environment } from './environment';

export interface HttpConfig {
  port: number;
  host: string;
  tlsTerminatedUpstream: boolean;
  bodyLimitBytes: number;
}

export interface DatabaseConfig {
  /** Unset means: start the embedded PostgreSQL. */
  url?: string;
  poolSize: number;
  statementTimeoutMs: number;
  migrationsRun: boolean;
  seedDemoData: boolean;
  embedded: { dataDir: string; port: number };
}

export interface FulfillmentConfig {
  fallbackText: string;
  errorText: string;
  interimText: string;
  responseSource: string;
  deadlinesMs: { 'dialogflow-es': number };
}

/** The validated configuration, injected wherever settings are needed (nothing else reads process.env). */
export class AppConfig {
  constructor(
    readonly nodeEnv: Environment['NODE_ENV'],
    readonly logLevel: Environment['LOG_LEVEL'],
    readonly http: HttpConfig,
    readonly database: DatabaseConfig,
    readonly fulfillment: FulfillmentConfig,
    readonly callersFile: string | undefined,
  ) {}

  get isProduction(): boolean {
    return this.nodeEnv === 'production';
  }

  /** Returns a copy pointing at another database URL (used once the embedded server is up). */
  withDatabaseUrl(url: string): AppConfig {
    return new AppConfig(
      this.nodeEnv,
      this.logLevel,
      this.http,
      { ...this.database, url },
      this.fulfillment,
      this.callersFile,
    );
  }

  static fromEnvironment(env: Environment, resolvePath: (path: string) => string): AppConfig {
    const embedded = !env.DATABASE_URL;
    return new AppConfig(
      env.NODE_ENV,
      env.LOG_LEVEL,
      {
        port: env.PORT,
        host: env.HOST ?? (env.TLS_TERMINATED_UPSTREAM ? '0.0.0.0' : '127.0.0.1'),
        tlsTerminatedUpstream: env.TLS_TERMINATED_UPSTREAM,
        bodyLimitBytes: env.BODY_LIMIT_BYTES,
      },
      {
        url: env.DATABASE_URL,
        poolSize: env.DB_POOL_SIZE,
        statementTimeoutMs: env.DB_STATEMENT_TIMEOUT_MS,
        migrationsRun: env.DB_MIGRATIONS_RUN,
        seedDemoData: env.SEED_DEMO_DATA ?? embedded,
        embedded: { dataDir: resolvePath(env.EMBEDDED_PG_DATA_DIR), port: env.EMBEDDED_PG_PORT },
      },
      {
        fallbackText: env.FALLBACK_TEXT,
        errorText: env.ERROR_TEXT,
        interimText: env.INTERIM_TEXT,
        responseSource: env.RESPONSE_SOURCE,
        deadlinesMs: { 'dialogflow-es': env.DIALOGFLOW_ES_DEADLINE_MS },
      },
      env.CALLERS_FILE ? resolvePath(env.CALLERS_FILE) : undefined,
    );
  }
}
