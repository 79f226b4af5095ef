import { guardedClientClass } from './guarded-client';

describe('guardedClientClass', () => {
  it('refuses a read timeout that would end every query (a configuration without its statement timeout)', () => {
    const onError = (): void => undefined;
    for (const readTimeoutMs of [Number.NaN, 0, -1]) {
      expect(() => guardedClientClass({ readTimeoutMs, onError })).toThrow(/readTimeoutMs must be a positive number/);
    }
    expect(() => guardedClientClass({ readTimeoutMs: 5000, onError })).not.toThrow();
  });
});
