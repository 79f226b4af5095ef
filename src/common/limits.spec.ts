import { acceptedRequestId } from './limits';

describe('acceptedRequestId (the one request-id rule of HTTP and gRPC)', () => {
  it.each(['req-1', 'a.b:c_d-e', 'x'.repeat(128)])('echoes %s', (offered) => {
    expect(acceptedRequestId(offered)).toBe(offered);
  });

  it.each([undefined, '', 'x'.repeat(129), 'with space', 'new\nline', '<script>', ['a', 'b'], 42])(
    'replaces %j with a new UUID',
    (offered) => {
      expect(acceptedRequestId(offered)).toMatch(
        /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
      );
    },
  );
});
