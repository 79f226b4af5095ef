export { AppConfig } from './app-config';
export type { AppConfigValues, DatabaseConfig, FulfillmentConfig, HttpConfig, TlsConfig } from './app-config';
export { ConfigError, loadConfig } from './load-config';
export { ConfigModule } from './config.module';
