import { Inject, Injectable, Logger, Module, OnApplicationBootstrap } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { AppConfig } from '../config';
import { AppointmentsModule } from './appointments/appointments.module';
import { BankingModule } from './banking/banking.module';
import { CommerceModule } from './commerce/commerce.module';
import { CrmModule } from './crm/crm.module';
import { isConnectionError } from '../database/connection-errors';
import { DatabaseModule } from '../database/database.module';
import { demoDataMissing, seedDemoData } from './demo-data';

/** Seeds demo data into an empty database at start-up when configured (development), or says how to. */
@Injectable()
class DemoDataOnStartup implements OnApplicationBootstrap {
  private readonly logger = new Logger('DemoData');

  constructor(
    @Inject(AppConfig) private readonly config: AppConfig,
    @InjectDataSource() private readonly dataSource: DataSource,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    if (this.config.database.seedDemoData) {
      const seeded = await onLiveConnection(() => seedDemoData(this.dataSource, true));
      if (seeded.length > 0) this.logger.log(`Seeded demo data: ${seeded.join(', ')}`);
      return;
    }
    if (!this.config.isProduction && (await onLiveConnection(() => demoDataMissing(this.dataSource)))) {
      this.logger.log('The database has no demo data for the README examples: run "npm run db:seed" to add it');
    }
  }
}

/**
 * Runs `work` again when the pooled connection it got was one the server had just ended (`idle_session_timeout`:
 * the data source's connections sit idle while the rest of the application starts); the pool drops that
 * connection, and the next attempt gets another. The seed is safe to repeat (its rows have fixed ids).
 */
async function onLiveConnection<T>(work: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await work();
    } catch (error: unknown) {
      if (attempt >= 3 || !isConnectionError(error)) throw error;
    }
  }
}

const domains = [BankingModule, AppointmentsModule, CrmModule, CommerceModule];

@Module({ imports: [DatabaseModule, ...domains], providers: [DemoDataOnStartup] })
export class IntentsModule {}
