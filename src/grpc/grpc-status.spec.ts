import { status } from '@grpc/grpc-js';
import { AppError, ErrorCode } from '../common/errors/app-error';
import { GRPC_STATUS_BY_CODE, INTERNAL_MESSAGE, statusMessage, toGrpcStatus } from './grpc-status';

describe('toGrpcStatus', () => {
  it.each<[ErrorCode, status]>([
    ['UNAUTHENTICATED', status.UNAUTHENTICATED],
    ['FORBIDDEN', status.PERMISSION_DENIED],
    ['VALIDATION_FAILED', status.INVALID_ARGUMENT],
    ['MALFORMED_JSON', status.INVALID_ARGUMENT],
    ['MALFORMED_REQUEST', status.INVALID_ARGUMENT],
    ['RATE_LIMITED', status.RESOURCE_EXHAUSTED],
    ['PAYLOAD_TOO_LARGE', status.RESOURCE_EXHAUSTED],
    ['DEADLINE_EXCEEDED', status.DEADLINE_EXCEEDED],
    ['UNAVAILABLE', status.UNAVAILABLE],
    ['IDEMPOTENCY_IN_PROGRESS', status.ABORTED],
    ['IDEMPOTENCY_KEY_REUSED', status.FAILED_PRECONDITION],
    ['NOT_FOUND', status.NOT_FOUND],
    ['INTERNAL', status.INTERNAL],
  ])('maps %s to %s', (code, expected) => {
    expect(toGrpcStatus(new AppError(code, 'm')).code).toBe(expected);
  });

  it('has a status for every error code', () => {
    for (const code of Object.values(GRPC_STATUS_BY_CODE)) expect(Object.values(status)).toContain(code);
  });

  it('names each invalid field in the message', () => {
    const error = new AppError('VALIDATION_FAILED', 'FulfillRequest is invalid: session_id, stage.', [
      { field: 'session_id', problem: 'is required' },
      { field: 'stage', problem: 'must be one of the following values: dialog, fulfillment' },
    ]);
    const mapped = toGrpcStatus(error, 'r-1');
    expect(mapped.details).toBe(
      'FulfillRequest is invalid: session_id, stage. session_id: is required; ' +
        'stage: must be one of the following values: dialog, fulfillment',
    );
    expect(mapped.message).toBe(mapped.details);
    expect(statusMessage(new AppError('FORBIDDEN', 'No.'))).toBe('No.');
  });

  it('hides anything that is not an AppError behind INTERNAL with a fixed message', () => {
    const error = new Error('connect ECONNREFUSED 10.0.0.7:5432 at Pool.connect (/srv/node_modules/pg/lib/pool.js)');
    const mapped = toGrpcStatus(error, 'r-2');
    expect(mapped).toMatchObject({ code: status.INTERNAL, details: INTERNAL_MESSAGE, message: INTERNAL_MESSAGE });
    expect(toGrpcStatus('a string', undefined).code).toBe(status.INTERNAL);
  });

  it('puts the request id and retry hints in the trailers', () => {
    const mapped = toGrpcStatus(new AppError('RATE_LIMITED', 'slow down', [], { 'Retry-After': '7' }), 'req-9');
    expect(mapped.metadata.get('x-request-id')).toEqual(['req-9']);
    expect(mapped.metadata.get('retry-after')).toEqual(['7']);
    expect(toGrpcStatus(new AppError('FORBIDDEN', 'no')).metadata.get('x-request-id')).toEqual([]);
  });
});
