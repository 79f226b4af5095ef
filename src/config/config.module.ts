import { DynamicModule, Global, Module, type ValueProvider } from '@nestjs/common';
import { AppConfig } from './app-config';

/**
 * The configuration, validated before Nest started, for every module (this and observability are the only
 * global modules). `values` are the other settings read and checked before start-up (the callers file, the
 * dispatcher's texts), each under the token of the module that uses it, so that module needs no forRoot.
 */
@Global()
@Module({})
export class ConfigModule {
  static forRoot(config: AppConfig, values: readonly ValueProvider[] = []): DynamicModule {
    return {
      module: ConfigModule,
      providers: [{ provide: AppConfig, useValue: config }, ...values],
      exports: [AppConfig, ...values.map((value) => value.provide)],
    };
  }
}
