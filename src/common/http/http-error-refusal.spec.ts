import { AppError } from '../errors/app-error';
import { markAudited, refusalFor } from './http-error.filter';

describe('refusalFor (which answered errors the audit trail records)', () => {
  it('idempotency conflicts are sequence_fail', () => {
    expect(refusalFor(new AppError('IDEMPOTENCY_IN_PROGRESS', 'busy'), 409, 'IDEMPOTENCY_IN_PROGRESS')).toEqual({
      event: 'sequence_fail',
      reason: 'idempotency_in_progress',
    });
    expect(refusalFor(new AppError('IDEMPOTENCY_KEY_REUSED', 'reused'), 422, 'IDEMPOTENCY_KEY_REUSED')).toEqual({
      event: 'sequence_fail',
      reason: 'idempotency_key_reused',
    });
  });

  it('400, 405, 413 and 415 are input_validation_fail', () => {
    for (const [status, code] of [
      [400, 'VALIDATION_FAILED'],
      [405, 'METHOD_NOT_ALLOWED'],
      [413, 'PAYLOAD_TOO_LARGE'],
      [415, 'UNSUPPORTED_MEDIA_TYPE'],
    ] as const) {
      expect(refusalFor(undefined, status, code)).toEqual({
        event: 'input_validation_fail',
        reason: code.toLowerCase(),
      });
    }
  });

  it('leaves 429, 401, 403 and errors their thrower audited to where they were decided', () => {
    expect(refusalFor(new AppError('RATE_LIMITED', 'slow down'), 429, 'RATE_LIMITED')).toBeUndefined();
    expect(refusalFor(new AppError('UNAUTHENTICATED', 'no'), 401, 'UNAUTHENTICATED')).toBeUndefined();
    expect(refusalFor(new AppError('FORBIDDEN', 'no'), 403, 'FORBIDDEN')).toBeUndefined();
    const audited = markAudited(new AppError('MALFORMED_REQUEST', 'two headers'));
    expect(refusalFor(audited, 400, 'MALFORMED_REQUEST')).toBeUndefined();
  });
});
