import { DynamicModule, Module, ModuleMetadata } from '@nestjs/common';
import { AsyncModule } from './async/async.module';
import { AuthModule } from './auth/auth.module';
import { CacheModule } from './cache/cache.module';
import { ConsoleModule } from './console/console.module';
import { ReadThroughCache } from './cache/read-through-cache';
import { CallerRegistry } from './auth/callers/caller-registry';
import { Clock, SystemClock } from './common/clock';
import { AppConfig, ConfigModule, loadSections } from './config';
import { DatabaseModule } from './database/database.module';
import { DatabasePool } from './database/database-pool';
import { PgNotifications } from './database/pg-notifications';
import { passingDatabaseFailure } from './database/connection-errors';
import { FulfillmentOptions, PassingFailures } from './fulfillment';
import { GrpcModule } from './grpc/grpc.module';
import { HealthModule } from './health/health.module';
import { CONFIG_SECTIONS } from './lifecycle/config-sections';
import { IntentsModule } from './intents/intents.module';
// Every entity, for the data source (the database module registers the entity classes loaded modules declared).
import './lifecycle/entities';
import { ObservabilityModule } from './observability/observability.module';
import { PlatformsModule } from './platforms/platforms.module';

const CACHE_FALLBACK_WIRING = Symbol('cache fallback wiring');
const CACHE_INVALIDATION_CHANNEL = 'wf_cache_invalidations';

@Module({})
export class AppModule {
  /**
   * The application: the entry points (webhook routes, gRPC, health, polling) and the intent handlers; each
   * module imports what it uses. `callers` were read before start-up; `extra` lets tests and embedders add
   * modules (e.g. their own intent handlers).
   */
  static forRoot(config: AppConfig, callers: CallerRegistry, extra: ModuleMetadata['imports'] = []): DynamicModule {
    return {
      module: AppModule,
      imports: [
        ConfigModule.forRoot(config, [
          { provide: CallerRegistry, useValue: callers },
          { provide: FulfillmentOptions, useValue: config.fulfillment },
          { provide: PassingFailures, useValue: { causeOf: passingDatabaseFailure } satisfies PassingFailures },
          { provide: Clock, useValue: new SystemClock() },
          ...loadSections(config, CONFIG_SECTIONS),
        ]),
        ObservabilityModule,
        AuthModule,
        AsyncModule,
        HealthModule,
        PlatformsModule,
        GrpcModule,
        IntentsModule,
        CacheModule,
        ConsoleModule,
        DatabaseModule,
        ...extra,
      ],
      providers: [
        {
          // Without Redis (or when it fails a write) the cache tells the other replicas through PostgreSQL.
          // Another replica's write also tells the database where it stands in the WAL (read-your-writes).
          provide: CACHE_FALLBACK_WIRING,
          inject: [ReadThroughCache, PgNotifications, DatabasePool],
          useFactory: (cache: ReadThroughCache, notifications: PgNotifications, pool: DatabasePool) => {
            cache.useFallbackChannel(notifications.channel(CACHE_INVALIDATION_CHANNEL), {
              carriesWritePositions: pool.hasReadReplicas,
            });
            cache.onRemoteWrite((scopes, position) => pool.noteRemoteWrite(scopes, position));
          },
        },
      ],
    };
  }
}
