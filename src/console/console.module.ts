import { Module } from '@nestjs/common';
import { DatabaseModule } from '../database/database.module';
import { CaptureRules } from './capture/capture-rules';
import { SessionRevocations } from './sessions/session-revocations';
import { TurnLogWriter } from './turn-log/turn-log.writer';

/**
 * The operator console's part of the service itself: the turn log it lists (written off the request path) and
 * the capture rules that decide which turns keep their bodies, and the console sessions signed out before
 * their cookies expire. The
 * console's pages and admin API run on the admin listener (see `admin-app.ts`).
 */
@Module({
  imports: [DatabaseModule],
  providers: [TurnLogWriter, CaptureRules, SessionRevocations],
  exports: [TurnLogWriter, CaptureRules, SessionRevocations],
})
export class ConsoleModule {}
