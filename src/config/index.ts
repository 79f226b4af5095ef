export { AppConfig } from './app-config';
export type {
  AsyncConfig,
  CacheConfig,
  DegradedConfig,
  IdempotencyConfig,
  ObservabilityConfig,
  ShutdownConfig,
  AppConfigValues,
  DatabaseConfig,
  FulfillmentConfig,
  HttpConfig,
  MigrationLimits,
  RasaConfig,
  TlsConfig,
} from './app-config';
export { ConfigError, loadConfig } from './load-config';
export { serverName, serverUrl } from './database-url';
export type { DatabaseServers, PostgresServer, ServerTarget } from './database-url';
export { ConfigModule } from './config.module';
export { loadSections, sectionVariables, VariableProblem } from './config-section';
export type { ConfigSection } from './config-section';
export { emptyToUndefined, IsSecureServiceUrl, toBool, toInt } from './variable-transforms';
