import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { Client } from 'pg';
import { OwnedPostgres } from '../../support/owned-postgres';
import { cleanEnv, freePort, type ServiceProcess, startService } from '../../support/service-process';
import { FaultProxy } from './fault-proxy';
import { OwnedRedis } from './owned-redis';

/** The turn budget the replicas run with (GENERIC_DEADLINE_MS) and the platform deadline it leaves room for. */
export const BUDGET_MS = 2000;
export const PLATFORM_DEADLINE_MS = BUDGET_MS + 500;
export const DEGRADED_TEXT = 'Our systems are out of reach for a moment (fault test).';
/** What a transfer gets when PostgreSQL was lost after its write may have committed. */
export const UNCONFIRMED_TEXT = 'We could not confirm whether it went through (fault test).';
/** The interim reply: the turn's work (or, for an async turn, its queueing) outlived the deadline. */
export const INTERIM_TEXT = 'Still working on it (fault test).';
export const CUSTOMERS = Array.from({ length: 12 }, (_, index) => `FAULT-${index}`);
export const OPENING_BALANCE_MINOR = 1_000_000_000n;

export interface Replica {
  readonly name: string;
  readonly port: number;
  /** Its Prometheus port, when the cluster was started with `metrics`. */
  readonly metricsPort?: number;
  /** The settings only this replica has (its ports). */
  readonly own: Record<string, string>;
  service: ServiceProcess;
}

/** The PostgreSQL a fault cluster runs on: one server (`OwnedPostgres`), or a primary with a standby to fail over to. */
export interface FaultPostgres {
  /** Where the server that takes writes listens now (the proxy forwards there). */
  readonly port: number;
  url(database: string): string;
  createDatabase(name: string): Promise<string>;
  destroy(): Promise<void>;
}

export interface ClusterOptions<P extends FaultPostgres = OwnedPostgres> {
  readonly replicas?: number;
  readonly redis?: boolean;
  /** Redis behind a proxy of its own, which REDIS_URL names (a managed Redis's endpoint that a failover moves). */
  readonly redisEndpoint?: boolean;
  /** Each replica serves /metrics on a port of its own. */
  readonly metrics?: boolean;
  /** Extra settings for every replica. */
  readonly env?: Record<string, string>;
  /** Starts the PostgreSQL (on the port given); one `OwnedPostgres` when left out. */
  readonly postgres?: (port: number) => Promise<P>;
  /**
   * DATABASE_URL lists these servers too (each behind a proxy of its own, in `otherPaths`), after the primary's
   * path, with `target_session_attrs=read-write`: a cluster's members with no address that follows the primary.
   */
  readonly otherServers?: (postgres: P) => readonly number[];
}

/**
 * Everything a fault test breaks, owned by the test: a PostgreSQL cluster (initdb from the embedded binaries, on
 * its own port; or a primary with a standby, see `FailoverPostgres`), a TCP fault proxy in front of it, optionally
 * a redis-server (behind a proxy of its own with `redisEndpoint`), and replicas of the built service (`node dist/main.js`) on the
 * proxies, all real processes on 127.0.0.1.
 */
export class FaultCluster<P extends FaultPostgres = OwnedPostgres> {
  private constructor(
    readonly postgres: P,
    readonly proxy: FaultProxy,
    readonly redis: OwnedRedis | undefined,
    /** With `redisEndpoint`: the network path to Redis that REDIS_URL names. */
    readonly redisPath: FaultProxy | undefined,
    readonly replicas: Replica[],
    private readonly env: Record<string, string>,
    /** With `otherServers`: the path to each of them, in their order. */
    readonly otherPaths: readonly FaultProxy[],
  ) {}

  static async start<P extends FaultPostgres = OwnedPostgres>(
    options: ClusterOptions<P> = {},
  ): Promise<FaultCluster<P>> {
    const postgres = await (options.postgres ?? (startOwnedPostgres as unknown as (port: number) => Promise<P>))(
      await freePort(),
    );
    const databaseUrl = await postgres.createDatabase('faults');
    const cli = join(__dirname, '..', '..', '..', 'dist', 'cli', 'database.cli.js');
    await promisify(execFile)(process.execPath, [cli, 'seed'], { env: cleanEnv({ DATABASE_URL: databaseUrl }) });
    await createCustomers(databaseUrl);
    const proxy = await FaultProxy.start(postgres.port);
    const otherPaths = await Promise.all(
      (options.otherServers?.(postgres) ?? []).map((port) => FaultProxy.start(port)),
    );
    const servers = [proxy, ...otherPaths].map((path) => `127.0.0.1:${path.port}`).join(',');
    const redis = options.redis ? await OwnedRedis.start() : undefined;
    const redisPath = redis && options.redisEndpoint ? await FaultProxy.start(redis.port) : undefined;
    const env: Record<string, string> = {
      NODE_ENV: 'development',
      DATABASE_URL: `postgres://postgres@${servers}/faults${otherPaths.length > 0 ? '?target_session_attrs=read-write' : ''}`,
      SEED_DEMO_DATA: 'false',
      LOG_LEVEL: 'warn',
      GENERIC_DEADLINE_MS: String(BUDGET_MS),
      DB_STATEMENT_TIMEOUT_MS: '1500',
      DB_PROBE_INTERVAL_MS: '250',
      DEGRADED_TEXT,
      UNCONFIRMED_TEXT,
      INTERIM_TEXT,
      // Budgets the load never reaches (it is not what these tests are about): while PostgreSQL is away the polite
      // reply takes a millisecond, so closed-loop callers send thousands of turns a second, which would spend a
      // per-minute budget (429) and read as a replica that never recovers.
      THROTTLE_LIMIT: '1000000',
      PREAUTH_LIMIT: '10000000',
      ...(redis && { REDIS_URL: redisPath ? `redis://127.0.0.1:${redisPath.port}` : redis.url }),
      ...options.env,
    };
    const replicas: Replica[] = [];
    for (let index = 0; index < (options.replicas ?? 2); index += 1) {
      const port = await freePort();
      const metricsPort = options.metrics ? await freePort() : undefined;
      const own = {
        PORT: String(port),
        ...(metricsPort && { METRICS_ENABLED: 'true', METRICS_PORT: String(metricsPort) }),
      };
      replicas.push({ name: `replica-${index}`, port, metricsPort, own, service: startService({ ...env, ...own }) });
    }
    const cluster = new FaultCluster(postgres, proxy, redis, redisPath, replicas, env, otherPaths);
    try {
      await Promise.all(replicas.map((replica) => cluster.serving(replica)));
    } catch (error: unknown) {
      await cluster.stop();
      throw error;
    }
    return cluster;
  }

  /** Straight to the PostgreSQL that takes writes (admin, reconciliation): never through the proxy. */
  get databaseUrl(): string {
    return this.postgres.url('faults');
  }

  /** Resolves once the replica answers /health/live; fails at once if its process exits first. */
  async serving(replica: Replica): Promise<void> {
    const until = Date.now() + 60_000;
    for (;;) {
      if (replica.service.child.exitCode !== null) {
        throw new Error(`${replica.name} exited before it served:\n${replica.service.output()}`);
      }
      try {
        const response = await fetch(`http://127.0.0.1:${replica.port}/health/live`);
        if (response.status === 200) return;
      } catch {
        // not listening yet
      }
      if (Date.now() > until) throw new Error(`${replica.name} did not serve:\n${replica.service.output()}`);
      await sleep(100);
    }
  }

  /** Every replica process still runs (none crashed). */
  alive(): boolean {
    return this.replicas.every(({ service }) => service.child.exitCode === null && service.child.signalCode === null);
  }

  /** Kills a replica (SIGKILL) and starts a new process on the same port. */
  async restart(replica: Replica): Promise<void> {
    await stop(replica.service);
    replica.service = startService({ ...this.env, ...replica.own });
    await this.serving(replica);
  }

  /** Every backend the replicas hold (through the proxy), as PostgreSQL sees them. */
  async terminateServiceBackends(): Promise<number> {
    const rows = await this.query<{ terminated: boolean }>(
      `SELECT pg_terminate_backend(pid) AS terminated FROM pg_stat_activity
        WHERE datname = 'faults' AND application_name LIKE 'webhook-fulfillment%' AND pid <> pg_backend_pid()`,
    );
    return rows.filter((row) => row.terminated).length;
  }

  /**
   * Starts PostgreSQL again after a stop or a kill. After a kill the old backends may hold the shared memory
   * for a moment (they exit when they notice the postmaster is gone): start-up is tried again until they have.
   */
  async startPostgres(this: FaultCluster<OwnedPostgres>): Promise<void> {
    for (let attempt = 1; ; attempt += 1) {
      try {
        await this.postgres.start();
        return;
      } catch (error: unknown) {
        if (attempt >= 20) throw error;
        await sleep(250);
      }
    }
  }

  async query<T extends Record<string, unknown>>(sql: string, params: unknown[] = []): Promise<T[]> {
    for (let attempt = 1; ; attempt += 1) {
      const client = new Client({ connectionString: this.databaseUrl, application_name: 'fault-test' });
      try {
        await client.connect();
        return (await client.query<T>(sql, params)).rows;
      } catch (error: unknown) {
        if (attempt >= 20) throw error;
        await sleep(250);
      } finally {
        await client.end().catch(() => undefined);
      }
    }
  }

  /** Each replica's last lines other than access lines (a flood of those would hide them), then its last access lines. */
  output(): string {
    return this.replicas
      .map(({ name, service }) => {
        const lines = service.output().split('\n');
        const access = (line: string) => /"msg":"[A-Z]+ \//.test(line);
        const other = lines.filter((line) => line.trim() !== '' && !access(line)).slice(-30);
        return `--- ${name}\n${other.join('\n')}\n--- ${name}, last access lines\n${lines.filter(access).slice(-5).join('\n')}`;
      })
      .join('\n');
  }

  async stop(): Promise<void> {
    await Promise.all(this.replicas.map(({ service }) => stop(service)));
    await this.proxy.close();
    await Promise.all(this.otherPaths.map((path) => path.close()));
    await this.redisPath?.close();
    await this.redis?.destroy();
    await this.postgres.destroy();
  }
}

async function startOwnedPostgres(port: number): Promise<OwnedPostgres> {
  const postgres = await OwnedPostgres.create(port);
  await postgres.start();
  return postgres;
}

async function stop(service: ServiceProcess): Promise<void> {
  if (service.child.exitCode !== null || service.child.signalCode !== null) return;
  service.child.kill('SIGCONT');
  service.child.kill('SIGKILL');
  await service.exited;
}

/** Customers of the fault tests: checking and savings each, with more than any test moves. */
async function createCustomers(url: string): Promise<void> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    for (const customer of CUSTOMERS) {
      await client.query(
        `WITH customer AS (
           INSERT INTO customers (customer_number, full_name) VALUES ($1, 'Fault Test') RETURNING id)
         INSERT INTO accounts (customer_id, account_type, account_number_last4, currency, balance_minor, balance_updated_at)
         SELECT id, type, '0000', 'USD', $2, now() FROM customer, unnest(ARRAY['checking', 'savings']) AS type`,
        [customer, OPENING_BALANCE_MINOR.toString()],
      );
    }
  } finally {
    await client.end();
  }
}
