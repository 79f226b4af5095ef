import { Inject, Injectable, Logger, Module, OnApplicationBootstrap } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { AppConfig } from '../config';
import { AppointmentsModule } from './appointments/appointments.module';
import { BankingModule } from './banking/banking.module';
import { CommerceModule } from './commerce/commerce.module';
import { CrmModule } from './crm/crm.module';
import { retryLostConnection } from '../database/start-retries';
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

  // Tried again when the pool hands out a connection the server had just ended (idle_session_timeout: the data
  // source's connections sit idle while the rest starts); the seed is safe to repeat (its rows have fixed ids).
  async onApplicationBootstrap(): Promise<void> {
    if (this.config.database.seedDemoData) {
      const seeded = await retryLostConnection(() => seedDemoData(this.dataSource, true));
      if (seeded.length > 0) this.logger.log(`Seeded demo data: ${seeded.join(', ')}`);
      return;
    }
    if (!this.config.isProduction && (await retryLostConnection(() => demoDataMissing(this.dataSource)))) {
      this.logger.log('The database has no demo data for the README examples: run "npm run db:seed" to add it');
    }
  }
}

const domains = [BankingModule, AppointmentsModule, CrmModule, CommerceModule];

@Module({ imports: [DatabaseModule, ...domains], providers: [DemoDataOnStartup] })
export class IntentsModule {}
