import { execFileSync } from 'node:child_process';
import { userInfo } from 'node:os';
import { EmbeddedPostgresError } from './embedded-postgres.errors';

/** The operating-system account PostgreSQL runs as. `uid`/`gid` are set only when it differs from ours. */
export interface PostgresOsUser {
  readonly name: string;
  readonly uid?: number;
  readonly gid?: number;
}

/** The unprivileged account used when we are root (PostgreSQL refuses to run as root). */
export const SYSTEM_USER = 'postgres';

type Run = (command: string, args: string[]) => string;

const run: Run = (command, args) =>
  execFileSync(command, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();

function lookUp(name: string, exec: Run): { uid: number; gid: number } | undefined {
  try {
    return { uid: Number(exec('id', ['-u', name])), gid: Number(exec('id', ['-g', name])) };
  } catch {
    return undefined;
  }
}

/**
 * Who runs PostgreSQL: a normal user runs it as themselves (nothing to create, nothing to share). Root runs it
 * as the `postgres` system account, created once as a locked, home-less system user when it does not exist.
 */
export function postgresOsUser(currentUid = process.getuid?.(), exec: Run = run): PostgresOsUser {
  if (currentUid !== 0) return { name: safeUserName() };
  const existing = lookUp(SYSTEM_USER, exec);
  if (existing) return { name: SYSTEM_USER, ...existing };
  const common = ['--system', '--no-create-home', '--home-dir', '/nonexistent', '--shell', '/usr/sbin/nologin'];
  try {
    // A `postgres` group may exist without the user (a removed server package leaves it behind).
    const groupExists = lookUpGroup(SYSTEM_USER, exec);
    exec('useradd', [...common, ...(groupExists ? ['-g', SYSTEM_USER] : ['--user-group']), SYSTEM_USER]);
  } catch (error: unknown) {
    throw new EmbeddedPostgresError(
      `the embedded PostgreSQL cannot run as root and the "${SYSTEM_USER}" system user could not be created ` +
        `(${firstLine(error)}): create it (useradd --system ${SYSTEM_USER}), run as a normal user, or set DATABASE_URL`,
    );
  }
  const created = lookUp(SYSTEM_USER, exec);
  if (!created) throw new EmbeddedPostgresError(`the "${SYSTEM_USER}" system user was created but cannot be found`);
  return { name: SYSTEM_USER, ...created };
}

function lookUpGroup(name: string, exec: Run): boolean {
  try {
    exec('getent', ['group', name]);
    return true;
  } catch {
    return false;
  }
}

function safeUserName(): string {
  try {
    return userInfo().username;
  } catch {
    // A uid without a passwd entry (containers started with an arbitrary uid).
    return `uid ${process.getuid?.() ?? '?'}`;
  }
}

function firstLine(error: unknown): string {
  const stderr = (error as { stderr?: unknown }).stderr;
  const text = typeof stderr === 'string' && stderr.trim() ? stderr : error instanceof Error ? error.message : '';
  return text.trim().split('\n')[0] ?? 'unknown error';
}
