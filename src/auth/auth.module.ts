import { Global, Logger, Module } from '@nestjs/common';
import { AppConfig } from '../config';
import { BearerTokenStrategy } from './bearer-token.strategy';
import { CallerAuthGuard } from './caller-auth.guard';
import { CallerRegistry, loadCallersFile, localDevCallers } from './callers/caller-registry';

function callerRegistryFactory(config: AppConfig): CallerRegistry {
  const logger = new Logger('Auth');
  if (config.callersFile) {
    const registry = new CallerRegistry(loadCallersFile(config.callersFile));
    logger.log(`Loaded ${registry.size} caller(s) from ${config.callersFile}`);
    return registry;
  }
  logger.warn('CALLERS_FILE is not set: local development caller "local-dev" accepts the token "local-dev-token"');
  return new CallerRegistry(localDevCallers());
}

@Global()
@Module({
  providers: [
    { provide: CallerRegistry, useFactory: callerRegistryFactory, inject: [AppConfig] },
    BearerTokenStrategy,
    CallerAuthGuard,
  ],
  exports: [CallerAuthGuard, BearerTokenStrategy],
})
export class AuthModule {}
