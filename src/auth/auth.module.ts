import { DynamicModule, Global, Injectable, Logger, Module, OnModuleInit } from '@nestjs/common';
import type { AppConfig } from '../config';
import { BearerTokenStrategy } from './bearer-token.strategy';
import { CallerAuthGuard } from './caller-auth.guard';
import { CallerRegistry, loadCallersFile, localDevCallers } from './callers/caller-registry';

/**
 * Loads the callers before Nest starts, so a broken callers file stops the process with the same
 * one-line-per-problem report as a bad environment variable.
 */
export function loadCallerRegistry(config: AppConfig): CallerRegistry {
  return config.callersFile
    ? new CallerRegistry(loadCallersFile(config.callersFile), config.callersFile)
    : new CallerRegistry(localDevCallers());
}

@Injectable()
class CallersAnnouncement implements OnModuleInit {
  constructor(private readonly callers: CallerRegistry) {}

  onModuleInit(): void {
    const logger = new Logger('Auth');
    if (this.callers.source) logger.log(`Loaded ${this.callers.size} caller(s) from ${this.callers.source}`);
    else
      logger.warn('CALLERS_FILE is not set: local development caller "local-dev" accepts the token "local-dev-token"');
  }
}

@Global()
@Module({})
export class AuthModule {
  static forRoot(callers: CallerRegistry): DynamicModule {
    return {
      module: AuthModule,
      providers: [
        { provide: CallerRegistry, useValue: callers },
        CallersAnnouncement,
        BearerTokenStrategy,
        CallerAuthGuard,
      ],
      exports: [CallerAuthGuard, BearerTokenStrategy],
    };
  }
}
