import 'reflect-metadata';

import { resolve } from 'node:path';
import { getMetadataStorage } from 'class-validator';
import { AppConfig } from './app-config';
import { Environment } from './environment';
import { ConfigError, loadConfig } from './load-config';

const CWD = '/srv/webhook';

/** Runs loadConfig expecting it to throw a ConfigError, and returns that error. */
function configError(env: NodeJS.ProcessEnv, cwd = CWD): ConfigError {
  let caught: unknown;
  try {
    loadConfig(env, cwd);
  } catch (error: unknown) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(ConfigError);
  return caught as ConfigError;
}

/** The variable name each problem line starts with (the text before the first colon). */
function variablesOf(error: ConfigError): string[] {
  return error.problems.map((problem) => problem.slice(0, problem.indexOf(':')));
}

describe('loadConfig', () => {
  it('reads every variable the Environment declares, optional ones without a default included', () => {
    const validated = new Set(
      getMetadataStorage()
        .getTargetValidationMetadatas(Environment, '', true, false)
        .map((metadata) => metadata.propertyName),
    );
    expect([...validated].filter((name) => !Object.keys(new Environment()).includes(name))).toEqual([]);
    const config = loadConfig(
      {
        PENDING_FOLLOWUP_EVENT: 'PENDING',
        SHUTDOWN_DELAY_MS: '1234',
        TRACE_PARAMETER_ALLOWLIST: 'account_type',
      },
      CWD,
    );
    expect(config.fulfillment.pendingFollowupEvent).toBe('PENDING');
    expect(config.shutdown.delayMs).toBe(1234);
    expect(config.observability.parameterAllowlist).toEqual(['account_type']);
  });

  describe('with an empty environment', () => {
    const config = loadConfig({}, CWD);

    it('returns an AppConfig for development', () => {
      expect(config).toBeInstanceOf(AppConfig);
      expect(config.nodeEnv).toBe('development');
      expect(config.isProduction).toBe(false);
      expect(config.logLevel).toBe('info');
      expect(config.callersFile).toBeUndefined();
    });

    it('listens on 127.0.0.1:8080 with a 1 MiB body limit and no upstream TLS', () => {
      expect(config.http).toEqual({
        port: 8080,
        host: '127.0.0.1',
        tlsTerminatedByProxy: false,
        jsonMaxDepth: 64,
        headersTimeoutMs: 10000,
        requestTimeoutMs: 30000,
        keepAliveTimeoutMs: 5000,
        overloadDelayMs: 200,
        overloadInFlight: 128,
        openApi: true,
        bodyLimitBytes: 1024 * 1024,
      });
    });

    it('uses the embedded database and seeds demo data', () => {
      expect(config.database.url).toBeUndefined();
      expect(config.database.seedDemoData).toBe(true);
      expect(config.database.migrationsRun).toBe(true);
      expect(config.database.poolSize).toBe(10);
      expect(config.database.statementTimeoutMs).toBe(3000);
      expect(config.database.embedded).toEqual({ dataDir: resolve(CWD, '.data/postgres'), port: 54329 });
    });

    it('gives Dialogflow ES a 4500 ms deadline and non-empty default replies', () => {
      expect(config.fulfillment.deadlinesMs).toEqual({
        'dialogflow-es': 4500,
        'dialogflow-cx': 4500,
        'lex-v2': 3500,
        rasa: 4500,
        generic: 4500,
      });
      expect(config.fulfillment.responseSource).toBe('webhook-fulfillment');
      expect(config.fulfillment.fallbackText.length).toBeGreaterThan(0);
      expect(config.fulfillment.errorText.length).toBeGreaterThan(0);
      expect(config.fulfillment.interimText.length).toBeGreaterThan(0);
    });
  });

  it('ignores variables it does not know', () => {
    const config = loadConfig({ SOMETHING_ELSE: 'x', PATH: '/usr/bin' }, CWD);
    expect(config.http.port).toBe(8080);
  });

  it('parses numbers and strings from the environment', () => {
    const config = loadConfig(
      {
        PORT: ' 9090 ',
        DB_POOL_SIZE: '25',
        DB_STATEMENT_TIMEOUT_MS: '1500',
        BODY_LIMIT_BYTES: '2048',
        DIALOGFLOW_ES_DEADLINE_MS: '4000',
        EMBEDDED_PG_PORT: '6543',
        LOG_LEVEL: 'debug',
        NODE_ENV: 'test',
        FALLBACK_TEXT: 'fallback',
        ERROR_TEXT: 'error',
        INTERIM_TEXT: 'interim',
        RESPONSE_SOURCE: 'bank',
      },
      CWD,
    );
    expect(config.http.port).toBe(9090);
    expect(config.http.bodyLimitBytes).toBe(2048);
    expect(config.database.poolSize).toBe(25);
    expect(config.database.statementTimeoutMs).toBe(1500);
    expect(config.database.embedded.port).toBe(6543);
    expect(config.fulfillment).toEqual({
      fallbackText: 'fallback',
      errorText: 'error',
      interimText: 'interim',
      responseSource: 'bank',
      deadlinesMs: { 'dialogflow-es': 4000, 'dialogflow-cx': 4500, 'lex-v2': 3500, rasa: 4500, generic: 4500 },
      pendingFollowupEvent: undefined,
      lateWorkTimeoutMs: 60_000,
      rasaActions: {},
    });
    expect(config.logLevel).toBe('debug');
    expect(config.nodeEnv).toBe('test');
  });

  describe('retries, background work and shutdown', () => {
    it('has the documented defaults', () => {
      const config = loadConfig({}, CWD);
      expect(config.idempotency).toEqual({ ttlMs: 24 * 3_600_000 });
      expect(config.async).toMatchObject({ jobTimeoutMs: 60_000, jobRetries: 3, pollIntervalMs: 1000 });
      // 5s,30s,2m,10m,30m,1h, then hourly until 24 h in all.
      const delays = config.async.callbackRetryDelaysMs;
      expect(delays.slice(0, 6)).toEqual([5_000, 30_000, 120_000, 600_000, 1_800_000, 3_600_000]);
      expect(delays.slice(6).every((delay) => delay === 3_600_000)).toBe(true);
      expect(delays.reduce((sum, delay) => sum + delay, 0)).toBeLessThanOrEqual(24 * 3_600_000);
      expect(delays.reduce((sum, delay) => sum + delay, 0)).toBeGreaterThan(23 * 3_600_000);
      expect(config.degraded).toEqual({
        mode: 'reply',
        text: expect.any(String),
        unconfirmedText: expect.stringMatching(/^I couldn't confirm/),
        probeIntervalMs: 1000,
      });
      expect(config.shutdown).toEqual({ delayMs: 0, graceMs: 25_000 });
      expect(config.grpc).toEqual({ enabled: true, port: 50051, maxConnectionAgeMs: 1_800_000, reflection: true });
      expect(loadConfig({ GRPC_REFLECTION: 'false' }, CWD).grpc.reflection).toBe(false);
      expect(config.observability).toMatchObject({ metricsEnabled: true, metricsPort: 9464, parameterAllowlist: [] });
    });

    it('reads a callback schedule without extending it past a zero horizon', () => {
      const config = loadConfig({ CALLBACK_RETRY_SCHEDULE: '100ms,2s,1m', CALLBACK_RETRY_HORIZON_HOURS: '0' }, CWD);
      expect(config.async.callbackRetryDelaysMs).toEqual([100, 2000, 60_000]);
    });

    it('delays shutdown by 5 s in production unless told otherwise', () => {
      const production = {
        NODE_ENV: 'production',
        DATABASE_URL: 'postgres://u:p@db:5432/app',
        CALLERS_FILE: '/etc/callers.yaml',
        TLS_TERMINATED_BY_PROXY: 'true',
      };
      expect(loadConfig(production, CWD).shutdown.delayMs).toBe(5000);
      expect(loadConfig({ ...production, SHUTDOWN_DELAY_MS: '0' }, CWD).shutdown.delayMs).toBe(0);
    });

    it('refuses a SHUTDOWN_DELAY_MS that leaves under 2 s of SHUTDOWN_GRACE_MS to drain (the grace counts from SIGTERM)', () => {
      expect(configError({ SHUTDOWN_DELAY_MS: '24000' }).message).toContain(
        'SHUTDOWN_DELAY_MS: 24000 leaves less than 2000 ms of SHUTDOWN_GRACE_MS (25000) to drain and close',
      );
      expect(variablesOf(configError({ SHUTDOWN_DELAY_MS: '30000', SHUTDOWN_GRACE_MS: '25000' }))).toEqual([
        'SHUTDOWN_DELAY_MS',
      ]);
      expect(loadConfig({ SHUTDOWN_DELAY_MS: '23000' }, CWD).shutdown).toMatchObject({
        delayMs: 23000,
        graceMs: 25000,
      });
    });

    it('refuses malformed values, naming each variable', () => {
      expect(
        variablesOf(
          configError({
            CALLBACK_RETRY_SCHEDULE: '5 seconds',
            DEGRADED_MODE: 'maybe',
            ASYNC_POLL_INTERVAL_MS: '100',
            PENDING_FOLLOWUP_EVENT: 'has spaces',
          }),
        ).sort(),
      ).toEqual(['ASYNC_POLL_INTERVAL_MS', 'CALLBACK_RETRY_SCHEDULE', 'DEGRADED_MODE', 'PENDING_FOLLOWUP_EVENT']);
    });
  });

  it('refuses a replica lag and check interval that outlast the primary reads after a write of unknown position', () => {
    expect(
      loadConfig({ REPLICA_MAX_LAG_MS: '30000', REPLICA_CHECK_INTERVAL_MS: '1000' }, CWD).database.replicas,
    ).toBeDefined();
    const error = configError({ REPLICA_MAX_LAG_MS: '3600000' });
    expect(variablesOf(error)).toEqual(['REPLICA_MAX_LAG_MS']);
    expect(error.message).toContain(
      'REPLICA_MAX_LAG_MS: 3600000 plus REPLICA_CHECK_INTERVAL_MS (200) must stay under 60000 ms',
    );
  });

  it('reads the Rasa action map and refuses a malformed one', () => {
    expect(
      loadConfig({ RASA_ACTIONS: 'action_balance=GetAccountBalance,action_tx=GetRecentTransactions' }, CWD).fulfillment
        .rasaActions,
    ).toEqual({
      action_balance: 'GetAccountBalance',
      action_tx: 'GetRecentTransactions',
    });
    expect(variablesOf(configError({ RASA_ACTIONS: 'action_balance' }))).toEqual(['RASA_ACTIONS']);
    // Rasa takes any action name a domain declares, hyphens and dots included.
    expect(
      loadConfig({ RASA_ACTIONS: 'action-get-balance=GetAccountBalance,bank.tx=GetRecentTransactions' }, CWD)
        .fulfillment.rasaActions,
    ).toEqual({ 'action-get-balance': 'GetAccountBalance', 'bank.tx': 'GetRecentTransactions' });
    // One action mapped twice is a mistake to say, not to settle silently by the last entry.
    const twice = configError({ RASA_ACTIONS: 'action_x=GetAccountBalance,action_x=TransferFunds' });
    expect(variablesOf(twice)).toEqual(['RASA_ACTIONS']);
    expect(twice.message).toContain('action_x');
  });

  it('reads the Rasa slot map and refuses a malformed one or a parameter mapped twice', () => {
    expect(loadConfig({ RASA_SLOT_MAP: 'visits=visit_count,date=appointment_date' }, CWD).rasa.slotMap).toEqual({
      visits: 'visit_count',
      date: 'appointment_date',
    });
    expect(loadConfig({}, CWD).rasa.slotMap).toEqual({});
    expect(configError({ RASA_SLOT_MAP: 'visits:visit_count' }).problems).toEqual([
      'RASA_SLOT_MAP: must be a comma-separated list of handlerParameter=rasa_slot, each parameter once (got "visits:visit_count")',
    ]);
    expect(configError({ RASA_SLOT_MAP: 'visits=a,date=b,visits=c' }).problems).toEqual([
      'RASA_SLOT_MAP: maps "visits" more than once (got "visits=a,date=b,visits=c")',
    ]);
  });

  it('keeps the Rasa SDK routes behind credentials unless RASA_OPEN_ENDPOINTS=true', () => {
    expect(loadConfig({}, CWD).rasa.openEndpoints).toBe(false);
    expect(loadConfig({ RASA_OPEN_ENDPOINTS: 'true' }, CWD).rasa.openEndpoints).toBe(true);
    expect(variablesOf(configError({ RASA_OPEN_ENDPOINTS: 'sometimes' }))).toEqual(['RASA_OPEN_ENDPOINTS']);
  });

  describe('DATABASE_URL', () => {
    const url = 'postgres://app:s3cret@db.internal:5432/app';

    it('seeds an empty database by default in development only', () => {
      const config = loadConfig({ DATABASE_URL: url }, CWD);
      expect(config.database.url).toBe(url);
      expect(config.database.seedDemoData).toBe(true);
      expect(loadConfig({ DATABASE_URL: url, NODE_ENV: 'test' }, CWD).database.seedDemoData).toBe(false);
      const production = {
        DATABASE_URL: url,
        NODE_ENV: 'production',
        TLS_TERMINATED_BY_PROXY: 'true',
        CALLERS_FILE: 'c.yaml',
      };
      expect(loadConfig(production, CWD).database.seedDemoData).toBe(false);
    });

    it('lets SEED_DEMO_DATA=false turn development seeding off', () => {
      expect(loadConfig({ DATABASE_URL: url, SEED_DEMO_DATA: 'false' }, CWD).database.seedDemoData).toBe(false);
    });

    it('seeds demo data when SEED_DEMO_DATA=true', () => {
      expect(loadConfig({ DATABASE_URL: url, SEED_DEMO_DATA: 'true' }, CWD).database.seedDemoData).toBe(true);
    });

    it('lets SEED_DEMO_DATA=false turn seeding off for the embedded database', () => {
      expect(loadConfig({ SEED_DEMO_DATA: 'false' }, CWD).database.seedDemoData).toBe(false);
    });

    it('accepts postgresql:// URLs', () => {
      const other = 'postgresql://app@localhost/app';
      expect(loadConfig({ DATABASE_URL: other }, CWD).database.url).toBe(other);
    });

    it('reads several servers and target_session_attrs, keeping one server in url for pg and TypeORM', () => {
      const config = loadConfig(
        {
          DATABASE_URL: 'postgres://app:s3cret@db-0:5432,db-1:6432/app?sslmode=require&target_session_attrs=read-write',
        },
        CWD,
      );
      expect(config.database.url).toBe('postgres://app:s3cret@db-0:5432/app?sslmode=require');
      expect(config.database.servers).toEqual({
        list: [
          { host: 'db-0', port: 5432 },
          { host: 'db-1', port: 6432 },
        ],
        target: 'read-write',
        around: { before: 'postgres://app:s3cret@', after: '/app?sslmode=require' },
      });
      expect(loadConfig({ DATABASE_URL: url }, CWD).database.servers).toBeUndefined();
    });

    it('refuses a target_session_attrs that would send the writes to a standby, and a malformed list', () => {
      expect(() =>
        loadConfig({ DATABASE_URL: 'postgres://app@db-0,db-1/app?target_session_attrs=standby' }, CWD),
      ).toThrow(/DATABASE_URL: target_session_attrs=standby cannot be used: the service writes/);
      expect(() => loadConfig({ DATABASE_URL: 'postgres://app@db-0,,db-1/app' }, CWD)).toThrow(
        /DATABASE_URL: lists an empty server/,
      );
      expect(() => loadConfig({ DATABASE_URL: 'postgres://app@db-0,db-1:99999/app' }, CWD)).toThrow(
        /DATABASE_URL: the port of server 2 of the list is not a port number/,
      );
    });

    it('never echoes a password whose unencoded "/" ended the host list early', () => {
      let message = '';
      try {
        loadConfig({ DATABASE_URL: 'postgres://app:s3cr/et@db-0,db-1/app?target_session_attrs=read-write' }, CWD);
      } catch (error: unknown) {
        message = (error as Error).message;
      }
      expect(message).toMatch(/DATABASE_URL: cannot read server 1 of the list/);
      expect(message).not.toMatch(/s3cr|app:/);
    });

    it('treats an empty DATABASE_URL as unset', () => {
      const config = loadConfig({ DATABASE_URL: '' }, CWD);
      expect(config.database.url).toBeUndefined();
      expect(config.database.seedDemoData).toBe(true);
    });

    it('never echoes its value in the error, which may hold a password', () => {
      const secret = 'mysql://admin:hunter2-very-secret@db.example.com/app';
      const error = configError({ DATABASE_URL: secret });
      expect(variablesOf(error)).toEqual(['DATABASE_URL']);
      expect(error.message).not.toContain('hunter2');
      expect(error.message).not.toContain(secret);
      expect(error.problems.join('\n')).not.toContain('hunter2');
    });

    it('is also kept out of the error when other variables are invalid', () => {
      const error = configError({ DATABASE_URL: 'postgres://u:pa ss@h/db', PORT: 'abc' });
      expect(variablesOf(error).sort()).toEqual(['DATABASE_URL', 'PORT']);
      expect(error.message).not.toContain('pa ss');
      // Other variables do show what they got, which helps fix them.
      expect(error.problems.find((p) => p.startsWith('PORT'))).toContain('"abc"');
    });
  });

  describe('connection URLs, read in full as the drivers will', () => {
    const password = 's3cret';
    const refusals: [string, string, RegExp][] = [
      [
        'DATABASE_URL',
        `postgres://u:${password}@h:99999/db`,
        /^DATABASE_URL: the port is not a port number \(1-65535\)/,
      ],
      ['DATABASE_URL', `postgres://u:${password}@h:0/db`, /^DATABASE_URL: the port is not a port number/],
      ['DATABASE_URL', `postgres://u:${password}#x@h:5432/db`, /^DATABASE_URL: cannot read the host and port/],
      ['DATABASE_URL', `postgres://u:${password}/x@h:5432/db`, /^DATABASE_URL: cannot read the host and port/],
      ['DATABASE_URL', `postgres://u:${password}?x@h:5432/db`, /^DATABASE_URL: cannot read the host and port/],
      // What precedes the unencoded character reads as a port: the rest would go to another host without a password.
      ['DATABASE_URL', 'postgres://u:5432/s3cret@h/db', /^DATABASE_URL: has an @ after the host/],
      ['DATABASE_URL', 'postgres://u:5432?s3cret@h/db', /^DATABASE_URL: has an @ after the host/],
      ['DATABASE_URL', 'postgres://u:5432#s3cret@h/db', /^DATABASE_URL: has an @ after the host/],
      ['DATABASE_URL', `postgres://u:${password}%@h:5432/db`, /^DATABASE_URL: holds a % that starts no percent-escape/],
      ['DATABASE_URL', `postgres://u:${password}%C3%28@h/db`, /^DATABASE_URL: cannot be read as a URL/],
      [
        'DATABASE_REPLICA_URLS',
        `postgres://u@r1/db, postgres://u:${password}@r2:70000/db`,
        /^DATABASE_REPLICA_URLS: URL 2 of the list: the port is not a port number/,
      ],
      ['DATABASE_REPLICA_URLS', `postgres://u:${password}#@r1/db`, /^DATABASE_REPLICA_URLS: cannot read the host/],
      ['REDIS_URL', `redis://:${password}@h:99999`, /^REDIS_URL: the port is not a port number \(1-65535\)/],
      [
        'REDIS_URL',
        `redis://:${password}@h:6379/x`,
        /^REDIS_URL: the database number .* must be a non-negative integer/,
      ],
      ['REDIS_URL', `rediss://:${password}@h:6379/-1`, /^REDIS_URL: the database number/],
      ['REDIS_URL', `redis://:${password}@h:6379?db=one`, /^REDIS_URL: the database number/],
      ['REDIS_URL', `redis://:${password}/x@h:6379/0`, /^REDIS_URL: cannot read the host and port/],
      ['REDIS_URL', `redis://:${password}%zz@h:6379/0`, /^REDIS_URL: holds a % that starts no percent-escape/],
    ];

    it.each(refusals)('refuses %s=%s with one line naming it, never the password', (variable, url, message) => {
      const error = configError({ [variable]: url });
      expect(error.problems).toEqual([expect.stringMatching(message)]);
      expect(error.message).not.toContain(password);
      expect(error.message).not.toMatch(/5432\/|h:|r2|x@/);
    });

    it('says how to write a password holding reserved characters', () => {
      expect(configError({ DATABASE_URL: 'postgres://u:p#w@h/db' }).problems[0]).toContain(
        'a password (or user name) holding any of @ : / ? # % or a space must be percent-encoded (e.g. / as %2F, # as %23, % as %25)',
      );
    });

    it('accepts what the drivers read as meant: encoded passwords, an unencoded @, sockets, IPv6, database numbers', () => {
      const config = loadConfig(
        {
          DATABASE_URL: 'postgres://app:p%23ss%2Fw%25rd@db.internal:6432/app?sslmode=require&application_name=a@b',
          DATABASE_REPLICA_URLS: 'postgres://app:p@ss@[::1]:5433/app,postgresql://%2Fvar%2Frun%2Fpostgresql/app',
          REDIS_URL: 'rediss://default:p%40ss@redis.internal:6380/3',
        },
        CWD,
      );
      expect(config.database.replicas.urls).toHaveLength(2);
      expect(config.redisUrl).toBe('rediss://default:p%40ss@redis.internal:6380/3');
      for (const url of ['postgres:///app?host=/var/run/postgresql', 'postgres://db/app', 'postgres://u@h:1/d']) {
        expect(loadConfig({ DATABASE_URL: url }, CWD).database.url).toBe(url);
      }
      for (const url of ['redis://r', 'redis://r:6379', 'redis://r/', 'redis://r:6379/15', 'redis://r/0?db=2']) {
        expect(loadConfig({ REDIS_URL: url }, CWD).redisUrl).toBe(url);
      }
    });

    it('refuses a Sentinel port out of range', () => {
      expect(configError({ REDIS_URL: 'redis://r/0', REDIS_SENTINELS: 's-0:26379,s-1:99999' }).problems).toEqual([
        'REDIS_SENTINELS: the port of s-1:99999 (Sentinel 2) is not a port number (1-65535)',
      ]);
    });
  });

  describe('numbers', () => {
    const integers = getMetadataStorage()
      .getTargetValidationMetadatas(Environment, '', true, false)
      .filter((metadata) => metadata.name === 'isInt')
      .map((metadata) => metadata.propertyName);

    it('says only "must be an integer" of a value that is no number, for every number variable', () => {
      expect(integers).toContain('PORT');
      expect(configError({ PORT: '10s' }).problems).toEqual(['PORT: must be an integer (got "10s")']);
      for (const variable of integers) {
        expect(configError({ [variable]: 'ten' }).problems).toEqual([`${variable}: must be an integer (got "ten")`]);
      }
    });

    it('says which bound a number is out of, once, without repeating the name', () => {
      expect(configError({ PORT: '70000' }).problems).toEqual(['PORT: must not be greater than 65535 (got 70000)']);
      expect(configError({ DB_POOL_SIZE: '0' }).problems).toEqual(['DB_POOL_SIZE: must not be less than 1 (got 0)']);
      expect(configError({ NODE_ENV: 'staging' }).problems).toEqual([
        'NODE_ENV: must be one of the following values: development, test, production (got "staging")',
      ]);
    });
  });

  describe('variables that look misspelt', () => {
    function warningsOf(env: NodeJS.ProcessEnv, knownVariables: string[] = []): string[] {
      const warnings: string[] = [];
      try {
        loadConfig(env, CWD, { warn: (message) => warnings.push(message), knownVariables });
      } catch (error: unknown) {
        if (!(error instanceof ConfigError)) throw error;
      }
      return warnings;
    }

    it('warns once per variable close to one of the service’s, naming it and never the value', () => {
      const warnings = warningsOf({
        THROTLE_LIMIT: '1200',
        DATABSE_URL: 'postgres://u:s3cret@db/app',
        PATH: '/usr/bin',
        HOME: '/root',
        SOMETHING_ELSE: 'x',
      });
      expect(warnings).toEqual([
        'THROTLE_LIMIT is not a variable of the service and is ignored: did you mean THROTTLE_LIMIT?',
        'DATABSE_URL is not a variable of the service and is ignored: did you mean DATABASE_URL?',
      ]);
      expect(warnings.join('\n')).not.toMatch(/1200|s3cret|postgres/);
    });

    it('warns also when the configuration is refused, and of the variables the sections read', () => {
      expect(warningsOf({ NODE_ENV: 'production', DATABSE_URL: 'postgres://db/app' })).toEqual([
        expect.stringMatching(/^DATABSE_URL .* did you mean DATABASE_URL\?$/),
      ]);
      expect(
        warningsOf({ CARRIER_API_URL: 'https://c', CARIER_TIMEOUT_MS: '1' }, ['CARRIER_API_URL', 'CARRIER_TIMEOUT_MS']),
      ).toEqual([expect.stringMatching(/^CARIER_TIMEOUT_MS .* did you mean CARRIER_TIMEOUT_MS\?$/)]);
    });

    it('writes each warning as a JSON line on stderr by default, unless LOG_LEVEL is error or fatal', () => {
      const written = jest.spyOn(process.stderr, 'write').mockImplementation(() => true);
      try {
        loadConfig({ THROTLE_LIMIT: '1200' }, CWD);
        loadConfig({ THROTLE_LIMIT: '1200', LOG_LEVEL: 'error' }, CWD);
        expect(written).toHaveBeenCalledTimes(1);
        const line = JSON.parse(String(written.mock.calls[0][0])) as Record<string, unknown>;
        expect(line).toMatchObject({
          level: 'warn',
          context: 'Config',
          msg: expect.stringContaining('THROTTLE_LIMIT'),
        });
      } finally {
        written.mockRestore();
      }
    });
  });

  describe('invalid values', () => {
    it('reports several bad variables at once, one line each, starting with the variable name', () => {
      const error = configError({
        PORT: 'abc',
        DB_POOL_SIZE: '0',
        LOG_LEVEL: 'loud',
        DATABASE_URL: 'mysql://x',
      });
      expect(error.name).toBe('ConfigError');
      expect(error.problems).toHaveLength(4);
      expect(variablesOf(error).sort()).toEqual(['DATABASE_URL', 'DB_POOL_SIZE', 'LOG_LEVEL', 'PORT']);
      for (const variable of ['PORT', 'DB_POOL_SIZE', 'LOG_LEVEL', 'DATABASE_URL']) {
        expect(error.problems.filter((p) => p.startsWith(`${variable}:`))).toHaveLength(1);
        expect(error.message).toContain(variable);
      }
      expect(error.problems.every((p) => !p.includes('\n'))).toBe(true);
      expect(error.message).not.toContain('mysql://x');
    });

    it.each<[string, string]>([
      ['PORT', '70000'],
      ['PORT', '-1'],
      ['PORT', '80.5'],
      ['DB_POOL_SIZE', '201'],
      ['DB_STATEMENT_TIMEOUT_MS', '99'],
      ['BODY_LIMIT_BYTES', '1023'],
      ['DIALOGFLOW_ES_DEADLINE_MS', '49'],
      ['DIALOGFLOW_ES_DEADLINE_MS', '5001'],
      ['EMBEDDED_PG_PORT', '0'],
      ['NODE_ENV', 'staging'],
      ['TLS_TERMINATED_BY_PROXY', 'maybe'],
      ['DB_MIGRATIONS_RUN', 'yes please'],
      ['SEED_DEMO_DATA', '2'],
      ['EMBEDDED_PG_DATA_DIR', ''],
      ['FALLBACK_TEXT', ''],
      ['RESPONSE_SOURCE', 'x'.repeat(101)],
    ])('rejects %s=%j', (variable, value) => {
      const error = configError({ [variable]: value });
      expect(variablesOf(error)).toEqual([variable]);
      // Numbers are shown as parsed, everything else as the string received.
      expect(error.problems[0]).toContain('(got ');
      expect(error.problems[0]).toContain(value);
    });
  });

  describe('production', () => {
    it('requires DATABASE_URL, TLS (own files or TLS_TERMINATED_BY_PROXY) and CALLERS_FILE, naming each', () => {
      const error = configError({ NODE_ENV: 'production' });
      expect(variablesOf(error).sort()).toEqual(['CALLERS_FILE', 'DATABASE_URL', 'TLS_CERT_FILE']);
    });

    it('reports the production requirements together with unrelated bad values', () => {
      const error = configError({ NODE_ENV: 'production', PORT: 'abc', DATABASE_URL: 'mysql://x' });
      expect(variablesOf(error).sort()).toEqual(['CALLERS_FILE', 'DATABASE_URL', 'PORT', 'TLS_CERT_FILE']);
      expect(error.problems.filter((p) => p.startsWith('DATABASE_URL'))).toHaveLength(1);
    });

    it('asks a process that serves nothing (the database CLI) for DATABASE_URL only', () => {
      const error = (() => {
        try {
          loadConfig({ NODE_ENV: 'production' }, '/srv', { serving: false });
        } catch (thrown: unknown) {
          return thrown as ConfigError;
        }
        throw new Error('expected a ConfigError');
      })();
      expect(variablesOf(error)).toEqual(['DATABASE_URL']);
      const config = loadConfig({ NODE_ENV: 'production', DATABASE_URL: 'postgres://app@db/app' }, '/srv', {
        serving: false,
      });
      expect(config.database.url).toBe('postgres://app@db/app');
      expect(config.tls).toBeUndefined();
    });

    it('keeps the operator console off unless asked', () => {
      const production = {
        NODE_ENV: 'production',
        DATABASE_URL: 'postgres://app@db/app',
        TLS_TERMINATED_BY_PROXY: 'true',
        CALLERS_FILE: 'callers.yaml',
      };
      expect(loadConfig(production, CWD).admin.enabled).toBe(false);
      expect(loadConfig({ ADMIN_PORT: '9999' }, CWD).admin).toEqual({ enabled: true, port: 9999, host: '127.0.0.1' });
    });

    it('names only what is missing', () => {
      const error = configError({
        NODE_ENV: 'production',
        DATABASE_URL: 'postgres://app@db/app',
        TLS_TERMINATED_BY_PROXY: 'true',
      });
      expect(variablesOf(error)).toEqual(['CALLERS_FILE']);
    });

    it('starts when everything is set, binding to all interfaces behind TLS', () => {
      const config = loadConfig(
        {
          NODE_ENV: 'production',
          DATABASE_URL: 'postgres://app@db/app',
          TLS_TERMINATED_BY_PROXY: 'true',
          CALLERS_FILE: '/etc/webhook/callers.yaml',
        },
        CWD,
      );
      expect(config.isProduction).toBe(true);
      expect(config.http.host).toBe('0.0.0.0');
      expect(config.http.tlsTerminatedByProxy).toBe(true);
      expect(config.callersFile).toBe('/etc/webhook/callers.yaml');
      expect(config.database.seedDemoData).toBe(false);
    });
  });

  it('serves the OpenAPI document by default except in production, and OPENAPI_ENABLED overrides', () => {
    const production = {
      NODE_ENV: 'production',
      DATABASE_URL: 'postgres://db/app',
      CALLERS_FILE: '/etc/callers.yaml',
      TLS_TERMINATED_BY_PROXY: 'true',
    };
    expect(loadConfig({}, CWD).http.openApi).toBe(true);
    expect(loadConfig(production, CWD).http.openApi).toBe(false);
    expect(loadConfig({ ...production, OPENAPI_ENABLED: 'true' }, CWD).http.openApi).toBe(true);
    expect(loadConfig({ OPENAPI_ENABLED: 'false' }, CWD).http.openApi).toBe(false);
  });

  describe('TLS', () => {
    it('needs both the certificate and the key', () => {
      expect(variablesOf(configError({ TLS_CERT_FILE: 'c.pem' }))).toEqual(['TLS_KEY_FILE']);
      expect(variablesOf(configError({ TLS_KEY_FILE: 'k.pem' }))).toEqual(['TLS_CERT_FILE']);
    });

    it('needs a CA bundle to require client certificates', () => {
      const error = configError({ TLS_CERT_FILE: 'c.pem', TLS_KEY_FILE: 'k.pem', TLS_CLIENT_AUTH: 'require' });
      expect(variablesOf(error)).toEqual(['TLS_CA_FILE']);
    });

    it('refuses a CRL where no client certificate is asked for (it would be checked against no CA)', () => {
      const tls = { TLS_CERT_FILE: 'c.pem', TLS_KEY_FILE: 'k.pem', TLS_CRL_FILE: 'crl.pem' };
      expect(variablesOf(configError(tls))).toEqual(['TLS_CRL_FILE']);
      expect(variablesOf(configError({ ...tls, TLS_CA_FILE: 'ca.pem', TLS_CLIENT_AUTH: 'off' }))).toEqual([
        'TLS_CRL_FILE',
      ]);
      expect(loadConfig({ ...tls, TLS_CA_FILE: 'ca.pem' }, CWD).tls).toMatchObject({ clientAuth: 'optional' });
    });

    it('defaults client authentication to optional with a CA and binds all interfaces', () => {
      const config = loadConfig({ TLS_CERT_FILE: 'c.pem', TLS_KEY_FILE: 'k.pem', TLS_CA_FILE: 'ca.pem' }, CWD);
      expect(config.tls).toMatchObject({ clientAuth: 'optional', certFile: resolve(CWD, 'c.pem') });
      expect(config.http.host).toBe('0.0.0.0');
    });

    it('accepts production with its own TLS instead of a proxy', () => {
      const config = loadConfig(
        {
          NODE_ENV: 'production',
          DATABASE_URL: 'postgres://app@db/app',
          CALLERS_FILE: '/etc/callers.yaml',
          TLS_CERT_FILE: '/tls/tls.crt',
          TLS_KEY_FILE: '/tls/tls.key',
        },
        CWD,
      );
      expect(config.tls?.clientAuth).toBe('off');
    });
  });

  describe('HOST', () => {
    it('rejects a non-loopback HOST without TLS_TERMINATED_BY_PROXY', () => {
      const error = configError({ HOST: '0.0.0.0' });
      expect(variablesOf(error)).toEqual(['HOST']);
      expect(error.problems[0]).toContain('"0.0.0.0"');
    });

    it.each(['127.0.0.1', '::1', 'localhost'])('accepts loopback %s without TLS', (host) => {
      expect(loadConfig({ HOST: host }, CWD).http.host).toBe(host);
    });

    it('accepts 0.0.0.0 with TLS_TERMINATED_BY_PROXY', () => {
      expect(loadConfig({ HOST: '0.0.0.0', TLS_TERMINATED_BY_PROXY: 'true' }, CWD).http.host).toBe('0.0.0.0');
    });

    it('treats an empty HOST as unset', () => {
      expect(loadConfig({ HOST: '' }, CWD).http.host).toBe('127.0.0.1');
    });

    it('treats an empty optional number or switch as unset (PROBE_PORT=${PROBE_PORT} in a compose file), as text', () => {
      const config = loadConfig(
        { PROBE_PORT: '', SHUTDOWN_DELAY_MS: ' ', ADMIN_ENABLED: '', OPENAPI_ENABLED: '', SEED_DEMO_DATA: '' },
        CWD,
      );
      const defaults = loadConfig({}, CWD);
      expect(config.http.probePort).toBeUndefined();
      expect(config.shutdown).toEqual(defaults.shutdown);
      expect(config.admin.enabled).toBe(defaults.admin.enabled);
      // A number with a default still needs one.
      expect(variablesOf(configError({ PORT: '' }))).toEqual(['PORT']);
    });
  });

  describe('paths', () => {
    it('resolves a relative EMBEDDED_PG_DATA_DIR and CALLERS_FILE against cwd', () => {
      const config = loadConfig({ EMBEDDED_PG_DATA_DIR: 'var/pg', CALLERS_FILE: './conf/callers.yaml' }, CWD);
      expect(config.database.embedded.dataDir).toBe('/srv/webhook/var/pg');
      expect(config.callersFile).toBe('/srv/webhook/conf/callers.yaml');
    });

    it('keeps absolute paths as they are', () => {
      const config = loadConfig({ EMBEDDED_PG_DATA_DIR: '/data/pg', CALLERS_FILE: '/etc/callers.yaml' }, CWD);
      expect(config.database.embedded.dataDir).toBe('/data/pg');
      expect(config.callersFile).toBe('/etc/callers.yaml');
    });

    it('treats an empty CALLERS_FILE as unset', () => {
      expect(loadConfig({ CALLERS_FILE: '' }, CWD).callersFile).toBeUndefined();
    });
  });

  describe('booleans', () => {
    it.each<[string, boolean]>([
      ['true', true],
      ['1', true],
      ['TRUE', true],
      ['false', false],
      ['0', false],
      [' False ', false],
    ])('accepts %j as %p', (value, expected) => {
      const config = loadConfig(
        { TLS_TERMINATED_BY_PROXY: value, DB_MIGRATIONS_RUN: value, SEED_DEMO_DATA: value },
        CWD,
      );
      expect(config.http.tlsTerminatedByProxy).toBe(expected);
      expect(config.database.migrationsRun).toBe(expected);
      expect(config.database.seedDemoData).toBe(expected);
      // Without an explicit HOST the bind address follows TLS_TERMINATED_BY_PROXY.
      expect(config.http.host).toBe(expected ? '0.0.0.0' : '127.0.0.1');
    });
  });

  it('defaults cwd to process.cwd()', () => {
    expect(loadConfig({ CALLERS_FILE: 'callers.yaml' }).callersFile).toBe(resolve(process.cwd(), 'callers.yaml'));
  });

  it('withDatabaseUrl returns a copy pointing at another database', () => {
    const config = loadConfig({}, CWD);
    const copy = config.withDatabaseUrl('postgres://embedded@127.0.0.1:54329/app');
    expect(copy.database.url).toBe('postgres://embedded@127.0.0.1:54329/app');
    expect(copy.database.seedDemoData).toBe(true);
    expect(config.database.url).toBeUndefined();
  });

  describe('Redis Sentinels', () => {
    it('are read as host:port pairs, with the group name and their own password', () => {
      const config = loadConfig(
        {
          REDIS_URL: 'redis://:secret@primary/2',
          REDIS_SENTINELS: 'sentinel-0.redis:26379,10.0.0.7:26380',
          REDIS_SENTINEL_NAME: 'cache-primary',
          REDIS_SENTINEL_PASSWORD: 'sentinel-secret',
        },
        CWD,
      );
      expect(config.redisTopology.sentinels).toEqual({
        addresses: [
          { host: 'sentinel-0.redis', port: 26379 },
          { host: '10.0.0.7', port: 26380 },
        ],
        name: 'cache-primary',
        password: 'sentinel-secret',
      });
      expect(
        loadConfig({ REDIS_URL: 'redis://r/0', REDIS_SENTINELS: 's:26379' }, CWD).redisTopology.sentinels?.name,
      ).toBe('mymaster');
      expect(loadConfig({ REDIS_URL: 'redis://r/0' }, CWD).redisTopology.sentinels).toBeUndefined();
    });

    it('are refused when malformed, without REDIS_URL, or with rediss:// (not supported through Sentinels)', () => {
      expect(configError({ REDIS_URL: 'redis://r/0', REDIS_SENTINELS: 'sentinel-0' }).problems).toEqual([
        expect.stringMatching(/^REDIS_SENTINELS: must be a comma-separated list of host:port/),
      ]);
      expect(configError({ REDIS_SENTINELS: 's:26379' }).problems).toEqual([
        expect.stringMatching(/^REDIS_URL: is required with REDIS_SENTINELS/),
      ]);
      expect(configError({ REDIS_URL: 'rediss://r/0', REDIS_SENTINELS: 's:26379' }).problems).toEqual([
        expect.stringMatching(/^REDIS_SENTINELS: Redis over TLS \(rediss:\/\/\) through Sentinels is not supported/),
      ]);
      const error = configError({ REDIS_URL: 'redis://r/0', REDIS_SENTINELS: 's:1', REDIS_SENTINEL_NAME: 'no spaces' });
      expect(variablesOf(error)).toEqual(['REDIS_SENTINEL_NAME']);
    });
  });

  describe('Redis Cluster', () => {
    it('is off unless REDIS_CLUSTER=true, which takes REDIS_URL as one node of the cluster', () => {
      expect(loadConfig({ REDIS_URL: 'redis://r:6379' }, CWD).redisTopology.cluster).toBe(false);
      const config = loadConfig({ REDIS_URL: 'rediss://:secret@cluster.example:6379/0', REDIS_CLUSTER: 'true' }, CWD);
      expect(config.redisTopology).toEqual({ cluster: true, sentinels: undefined });
    });

    it('is refused without REDIS_URL, with Sentinels, or with a database other than 0 (a cluster has no other)', () => {
      expect(configError({ REDIS_CLUSTER: 'true' }).problems).toEqual([
        expect.stringMatching(/^REDIS_URL: is required with REDIS_CLUSTER: one node of the cluster/),
      ]);
      expect(
        configError({ REDIS_URL: 'redis://r/0', REDIS_CLUSTER: 'true', REDIS_SENTINELS: 's:26379' }).problems,
      ).toEqual([
        'REDIS_CLUSTER: a Redis Cluster is not reached through Sentinels; set REDIS_CLUSTER or REDIS_SENTINELS',
      ]);
      expect(configError({ REDIS_URL: 'redis://r:6379/2', REDIS_CLUSTER: 'true' }).problems).toEqual([
        'REDIS_URL: a Redis Cluster has database 0 only (got /2)',
      ]);
      expect(variablesOf(configError({ REDIS_URL: 'redis://r', REDIS_CLUSTER: 'maybe' }))).toEqual(['REDIS_CLUSTER']);
    });
  });
});
