import { Module } from '@nestjs/common';
import { AccountsRepository } from './accounts.repository';
import { AccountBalanceHandler } from './handlers/account-balance.intent-handler';
import { RecentTransactionsHandler } from './handlers/recent-transactions.intent-handler';
import { TransferFundsHandler } from './handlers/transfer-funds.intent-handler';
import { TransfersRepository } from './transfers.repository';

const repositories = [AccountsRepository, TransfersRepository];
const handlers = [AccountBalanceHandler, RecentTransactionsHandler, TransferFundsHandler];

@Module({ providers: [...repositories, ...handlers] })
export class BankingModule {}
