import { Module } from '@nestjs/common';
import { CommittedWrites } from '../committed-writes';
import { AccountsRepository } from './accounts.repository';
import { AccountBalanceHandler } from './handlers/account-balance.intent-handler';
import { RecentTransactionsHandler } from './handlers/recent-transactions.intent-handler';
import { RequestStatementHandler } from './handlers/request-statement.intent-handler';
import { TransferFundsHandler } from './handlers/transfer-funds.intent-handler';
import { StatementArchiveClient } from './statement-archive.client';
import { StatementsRepository } from './statements.repository';
import { TransfersRepository } from './transfers.repository';
import { CacheModule } from '../../cache/cache.module';
import { DatabaseModule } from '../../database/database.module';
import { OutboundModule } from '../../outbound';

const repositories = [
  CommittedWrites,
  AccountsRepository,
  TransfersRepository,
  StatementsRepository,
  StatementArchiveClient,
];
const handlers = [AccountBalanceHandler, RecentTransactionsHandler, TransferFundsHandler, RequestStatementHandler];

@Module({ imports: [DatabaseModule, CacheModule, OutboundModule], providers: [...repositories, ...handlers] })
export class BankingModule {}
