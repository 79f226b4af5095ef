import { DynamicModule, Module, ModuleMetadata } from '@nestjs/common';
import { AuthModule } from './auth/auth.module';
import type { CallerRegistry } from './auth/callers/caller-registry';
import { AppConfig, ConfigModule } from './config';
import { DatabaseModule } from './database/database.module';
import { FulfillmentModule } from './fulfillment';
import { IntentsModule } from './intents/intents.module';
import { PlatformsModule } from './platforms/platforms.module';

@Module({})
export class AppModule {
  /** `extra` lets tests and embedders add modules (e.g. their own intent handlers). */
  static forRoot(config: AppConfig, callers: CallerRegistry, extra: ModuleMetadata['imports'] = []): DynamicModule {
    return {
      module: AppModule,
      imports: [
        ConfigModule.forRoot(config),
        DatabaseModule,
        FulfillmentModule.forRoot(config.fulfillment),
        AuthModule.forRoot(callers),
        PlatformsModule,
        IntentsModule,
        ...extra,
      ],
    };
  }
}
