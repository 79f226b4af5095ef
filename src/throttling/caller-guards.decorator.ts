import { applyDecorators, UseGuards } from '@nestjs/common';
import { CallerAuthGuard } from '../auth/caller-auth.guard';
import { CallerRequired } from '../common/caller';
import { CallerThrottlerGuard } from './caller-throttler.guard';

/** A route only proven callers may use: authentication (and the platform check), then the caller's rate limit. */
export function CallerGuards(): ClassDecorator & MethodDecorator {
  return applyDecorators(CallerRequired(true), UseGuards(CallerAuthGuard, CallerThrottlerGuard));
}
