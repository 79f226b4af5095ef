import { DynamicModule, Global, Module, Provider } from '@nestjs/common';
import type { AppConfig } from '../config';
import { CallerAuthGuard } from './caller-auth.guard';
import { CallerAuthenticator } from './caller-authenticator';
import { CallerRegistry, localDevCallers } from './callers/caller-registry';
import { loadCallersFile } from './callers/callers-file';
import { CallersFileWatcher } from './callers/callers-file.watcher';
import { PostgresReplayStore } from './replay/postgres-replay.store';
import { RedisReplayStore } from './replay/redis-replay.store';
import { ReplayStore } from './replay/replay-store';
import { BasicStrategy } from './strategies/basic.strategy';
import { BearerStrategy } from './strategies/bearer.strategy';
import { HeaderSignatureStrategy } from './strategies/header-signature.strategy';
import { MtlsStrategy } from './strategies/mtls.strategy';
import { StandardWebhooksStrategy } from './strategies/standard-webhooks.strategy';
import { TokenStrategies } from './strategies/token.strategies';
import { TlsReloader } from './tls/tls-reloader';
import { OidcDiscovery } from './tokens/oidc-discovery';

/**
 * Loads the callers before Nest starts, so a broken callers file stops the process with the same
 * one-line-per-problem report as a bad environment variable.
 */
export function loadCallerRegistry(config: AppConfig): CallerRegistry {
  return config.callersFile
    ? new CallerRegistry(loadCallersFile(config.callersFile), config.callersFile)
    : new CallerRegistry(localDevCallers());
}

const strategies = [StandardWebhooksStrategy, HeaderSignatureStrategy, BearerStrategy, BasicStrategy, MtlsStrategy];

@Global()
@Module({})
export class AuthModule {
  static forRoot(config: AppConfig, callers: CallerRegistry): DynamicModule {
    const replayStore: Provider = config.redisUrl
      ? { provide: ReplayStore, useClass: RedisReplayStore }
      : { provide: ReplayStore, useClass: PostgresReplayStore };
    return {
      module: AuthModule,
      providers: [
        { provide: CallerRegistry, useValue: callers },
        { provide: OidcDiscovery, useFactory: () => new OidcDiscovery() },
        replayStore,
        ...strategies,
        TokenStrategies,
        CallersFileWatcher,
        TlsReloader,
        CallerAuthenticator,
        CallerAuthGuard,
      ],
      // Guards named in @UseGuards are built in the controller's module, so their dependencies are exported.
      exports: [CallerAuthGuard, CallerAuthenticator, CallerRegistry, CallersFileWatcher, TlsReloader, ...strategies],
    };
  }
}
