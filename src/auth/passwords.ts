import { randomBytes, scrypt, ScryptOptions, timingSafeEqual } from 'node:crypto';

const KEY_LENGTH = 32;
const DEFAULTS = { N: 2 ** 15, r: 8, p: 1 };
/** The memory one check may take (scrypt's `maxmem`); a cost needing more is refused by Node, every time. */
export const SCRYPT_MAX_MEMORY_BYTES = 256 * 1024 * 1024;

/**
 * The bytes scrypt allocates for N, r, p, as OpenSSL counts them against `maxmem` (what Node asks it to check): B,
 * 128·r·p, plus V, X and T, 128·r·(N + 2). Not 128·N·r alone: N 2^17 with r 16 is exactly 256 MiB by that
 * count, and needs 4 KiB and 2 KiB more.
 */
export function scryptMemoryBytes(N: number, r: number, p: number): number {
  return 128 * r * p + 128 * r * (N + 2);
}

function derive(password: string, salt: Buffer, options: ScryptOptions): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scrypt(password, salt, KEY_LENGTH, { ...options, maxmem: SCRYPT_MAX_MEMORY_BYTES }, (error, key) =>
      error ? reject(error) : resolve(key),
    );
  });
}

/** `scrypt$<N>$<r>$<p>$<salt base64>$<hash base64>`, the format the callers file accepts. */
export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const key = await derive(password, salt, DEFAULTS);
  return ['scrypt', DEFAULTS.N, DEFAULTS.r, DEFAULTS.p, salt.toString('base64'), key.toString('base64')].join('$');
}

/**
 * Why a stored hash would never match, or undefined: checked when the callers file is read, since verifyPassword
 * only says no. The cost must be one this service can pay on every sign-in and an attacker cannot make cheap: N a
 * power of two from 2^14 to 2^17, r 8 to 16, p 1 to 4, within the 256 MiB scrypt may use (N 2^17 with r 16 is
 * not: every check of it failed, and the caller was locked out), a 32-byte hash.
 */
export function passwordHashProblem(stored: string): string | undefined {
  const [scheme, n, r, p, salt, hash] = stored.split('$');
  if (scheme !== 'scrypt' || !salt || !hash) return 'is not scrypt$N$r$p$salt$hash';
  const [N, R, P] = [Number(n), Number(r), Number(p)];
  if (!Number.isSafeInteger(N) || N < 2 ** 14 || N > 2 ** 17 || (N & (N - 1)) !== 0) {
    return `has N=${n}: it must be a power of two from 16384 to 131072`;
  }
  if (!Number.isSafeInteger(R) || R < 8 || R > 16) return `has r=${r}: it must be 8 to 16`;
  if (!Number.isSafeInteger(P) || P < 1 || P > 4) return `has p=${p}: it must be 1 to 4`;
  const memory = scryptMemoryBytes(N, R, P);
  if (memory > SCRYPT_MAX_MEMORY_BYTES) {
    return (
      `has N=${n}, r=${r}, p=${p}: a check would need ${memory} bytes, more than the ` +
      `${SCRYPT_MAX_MEMORY_BYTES / 1024 / 1024} MiB scrypt may use here; lower N or r (128 × r × (N + 2 + p) bytes)`
    );
  }
  if (Buffer.from(hash, 'base64').length !== KEY_LENGTH) return `has a hash of another length than ${KEY_LENGTH} bytes`;
  return undefined;
}

/** Constant-time check of a password against one stored hash; a malformed hash never matches. */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const [scheme, n, r, p, salt, hash] = stored.split('$');
  if (scheme !== 'scrypt' || !salt || !hash) return false;
  const expected = Buffer.from(hash, 'base64');
  const cost = { N: Number(n), r: Number(r), p: Number(p) };
  if (expected.length !== KEY_LENGTH || ![cost.N, cost.r, cost.p].every(Number.isSafeInteger)) return false;
  try {
    return timingSafeEqual(await derive(password, Buffer.from(salt, 'base64'), cost), expected);
  } catch {
    return false;
  }
}

/** The work a check against `stored` takes (scrypt's is about N × r × p); 0 for a malformed hash. */
export function passwordCheckCost(stored: string): number {
  const [, n, r, p] = stored.split('$').map(Number);
  const cost = n * r * p;
  return Number.isSafeInteger(cost) ? cost : 0;
}

/** A hash of the same cost as `stored` that no password matches: to spend the same time on a check that cannot pass. */
export function decoyHash(stored: string): string {
  const [scheme, n, r, p] = stored.split('$');
  return [scheme, n, r, p, Buffer.alloc(16).toString('base64'), Buffer.alloc(KEY_LENGTH, 1).toString('base64')].join(
    '$',
  );
}
