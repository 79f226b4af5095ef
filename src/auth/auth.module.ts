import { Module, Provider } from '@nestjs/common';
import { AuditModule } from '../audit/audit.module';
import { AppConfig } from '../config';
import { DatabaseModule } from '../database/database.module';
import { DatabasePool } from '../database/database-pool';
import { CallerAuthGuard } from './caller-auth.guard';
import { CallerAuthenticator } from './caller-authenticator';
import { CallerRegistry, localDevCallers } from './callers/caller-registry';
import { CallersFileError, readCallersFile } from './callers/callers-file';
import { unreachableCertificateBindings } from './callers/certificate-bindings';
import { CallersFileWatcher } from './callers/callers-file.watcher';
import { PostgresReplayStore } from './replay/postgres-replay.store';
import { RedisReplayStore } from './replay/redis-replay.store';
import { ReplayStore } from './replay/replay-store';
import { BasicBackoff } from './strategies/basic-backoff';
import { PasswordCheckBudget } from './strategies/password-check-budget';
import { BasicStrategy } from './strategies/basic.strategy';
import { BearerStrategy } from './strategies/bearer.strategy';
import { HeaderSignatureStrategy } from './strategies/header-signature.strategy';
import { MtlsStrategy } from './strategies/mtls.strategy';
import { QueryTokenStrategy } from './strategies/query-token.strategy';
import { StandardWebhooksStrategy } from './strategies/standard-webhooks.strategy';
import { TokenStrategies } from './strategies/token.strategies';
import { TlsReloader } from './tls/tls-reloader';
import { TlsRefusals } from './tls/tls-refusals';
import { OidcDiscovery } from './tokens/oidc-discovery';

/**
 * Loads the callers before Nest starts, so a broken callers file stops the process with the same
 * one-line-per-problem report as a bad environment variable.
 */
export function loadCallerRegistry(config: AppConfig): CallerRegistry {
  if (!config.callersFile) return new CallerRegistry(localDevCallers());
  const { callers, digest } = readCallersFile(config.callersFile);
  // Refused before anything connects (the watcher warns of them outside production).
  const unreachable = unreachableCertificateBindings(callers, config, config.callersFile);
  if (unreachable && config.isProduction) throw new CallersFileError([unreachable]);
  return new CallerRegistry(callers, config.callersFile, digest);
}

const strategies = [
  StandardWebhooksStrategy,
  HeaderSignatureStrategy,
  BearerStrategy,
  BasicStrategy,
  QueryTokenStrategy,
  MtlsStrategy,
];

/** The window of seen signature ids: in Redis when REDIS_URL is set (shared by every replica), else PostgreSQL. */
const replayStore: Provider = {
  provide: ReplayStore,
  inject: [AppConfig, DatabasePool],
  useFactory: (config: AppConfig, pool: DatabasePool): ReplayStore =>
    config.redisUrl ? new RedisReplayStore(config) : new PostgresReplayStore(pool),
};

/**
 * Who may call, proven for HTTP and gRPC alike. The callers come from the configuration module: they are read
 * and checked before Nest starts (`loadCallerRegistry`), so a broken callers file stops the process with one
 * line per problem.
 */
@Module({
  imports: [AuditModule, DatabaseModule],
  providers: [
    { provide: OidcDiscovery, useFactory: () => new OidcDiscovery() },
    replayStore,
    BasicBackoff,
    PasswordCheckBudget,
    ...strategies,
    TokenStrategies,
    CallersFileWatcher,
    TlsReloader,
    TlsRefusals,
    CallerAuthenticator,
    CallerAuthGuard,
  ],
  // Guards named in @UseGuards are built in the controller's module, so their dependencies are exported.
  exports: [
    CallerAuthGuard,
    CallerAuthenticator,
    CallersFileWatcher,
    TlsReloader,
    TlsRefusals,
    AuditModule,
    ...strategies,
  ],
})
export class AuthModule {}
