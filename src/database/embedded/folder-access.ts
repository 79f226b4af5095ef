import type { Stats } from 'node:fs';
import { chmod, lstat, mkdir, stat } from 'node:fs/promises';
import { dirname, parse, resolve } from 'node:path';
import type { PostgresOsUser } from './os-user';
import { EmbeddedPostgresError } from './embedded-postgres.errors';

/** Whether `user` may search (enter) a folder with these permissions; supplementary groups do not count. */
export function canSearch(
  folder: Pick<Stats, 'mode' | 'uid' | 'gid'>,
  user: Required<Pick<PostgresOsUser, 'uid' | 'gid'>>,
): boolean {
  if (user.uid === 0) return true;
  if (folder.uid === user.uid) return (folder.mode & 0o100) !== 0;
  if (folder.gid === user.gid) return (folder.mode & 0o010) !== 0;
  return (folder.mode & 0o001) !== 0;
}

/**
 * The first folder on the way to `path` that `user` cannot enter, or undefined when every one can be. A user
 * without ids (ourselves) is not checked: what we can reach, we can reach.
 */
export async function firstBlockedFolder(path: string, user: PostgresOsUser): Promise<string | undefined> {
  if (user.uid === undefined || user.gid === undefined) return undefined;
  const ids = { uid: user.uid, gid: user.gid };
  const folders: string[] = [];
  for (let dir = dirname(resolve(path)); ; dir = dirname(dir)) {
    folders.unshift(dir);
    if (dir === parse(dir).root) break;
  }
  for (const folder of folders) {
    const info = await stat(folder).catch(() => undefined);
    if (!info) return undefined; // not created yet: mkdir makes it with our umask below a reachable parent
    if (!canSearch(info, ids)) return folder;
  }
  return undefined;
}

/**
 * Creates (or checks) a folder only root may write: the binaries and data of the embedded server live in
 * such folders when we are root, so nobody else can swap what the `postgres` user runs or reads.
 */
export async function ensureRootOwnedFolder(path: string): Promise<void> {
  const firstCreated = await mkdir(path, { recursive: true });
  // mkdir's mode is masked by the umask (root's is often 077): open up what we created, level by level.
  if (firstCreated) {
    for (let dir = resolve(path); ; dir = dirname(dir)) {
      await chmod(dir, 0o755);
      if (dir === resolve(firstCreated)) break;
    }
  }
  const info = await lstat(path);
  if (!info.isDirectory() || info.uid !== 0 || (info.mode & 0o022) !== 0) {
    throw new EmbeddedPostgresError(
      `${path} must be a folder owned by root and writable only by root (it holds the embedded PostgreSQL); remove it and start again`,
    );
  }
}
