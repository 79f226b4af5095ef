import './observability/tracing';
import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import type { INestApplication } from '@nestjs/common';
import { constants as osConstants } from 'node:os';
import { ListenError } from './common/errors/listen-error';
import { AppConfig, ConfigError, loadConfig, loadSections, sectionVariables } from './config';
import { connectErrorHint } from './database/connect-error-hint';
import { isReadOnlyError } from './database/connection-errors';
import { resolveDatabase } from './database/database-server';
import { EmbeddedPostgresError } from './database/embedded/embedded-postgres.errors';
import { SharedSessionsError } from './database/own-sessions';
import {
  MigrationLockHolderStuckError,
  MigrationLocksError,
  PendingMigrationsError,
} from './database/schema-migrations';
import { IntentRegistrationError } from './fulfillment/fulfillment.errors';
import { CONFIG_SECTIONS } from './lifecycle/config-sections';
import { shutDownGracefully } from './lifecycle/graceful-shutdown';
import { exitAfterLogs, exitOnUncaughtErrors } from './lifecycle/exit';
import { SERVICE_STARTED } from './lifecycle/service-started';
import { assertPortsFree } from './lifecycle/listeners';
import { logProcessWarnings } from './lifecycle/process-warnings';
import { createNestLogger, rootLogger } from './observability/logging';

/**
 * Connections the kernel may hold for the service before it accepts them. Node's default (511) overflows
 * when a platform opens hundreds of connections at once under load; a dropped SYN is retried only after a
 * second or more, past a platform's deadline. A burst here waits milliseconds, or is refused at once when
 * overloaded.
 */
const LISTEN_BACKLOG = 4096;

type AppFactory = typeof import('./app.factory.js');
type GrpcStarter = typeof import('./grpc/connect-grpc.js');
type AdminStarter = typeof import('./console/admin/admin-app.js');

/**
 * Nest, TypeORM, gRPC and every module of the application: most of start-up.
 * Required (not imported at the top) so that they load while the embedded PostgreSQL boots in its own process.
 */
function loadApplication(): [AppFactory, GrpcStarter, AdminStarter] {
  /* eslint-disable @typescript-eslint/no-require-imports -- loaded on demand, after the database server started */
  return [
    require('./app.factory') as AppFactory,
    require('./grpc/connect-grpc') as GrpcStarter,
    require('./console/admin/admin-app') as AdminStarter,
  ];
  /* eslint-enable @typescript-eslint/no-require-imports */
}

const noop = (): undefined => undefined;

/**
 * The signals that stop the service gracefully: SIGTERM (Kubernetes, systemd, docker stop), SIGINT (Ctrl-C) and
 * SIGHUP (the terminal that ran `npm start` closed). Node's default for SIGHUP ended the process at once: requests
 * cut off, no line logged, the embedded PostgreSQL left running. (Node resets an ignored SIGHUP at start, so
 * `nohup` never kept the process alive.)
 */
const STOP_SIGNALS = ['SIGTERM', 'SIGINT', 'SIGHUP'] as const;

/** A configuration error, before anything is logged. */
function fail(message: string): never {
  process.stderr.write(`${message}\n`);
  process.exit(1);
}

/** Start-up failed after logging began. */
function failStart(message: string): void {
  process.stderr.write(`Start-up failed: ${message}\n`);
  exitAfterLogs(1);
}

/** Errors whose message tells the operator what to fix; anything else is unexpected and logged in full. */
function describeStartupError(error: unknown): string | undefined {
  if (
    error instanceof ConfigError ||
    error instanceof IntentRegistrationError ||
    error instanceof ListenError ||
    error instanceof EmbeddedPostgresError ||
    error instanceof PendingMigrationsError ||
    error instanceof MigrationLocksError ||
    error instanceof MigrationLockHolderStuckError ||
    error instanceof SharedSessionsError
  ) {
    return error.message;
  }
  if (isReadOnlyError(error)) {
    return (
      'PostgreSQL takes no writes (25006: a standby, or default_transaction_read_only is on), and starting needs ' +
      'some (migrations, the job queue); point DATABASE_URL at the primary (or list the servers with ' +
      'target_session_attrs=read-write)'
    );
  }
  const hint = connectErrorHint(error);
  if (hint) return hint;
  // Socket errors (ECONNREFUSED, ENOTFOUND, …) and PostgreSQL errors (28P01, 3D000, …) carry a code and a
  // message without secrets; they need no stack trace to be understood.
  const code = (error as { code?: unknown } | undefined)?.code;
  if (error instanceof Error && typeof code === 'string') return `database unavailable (${code}): ${error.message}`;
  return undefined;
}

/** The configuration and the intent domains' settings, all checked before anything starts. */
function readConfig(): AppConfig {
  try {
    // The sections' variables are known too: a misspelling of one of them is warned of like a core variable's.
    const config = loadConfig(process.env, undefined, { knownVariables: sectionVariables(CONFIG_SECTIONS) });
    loadSections(config, CONFIG_SECTIONS);
    return config;
  } catch (error: unknown) {
    if (error instanceof ConfigError) fail(error.message);
    throw error;
  }
}

async function main(): Promise<void> {
  const startedAt = performance.now();
  const logger = new Logger('Main');
  const config = readConfig();
  // JSON lines from the first message on (the database may start before Nest does).
  Logger.overrideLogger(createNestLogger(config.logLevel));
  exitOnUncaughtErrors(rootLogger(config.logLevel));
  logProcessWarnings(rootLogger(config.logLevel));

  let database: Awaited<ReturnType<typeof resolveDatabase>> | undefined;
  let app: INestApplication;
  let grpcPort: number | undefined;
  let admin: Awaited<ReturnType<AdminStarter['startAdminListener']>> | undefined;
  let starting: ReturnType<typeof resolveDatabase> | undefined;
  // A stop signal before the service is up ends the start. Left to Node's default, it ended the process at once,
  // leaving the embedded PostgreSQL it had started running (and the next start waiting for it to stop).
  let aborting = false;
  const abortStart = (signal: NodeJS.Signals): void => {
    // A repeat (kill twice, Ctrl-C that npm also forwards) waits for the first: left to Node's default, it ended the
    // process at once with the embedded PostgreSQL still running.
    if (aborting) return;
    aborting = true;
    logger.log(`${signal} received during start-up: stopping`);
    rootLogger(config.logLevel).flush();
    void Promise.resolve(starting?.then((started) => started.stop()))
      .catch(noop)
      .finally(() => exitAfterLogs(128 + osConstants.signals[signal]));
  };
  for (const signal of STOP_SIGNALS) process.on(signal, abortStart);
  try {
    await assertPortsFree(config);
    // Stopped while the ports were checked: no database is started (initdb would run on, unwatched).
    if (aborting) return;
    let spawned = (): void => undefined;
    const postgresSpawned = new Promise<void>((resolve) => (spawned = resolve));
    starting = resolveDatabase(config, (message) => logger.log(message), spawned);
    // Loading is synchronous work: start it once the server process exists (or the database is settled).
    await Promise.race([postgresSpawned, starting.then(noop, noop)]);
    const [{ createHttpApp, serviceReadiness }, { connectGrpc }, { startAdminListener }] = loadApplication();
    database = await starting;
    app = await createHttpApp(config.withDatabaseUrl(database.url));
    // The modules' start-up hooks (the job queue, the metrics and probe listeners) run here, not inside listen():
    // a failure of theirs is theirs, not the HTTP port's.
    await app.init();
    // gRPC first: readiness turns true when the HTTP port listens, and gRPC clients sent by the Service then found
    // its port still closed.
    grpcPort = await connectGrpc(app, config);
    // Nest hands extra arguments to net.Server#listen: the accept backlog (the kernel caps it at somaxconn).
    const listen = app.listen.bind(app) as unknown as (port: number, host: string, backlog: number) => Promise<unknown>;
    await listen(config.http.port, config.http.host, LISTEN_BACKLOG).catch((error: unknown) => {
      // Listeners started with the application (the probe port) name themselves.
      if (error instanceof ListenError) throw error;
      throw new ListenError(
        config.tls ? 'HTTPS server' : 'HTTP server',
        config.http.host,
        config.http.port,
        'PORT',
        error,
      );
    });
    if (config.admin.enabled) admin = await startAdminListener(app, config, serviceReadiness(app));
  } catch (error: unknown) {
    // Start-up failing because a stop signal is stopping the database: the signal's handler ends the process.
    if (aborting) return;
    // The database that started, whether or not the failure came before `database` was set.
    await (await starting?.catch(noop))?.stop();
    const known = describeStartupError(error);
    if (known) return failStart(known);
    throw error;
  }

  if (aborting) return;

  let stopping = false;
  const shutdown = (signal: NodeJS.Signals): void => {
    if (stopping) return;
    stopping = true;
    logger.log(`${signal} received: closing`);
    rootLogger(config.logLevel).flush();
    const { graceMs } = config.shutdown;
    const force = setTimeout(() => {
      logger.error(`Shutdown took longer than ${graceMs} ms; exiting`);
      exitAfterLogs(1);
    }, graceMs);
    force.unref();
    Promise.resolve(admin?.close())
      .catch(() => undefined)
      .then(() => shutDownGracefully(app, config.shutdown, logger))
      .then(() => database?.stop())
      .then(() => {
        clearTimeout(force);
        logger.log('Stopped cleanly');
        exitAfterLogs(0);
      })
      .catch((error: unknown) => {
        clearTimeout(force);
        logger.error(`Shutdown failed: ${String(error)}`);
        exitAfterLogs(1);
      });
  };
  // In place before "Listening" is written: whoever waits for that line may signal the moment it sees it.
  for (const signal of STOP_SIGNALS) {
    process.off(signal, abortStart);
    process.on(signal, shutdown);
  }

  const scheme = config.tls ? 'https' : 'http';
  const tls = config.tls
    ? `TLS 1.2+, client certificates ${config.tls.clientAuth === 'off' ? 'not requested' : config.tls.clientAuth}`
    : config.http.tlsTerminatedByProxy
      ? 'TLS ends at the upstream proxy'
      : 'TLS is off (local development)';
  const grpc = grpcPort === undefined ? 'gRPC off' : `gRPC on ${config.http.host}:${grpcPort}`;
  const consoleAt = admin ? `operator console on http://${config.admin.host}:${admin.port}` : 'operator console off';
  logger.log(
    `Listening on ${scheme}://${config.http.host}:${config.http.port} - ${tls}; ${grpc}; ${consoleAt}; ready in ${Math.round(performance.now() - startedAt)} ms`,
  );
  // Lines are written in batches (logging.ts); the start-up lines go out now, for whoever waits on them.
  rootLogger(config.logLevel).flush();
  // For the launcher: the code compiled for this start can be kept for the next (see launch.ts).
  (process as NodeJS.EventEmitter).emit(SERVICE_STARTED);
}

main().catch((error: unknown) => failStart(error instanceof Error ? (error.stack ?? error.message) : String(error)));
