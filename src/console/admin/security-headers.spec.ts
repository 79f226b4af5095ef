import type { NextFunction, Request, Response } from 'express';
import { CONTENT_SECURITY_POLICY, consoleSecurityHeaders, STRICT_TRANSPORT_SECURITY } from './security-headers';

describe('consoleSecurityHeaders', () => {
  const headersOf = (https: boolean): Record<string, string> => {
    const headers: Record<string, string> = {};
    const response = { setHeader: (name: string, value: string) => (headers[name] = value) } as unknown as Response;
    const next = jest.fn() as NextFunction;
    consoleSecurityHeaders({ https })({} as Request, response, next);
    expect(next).toHaveBeenCalledTimes(1);
    return headers;
  };

  it('sends HSTS when the console is reached over https (its public URL), and never over plain http', () => {
    expect(headersOf(true)).toMatchObject({
      'Strict-Transport-Security': STRICT_TRANSPORT_SECURITY,
      'Content-Security-Policy': CONTENT_SECURITY_POLICY,
    });
    expect(headersOf(false)).not.toHaveProperty('Strict-Transport-Security');
    expect(headersOf(false)).toMatchObject({ 'Content-Security-Policy': CONTENT_SECURITY_POLICY });
  });
});
