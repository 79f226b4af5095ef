export { AppConfig } from './app-config';
export type { DatabaseConfig, FulfillmentConfig, HttpConfig } from './app-config';
export { ConfigError, loadConfig } from './load-config';
export { ConfigModule } from './config.module';
