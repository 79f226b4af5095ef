import 'reflect-metadata';
import { DataSource } from 'typeorm';
import { loadConfig } from '../config';
import { buildDataSourceOptions } from './data-source-options';

// Entry point for the TypeORM CLI (`npm run migration:generate` sets DATABASE_URL before calling it).
const config = loadConfig(process.env);
if (!config.database.url) {
  throw new Error('DATABASE_URL is not set: run migrations through `npm run migration:*`, which provides one');
}

export const dataSource = new DataSource(buildDataSourceOptions({ ...config.database, url: config.database.url }));
