import type { MigrationInterface } from 'typeorm';
import { BankingSchema1795800145320 } from './migrations/1795800145320-BankingSchema';
import { SecurityTables1795803088198 } from './migrations/1795803088198-SecurityTables';
import { AppointmentsSchema1795805425937 } from './migrations/1795805425937-AppointmentsSchema';
import { CrmLeads1795805634141 } from './migrations/1795805634141-CrmLeads';
import { CommerceSchema1795805796892 } from './migrations/1795805796892-CommerceSchema';
import { ExactlyOnce1795900000000 } from './migrations/1795900000000-ExactlyOnce';
import { SessionIdLength1796000000000 } from './migrations/1796000000000-SessionIdLength';
import { ReplayBodyDigest1796100000000 } from './migrations/1796100000000-ReplayBodyDigest';
import { AuditRouteAndDropped1796210000000 } from './migrations/1796210000000-AuditRouteAndDropped';
import { TurnLog1796210289367 } from './migrations/1796210289367-TurnLog';
import { RequestCapture1796221494239 } from './migrations/1796221494239-RequestCapture';
import { ConsoleRevokedSessions1796222233379 } from './migrations/1796222233379-ConsoleRevokedSessions';
import { AsyncTurnKey1796300000000 } from './migrations/1796300000000-AsyncTurnKey';
import { BookingKey1796400000000 } from './migrations/1796400000000-BookingKey';
import { StatementBeforeFiling1796500000000 } from './migrations/1796500000000-StatementBeforeFiling';
import { CaptureCreatorLength1796600000000 } from './migrations/1796600000000-CaptureCreatorLength';
import { TurnLogRollup1796700000000 } from './migrations/1796700000000-TurnLogRollup';
import { LeadsPerCaller1796800000000 } from './migrations/1796800000000-LeadsPerCaller';

/**
 * Every migration, oldest first. Listed rather than found by file name: the service runs from one bundled file
 * (scripts/build.mjs), where a class loaded from its own file would be a second copy of the modules it imports.
 * migrations.spec.ts fails when a migration file is missing here.
 */
export const MIGRATIONS: readonly (new () => MigrationInterface)[] = [
  BankingSchema1795800145320,
  SecurityTables1795803088198,
  AppointmentsSchema1795805425937,
  CrmLeads1795805634141,
  CommerceSchema1795805796892,
  ExactlyOnce1795900000000,
  SessionIdLength1796000000000,
  ReplayBodyDigest1796100000000,
  AuditRouteAndDropped1796210000000,
  TurnLog1796210289367,
  RequestCapture1796221494239,
  ConsoleRevokedSessions1796222233379,
  AsyncTurnKey1796300000000,
  BookingKey1796400000000,
  StatementBeforeFiling1796500000000,
  CaptureCreatorLength1796600000000,
  TurnLogRollup1796700000000,
  LeadsPerCaller1796800000000,
];
