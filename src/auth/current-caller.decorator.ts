import { createParamDecorator, ExecutionContext } from '@nestjs/common';
import { AppError } from '../common/errors/app-error';
import type { RequestContext } from '../common/http/request-context';
import type { Caller } from '../common/caller';

/** The caller the auth guard proved; a route without the guard fails closed. */
export const CurrentCaller = createParamDecorator((_data: unknown, context: ExecutionContext): Caller => {
  const caller = context.switchToHttp().getRequest<RequestContext>().caller;
  if (!caller) throw new AppError('UNAUTHENTICATED', 'Missing or invalid credentials.');
  return caller;
});
