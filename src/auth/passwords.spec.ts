import { scryptSync } from 'node:crypto';
import { passwordHashProblem, SCRYPT_MAX_MEMORY_BYTES, scryptMemoryBytes, verifyPassword } from './passwords';

const SALT = Buffer.alloc(16, 1).toString('base64');
const KEY = Buffer.alloc(32, 2).toString('base64');
const hash = (N: number, r: number, p: number) => `scrypt$${N}$${r}$${p}$${SALT}$${KEY}`;
/** Whether Node (OpenSSL) takes these parameters within `maxmem`: it checks them before any hashing. */
const nodeTakes = (N: number, r: number, p: number, maxmem: number) => {
  try {
    scryptSync('x', 'salt', 32, { N, r, p, maxmem });
    return true;
  } catch {
    return false;
  }
};

describe('password hash costs', () => {
  it('refuses at load N=2^17 with r=16: scrypt needs more than the 256 MiB a check may use', () => {
    expect(passwordHashProblem(hash(2 ** 17, 16, 1))).toBe(
      'has N=131072, r=16, p=1: a check would need 268441600 bytes, more than the 256 MiB scrypt may use here; ' +
        'lower N or r (128 × r × (N + 2 + p) bytes)',
    );
    // What it cost before: every check failed in Node, so the caller's right password was refused.
    expect(nodeTakes(2 ** 17, 16, 1, SCRYPT_MAX_MEMORY_BYTES)).toBe(false);
  });

  it('counts the memory as Node does: exactly enough is taken, a byte less is refused', () => {
    // Small N (cheap to hash), every r and p the validator allows: the count is Node's to the byte.
    for (const N of [16, 1024]) {
      for (let r = 8; r <= 16; r++) {
        for (let p = 1; p <= 4; p++) {
          const need = scryptMemoryBytes(N, r, p);
          expect([N, r, p, nodeTakes(N, r, p, need)]).toEqual([N, r, p, true]);
          expect([N, r, p, nodeTakes(N, r, p, need - 1)]).toEqual([N, r, p, false]);
        }
      }
    }
  });

  it('takes every other cost in range, up to N=2^17 with r=15 and p=4', () => {
    const refused: string[] = [];
    for (let N = 2 ** 14; N <= 2 ** 17; N *= 2) {
      for (let r = 8; r <= 16; r++) {
        for (let p = 1; p <= 4; p++) if (passwordHashProblem(hash(N, r, p))) refused.push(`${N}/${r}/${p}`);
      }
    }
    expect(refused).toEqual(['131072/16/1', '131072/16/2', '131072/16/3', '131072/16/4']);
    expect(scryptMemoryBytes(2 ** 17, 15, 4)).toBeLessThanOrEqual(SCRYPT_MAX_MEMORY_BYTES);
  });

  it('a refused cost never matches: verifyPassword says no rather than throwing', async () => {
    await expect(verifyPassword('x', hash(2 ** 17, 16, 1))).resolves.toBe(false);
  });
});
