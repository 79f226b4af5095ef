import { Module } from '@nestjs/common';
import { AccountsRepository } from './accounts.repository';
import { AccountBalanceHandler } from './handlers/account-balance.intent-handler';
import { RecentTransactionsHandler } from './handlers/recent-transactions.intent-handler';

const repositories = [AccountsRepository];
const handlers = [AccountBalanceHandler, RecentTransactionsHandler];

@Module({ providers: [...repositories, ...handlers] })
export class BankingModule {}
