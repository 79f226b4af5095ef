import { AppError } from '../../common/errors/app-error';
import type { RequestContext } from '../../common/http/request-context';
import { SIGN_IN_ATTEMPTS, SIGN_IN_WINDOW_MS, SignInLimit } from './sign-in-limit';

const from = (address: string) => ({ clientAddress: address, socket: {} }) as unknown as RequestContext;

describe('SignInLimit', () => {
  it('lets an address take its budget of sign-in steps per window, then answers 429 with Retry-After', () => {
    const limit = new SignInLimit();
    for (let i = 0; i < SIGN_IN_ATTEMPTS; i++) limit.admit(from('203.0.113.7'), 1000);
    let refusal: unknown;
    try {
      limit.admit(from('203.0.113.7'), 31_000);
    } catch (error: unknown) {
      refusal = error;
    }
    expect(refusal).toBeInstanceOf(AppError);
    expect(refusal).toMatchObject({ code: 'RATE_LIMITED', headers: { 'Retry-After': '30' } });
    // Another address has its own budget, and the window ends.
    expect(() => limit.admit(from('203.0.113.8'), 31_000)).not.toThrow();
    expect(() => limit.admit(from('203.0.113.7'), 1000 + SIGN_IN_WINDOW_MS)).not.toThrow();
  });
});
