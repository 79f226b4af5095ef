import { Reflector } from '@nestjs/core';
import type { Platform } from '../common/platform';

/** Where the gRPC auth guard finds, on a method's request message, what HTTP routes know from their path. */
export interface GrpcAuthOptions {
  /** The platform the method serves, or the request field naming it (HandleWebhook's `platform`). */
  readonly platform: Platform | { readonly field: string };
  /** The request field holding the bytes signature schemes are checked over; none: they do not apply. */
  readonly signedField?: string;
}

export const GrpcAuth = Reflector.createDecorator<GrpcAuthOptions>();
