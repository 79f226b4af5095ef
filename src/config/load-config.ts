import { plainToInstance } from 'class-transformer';
import { validateSync, ValidationError } from 'class-validator';
import { isAbsolute, resolve } from 'node:path';
import { AppConfig } from './app-config';
import { Environment, SECRET_VARIABLES } from './environment';

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

const LOOPBACK_HOSTS = new Set(['127.0.0.1', '::1', 'localhost']);

function describe(error: ValidationError): string {
  const variable = error.property as keyof Environment;
  const reasons = Object.values(error.constraints ?? {}).join('; ');
  const shown = SECRET_VARIABLES.has(variable) ? '' : ` (got ${JSON.stringify(error.value)})`;
  return `${variable}: ${reasons}${shown}`;
}

function crossChecks(env: Environment, invalid: ReadonlySet<string>): string[] {
  const problems: string[] = [];
  if (invalid.has('NODE_ENV') || invalid.has('TLS_TERMINATED_UPSTREAM')) return problems;
  const tls = env.TLS_TERMINATED_UPSTREAM;
  if (env.NODE_ENV === 'production') {
    if (!env.DATABASE_URL && !invalid.has('DATABASE_URL')) {
      problems.push('DATABASE_URL: is required when NODE_ENV=production');
    }
    if (!tls) {
      problems.push(
        'TLS_TERMINATED_UPSTREAM: production needs TLS; set it to true when a trusted proxy or mesh ends TLS',
      );
    }
    if (!env.CALLERS_FILE) problems.push('CALLERS_FILE: is required when NODE_ENV=production');
  }
  if (!tls && !invalid.has('HOST') && env.HOST && !LOOPBACK_HOSTS.has(env.HOST)) {
    problems.push(`HOST: without TLS the service only binds to a loopback address (got ${JSON.stringify(env.HOST)})`);
  }
  return problems;
}

/** Reads and validates the environment once; throws a ConfigError listing every problem. */
export function loadConfig(source: NodeJS.ProcessEnv, cwd = process.cwd()): AppConfig {
  const known = Object.keys(new Environment());
  const plain: Record<string, string> = {};
  for (const key of [...known, 'DATABASE_URL', 'HOST', 'CALLERS_FILE', 'SEED_DEMO_DATA']) {
    const value = source[key];
    if (value !== undefined) plain[key] = value;
  }
  const env = plainToInstance(Environment, plain, { exposeDefaultValues: true });
  const errors = validateSync(env, { forbidUnknownValues: true });
  const invalid = new Set(errors.map((error) => error.property));
  const problems = [...errors.map(describe), ...crossChecks(env, invalid)];
  if (problems.length > 0) throw new ConfigError(problems);
  return AppConfig.fromEnvironment(env, (path) => (isAbsolute(path) ? path : resolve(cwd, path)));
}
