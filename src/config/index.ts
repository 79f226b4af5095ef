export { AppConfig } from './app-config';
export type {
  AsyncConfig,
  DegradedConfig,
  IdempotencyConfig,
  ObservabilityConfig,
  ShutdownConfig,
  AppConfigValues,
  DatabaseConfig,
  FulfillmentConfig,
  HttpConfig,
  LeadScoringRules,
  TlsConfig,
} from './app-config';
export { DEFAULT_LEAD_SCORING } from './app-config';
export { ConfigError, loadConfig } from './load-config';
export { ConfigModule } from './config.module';
