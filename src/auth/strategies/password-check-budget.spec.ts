import { AppError } from '../../common/errors/app-error';
import { loadConfig } from '../../config';
import { PasswordCheckBudget } from './password-check-budget';

/** A check that finishes when the test says so. */
function gate(): { check: () => Promise<boolean>; open: () => void; started: () => boolean } {
  let release!: (value: boolean) => void;
  let began = false;
  const done = new Promise<boolean>((resolve) => (release = resolve));
  return {
    check: () => {
      began = true;
      return done;
    },
    open: () => release(true),
    started: () => began,
  };
}

const flush = () => new Promise((resolve) => setImmediate(resolve));

describe('PasswordCheckBudget', () => {
  const budget = (slots: number) =>
    new PasswordCheckBudget(loadConfig({ BASIC_AUTH_MAX_CONCURRENT_CHECKS: String(slots) }, '/srv'));

  it('runs at most BASIC_AUTH_MAX_CONCURRENT_CHECKS checks at once; the next starts when one ends', async () => {
    const limited = budget(2);
    const gates = [gate(), gate(), gate()];
    const results = gates.map((g) => limited.run(g.check));
    await flush();
    expect(gates.map((g) => g.started())).toEqual([true, true, false]);
    gates[1].open();
    await results[1];
    await flush();
    expect(gates[2].started()).toBe(true);
    gates[0].open();
    gates[2].open();
    await expect(Promise.all(results)).resolves.toEqual([true, true, true]);
  });

  it('queues eight per slot and answers the rest OVERLOADED with Retry-After, without running them', async () => {
    const limited = budget(1);
    const gates = Array.from({ length: 12 }, () => gate());
    const results = gates.map((g) => limited.run(g.check).catch((error: unknown) => error));
    await flush();
    const refused = await Promise.all(results.slice(9));
    for (const error of refused) {
      expect(error).toBeInstanceOf(AppError);
      expect(error).toMatchObject({ code: 'OVERLOADED', headers: { 'Retry-After': '1' } });
    }
    expect(gates.filter((g) => g.started())).toHaveLength(1);
    for (const g of gates) g.open();
    expect(await Promise.all(results.slice(0, 9))).toEqual(Array(9).fill(true));
    expect(gates.slice(9).some((g) => g.started())).toBe(false);
  });

  it('frees the slot when a check throws', async () => {
    const limited = budget(1);
    await expect(limited.run(() => Promise.reject(new Error('scrypt failed')))).rejects.toThrow('scrypt failed');
    await expect(limited.run(() => Promise.resolve('next'))).resolves.toBe('next');
  });
});
