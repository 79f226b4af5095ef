import { ClassConstructor, plainToInstance } from 'class-transformer';
import { validateSync, ValidationError } from 'class-validator';
import { isAbsolute, resolve } from 'node:path';
import { UNKNOWN_POSITION_TTL_MS } from '../common/write-position';
import { AppConfig } from './app-config';
import { connectionUrlProblems } from './connection-url-problems';
import { Environment, SECRET_VARIABLES } from './environment';
import { misspeltVariables } from './misspelt-variables';

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

const LOOPBACK_HOSTS = new Set(['127.0.0.1', '::1', 'localhost']);

/**
 * Variables of any section (the console's, a handler's) named as holding a secret: never echoed either. A rule by
 * name, so a section need not remember to list its own.
 */
const SECRET_NAME = /SECRET|PASSWORD|TOKEN|CREDENTIAL|PRIVATE_KEY|API_KEY/;

/** Whether a variable's value may be shown in an error message. */
export function mayEcho(variable: string): boolean {
  return !SECRET_VARIABLES.has(variable as keyof Environment) && !SECRET_NAME.test(variable);
}

/** A value as a refusal may show it: credentials in a URL (`//user:password@`) masked. */
function shownValue(value: unknown): string {
  const text = JSON.stringify(value);
  return text === undefined ? String(value) : text.replace(/\/\/[^/@\s"]*@/g, '//***@');
}

/** Constraints of a number, which say nothing of a value that is no number at all. */
const NUMBER_CONSTRAINTS: Readonly<Record<string, string>> = {
  isInt: 'must be an integer',
  isNumber: 'must be a number',
};
const RANGE_CONSTRAINTS = new Set(['min', 'max']);

/**
 * Why a value was refused: every failed constraint, except that a value which is no number is told only that (its
 * range said it was too large and too small at once); class-validator's messages start with the variable's name,
 * which the line starts with already.
 */
function reasonsOf(error: ValidationError): string[] {
  const constraints = Object.entries(error.constraints ?? {});
  const notANumber = typeof error.value !== 'number' && constraints.some(([name]) => name in NUMBER_CONSTRAINTS);
  return constraints
    .filter(([name]) => !(notANumber && RANGE_CONSTRAINTS.has(name)))
    .map(([name, message]) => NUMBER_CONSTRAINTS[name] ?? withoutName(message, error.property));
}

function withoutName(message: string, variable: string): string {
  return message.startsWith(`${variable} `) ? message.slice(variable.length + 1) : message;
}

function describe(error: ValidationError): string {
  const variable = error.property;
  const shown = mayEcho(variable) ? ` (got ${shownValue(error.value)})` : '';
  return `${variable}: ${reasonsOf(error).join('; ')}${shown}`;
}

/**
 * Reads the variables a class declares (class-validator decorators, defaults as field initialisers) from the
 * environment, transformed and validated; one problem line per bad variable.
 */
export function validateVariables<T extends object>(
  variables: ClassConstructor<T>,
  source: Readonly<Record<string, string | undefined>>,
): { values: T; problems: string[] } {
  // Every declared variable is an own property of an instance (class fields are defined, even without a default).
  const plain: Record<string, string> = {};
  for (const key of Object.keys(new variables())) {
    const value = source[key];
    if (value !== undefined) plain[key] = value;
  }
  const values = plainToInstance(variables, plain, { exposeDefaultValues: true });
  return { values, problems: validateSync(values, { forbidUnknownValues: true }).map(describe) };
}

/**
 * What the process will do with the configuration: serve (the default), or only work on the database; and what else
 * it reads from the environment.
 */
export interface LoadConfigOptions {
  /**
   * Variables read besides the service's own (the intent domains' and the console's, `sectionVariables`): never
   * taken for a misspelling of one of the service's, and a misspelling of theirs is told too.
   */
  readonly knownVariables?: Iterable<string>;
  /** Where a warning goes (one line each); unset: a JSON line on stderr, as the logger would write it. */
  readonly warn?: (message: string) => void;
  /**
   * False for a process that serves nothing (the database CLI's `migrate`, run by the chart's migration Job):
   * the serving requirements of production (TLS, a callers file, the bind address) do not apply to it.
   */
  readonly serving?: boolean;
}

/**
 * The least of SHUTDOWN_GRACE_MS left after SHUTDOWN_DELAY_MS: the listener, gRPC and the job queue stop in it,
 * then the application closes (each gets half of it at worst).
 */
const MIN_DRAIN_MS = 2000;

function crossChecks(env: Environment, invalid: ReadonlySet<string>, serving: boolean): string[] {
  const problems: string[] = [];
  const ownTls = Boolean(env.TLS_CERT_FILE && env.TLS_KEY_FILE);
  if (Boolean(env.TLS_CERT_FILE) !== Boolean(env.TLS_KEY_FILE)) {
    problems.push(
      `${env.TLS_CERT_FILE ? 'TLS_KEY_FILE' : 'TLS_CERT_FILE'}: TLS needs both TLS_CERT_FILE and TLS_KEY_FILE`,
    );
  }
  if (env.TLS_CLIENT_AUTH && env.TLS_CLIENT_AUTH !== 'off' && !env.TLS_CA_FILE) {
    problems.push(`TLS_CA_FILE: is required when TLS_CLIENT_AUTH=${env.TLS_CLIENT_AUTH}`);
  }
  if ((env.TLS_CA_FILE || env.TLS_CRL_FILE || env.TLS_CLIENT_AUTH) && !ownTls) {
    const name = env.TLS_CA_FILE ? 'TLS_CA_FILE' : env.TLS_CRL_FILE ? 'TLS_CRL_FILE' : 'TLS_CLIENT_AUTH';
    if (!problems.some((p) => p.startsWith('TLS_'))) problems.push(`${name}: needs TLS_CERT_FILE and TLS_KEY_FILE`);
  }
  // The mode as app-config settles it: optional with a CA, else off.
  const clientAuth = env.TLS_CLIENT_AUTH ?? (env.TLS_CA_FILE ? 'optional' : 'off');
  if (env.TLS_CRL_FILE && ownTls && clientAuth === 'off' && !invalid.has('TLS_CLIENT_AUTH')) {
    problems.push(
      'TLS_CRL_FILE: revokes client certificates, so it needs TLS_CA_FILE (the CA that signs it) and TLS_CLIENT_AUTH optional or require',
    );
  }
  if (!invalid.has('SHUTDOWN_DELAY_MS') && !invalid.has('SHUTDOWN_GRACE_MS') && !invalid.has('NODE_ENV')) {
    const delayMs = env.SHUTDOWN_DELAY_MS ?? (env.NODE_ENV === 'production' ? 5000 : 0);
    if (delayMs + MIN_DRAIN_MS > env.SHUTDOWN_GRACE_MS) {
      problems.push(
        `SHUTDOWN_DELAY_MS: ${delayMs} leaves less than ${MIN_DRAIN_MS} ms of SHUTDOWN_GRACE_MS (${env.SHUTDOWN_GRACE_MS}) to drain and close; the grace period counts from SIGTERM and includes the delay`,
      );
    }
  }
  if (!invalid.has('REPLICA_MAX_LAG_MS') && !invalid.has('REPLICA_CHECK_INTERVAL_MS')) {
    const staleMs = env.REPLICA_MAX_LAG_MS + env.REPLICA_CHECK_INTERVAL_MS;
    if (staleMs >= UNKNOWN_POSITION_TTL_MS) {
      problems.push(
        `REPLICA_MAX_LAG_MS: ${env.REPLICA_MAX_LAG_MS} plus REPLICA_CHECK_INTERVAL_MS (${env.REPLICA_CHECK_INTERVAL_MS}) must stay under ${UNKNOWN_POSITION_TTL_MS} ms: a customer whose write's WAL position could not be read reads from the primary that long, and a replica read from after it must have replayed the write`,
      );
    }
  }
  if (env.REDIS_SENTINELS && !invalid.has('REDIS_SENTINELS')) {
    if (!env.REDIS_URL && !invalid.has('REDIS_URL')) {
      problems.push(
        'REDIS_URL: is required with REDIS_SENTINELS, for the credentials and database number (its host is not used), e.g. redis://:password@primary/0',
      );
    } else if (env.REDIS_URL?.startsWith('rediss:')) {
      problems.push(
        'REDIS_SENTINELS: Redis over TLS (rediss://) through Sentinels is not supported; name the primary in REDIS_URL (a TLS endpoint that follows failovers) or leave TLS out',
      );
    }
  }
  if (env.REDIS_CLUSTER && !invalid.has('REDIS_CLUSTER')) problems.push(...redisClusterProblems(env, invalid));
  if (invalid.has('NODE_ENV') || invalid.has('TLS_TERMINATED_BY_PROXY')) return problems;
  const secure = ownTls || env.TLS_TERMINATED_BY_PROXY;
  if (env.NODE_ENV === 'production') {
    if (!env.DATABASE_URL && !invalid.has('DATABASE_URL')) {
      problems.push('DATABASE_URL: is required when NODE_ENV=production');
    }
    if (!secure && serving) {
      problems.push(
        'TLS_CERT_FILE: production needs TLS (TLS_CERT_FILE and TLS_KEY_FILE), or TLS_TERMINATED_BY_PROXY=true behind a trusted proxy or mesh',
      );
    }
    if (!env.CALLERS_FILE && serving) problems.push('CALLERS_FILE: is required when NODE_ENV=production');
  }
  if (serving && !secure && !invalid.has('HOST') && env.HOST && !LOOPBACK_HOSTS.has(env.HOST)) {
    problems.push(`HOST: without TLS the service only binds to a loopback address (got ${JSON.stringify(env.HOST)})`);
  }
  return problems;
}

/** The variables named by problem lines (each starts with its variable's name and a colon). */
function variablesOf(problems: readonly string[]): Set<string> {
  return new Set(problems.map((line) => line.slice(0, line.indexOf(':'))));
}

/** Variables the service reads outside its Environment: the simulator's (`npm run simulate`). */
const OTHER_SERVICE_VARIABLES = ['FULFILLMENT_URL', 'FULFILLMENT_TOKEN'];
const QUIET_LEVELS: ReadonlySet<string> = new Set(['error', 'fatal']);

/** A warning before the logger exists (it needs the configuration): one JSON line like those it writes. */
function warnBeforeLogging(message: string): void {
  process.stderr.write(
    `${JSON.stringify({ level: 'warn', time: new Date().toISOString(), context: 'Config', msg: message })}\n`,
  );
}

/**
 * Reads and validates the environment once; throws a ConfigError listing every problem. Variables that look like a
 * misspelling of one of the service's are warned of first (the setting meant keeps its default otherwise).
 */
export function loadConfig(
  source: NodeJS.ProcessEnv,
  cwd = process.cwd(),
  { serving = true, knownVariables = [], warn }: LoadConfigOptions = {},
): AppConfig {
  const { values: env, problems: invalid } = validateVariables(Environment, source);
  const known = new Set([...Object.keys(new Environment()), ...OTHER_SERVICE_VARIABLES, ...knownVariables]);
  const report = warn ?? (QUIET_LEVELS.has(env.LOG_LEVEL) ? undefined : warnBeforeLogging);
  if (report) for (const warning of misspeltVariables(source, known)) report(warning);
  const urlProblems = connectionUrlProblems(env, variablesOf(invalid));
  const refused = variablesOf([...invalid, ...urlProblems]);
  const problems = [...invalid, ...urlProblems, ...crossChecks(env, refused, serving)];
  if (problems.length > 0) throw new ConfigError(problems);
  return AppConfig.fromEnvironment(env, (path) => (isAbsolute(path) ? path : resolve(cwd, path)), { ...source });
}

function redisClusterProblems(env: Environment, invalid: ReadonlySet<string>): string[] {
  if (env.REDIS_SENTINELS) {
    return ['REDIS_CLUSTER: a Redis Cluster is not reached through Sentinels; set REDIS_CLUSTER or REDIS_SENTINELS'];
  }
  if (invalid.has('REDIS_URL')) return [];
  if (!env.REDIS_URL) {
    return [
      'REDIS_URL: is required with REDIS_CLUSTER: one node of the cluster, e.g. redis://:password@cluster-endpoint:6379',
    ];
  }
  let database: string;
  try {
    database = new URL(env.REDIS_URL).pathname.replace(/^\//, '');
  } catch {
    return ['REDIS_URL: must be a redis:// or rediss:// URL'];
  }
  return database === '' || database === '0'
    ? []
    : [`REDIS_URL: a Redis Cluster has database 0 only (got /${database})`];
}
