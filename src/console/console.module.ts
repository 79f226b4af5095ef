import { Module } from '@nestjs/common';
import { DatabaseModule } from '../database/database.module';
import { TurnLogWriter } from './turn-log/turn-log.writer';

/**
 * The operator console's part of the service itself: the turn log it lists (written off the request path). The
 * console's pages and admin API run on the admin listener (see `admin-app.ts`).
 */
@Module({
  imports: [DatabaseModule],
  providers: [TurnLogWriter],
  exports: [TurnLogWriter],
})
export class ConsoleModule {}
