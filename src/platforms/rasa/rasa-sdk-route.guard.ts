import { ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { CallerAuthGuard } from '../../auth/caller-auth.guard';
import { CallerAuthenticator } from '../../auth/caller-authenticator';
import { AppConfig } from '../../config';

/**
 * The caller guard of the Rasa SDK's `GET /health` and `GET /actions`, unless `RASA_OPEN_ENDPOINTS` opens them
 * to anyone, as the Rasa SDK serves them. Open, they tell who asks that the service is up and which action
 * names it serves; the webhook itself always needs a caller.
 */
@Injectable()
export class RasaSdkRouteGuard extends CallerAuthGuard {
  private readonly open: boolean;

  constructor(authenticator: CallerAuthenticator, reflector: Reflector, config: AppConfig) {
    super(authenticator, reflector, config);
    this.open = config.rasa.openEndpoints;
  }

  override canActivate(context: ExecutionContext): Promise<boolean> {
    return this.open ? Promise.resolve(true) : super.canActivate(context);
  }
}
