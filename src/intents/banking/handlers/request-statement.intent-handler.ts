import type { FulfillmentRequest, FulfillmentResult } from '../../../fulfillment';
import { FulfillmentHandler, IntentHandler, pluralOf, translator } from '../../../fulfillment';
import { AccountsRepository } from '../accounts.repository';
import { accountTypeFrom, askForCustomerNumber, BANKING_SOURCE, customerNumberFrom } from '../banking-parameters';
import { BANKING_MESSAGES } from '../banking.messages';
import { formatMoney } from '../money';
import { StatementArchiveClient } from '../statement-archive.client';
import { StatementsRepository } from '../statements.repository';

const DEFAULT_DAYS = 30;
const MAX_DAYS = 366;
const DAY_MS = 86_400_000;

function daysFrom(value: unknown): number {
  const days = typeof value === 'number' ? value : typeof value === 'string' ? Number(value) : NaN;
  return Number.isInteger(days) && days >= 1 && days <= MAX_DAYS ? days : DEFAULT_DAYS;
}

/**
 * "Send me a statement for my checking account" — parameters `user_id`, `account_type` (default checking),
 * `days` (default 30). Filing the statement with the document archive can take longer than any platform
 * waits, so this handler runs asynchronously: the user is told at once, the result goes to the caller's
 * callback and to the next turn. Keyed on the turn, so a re-run files and records one statement.
 */
@IntentHandler('RequestStatement', { mode: 'async', changesState: true })
export class RequestStatementHandler implements FulfillmentHandler {
  constructor(
    private readonly accounts: AccountsRepository,
    private readonly statements: StatementsRepository,
    private readonly archive: StatementArchiveClient,
  ) {}

  async handle(request: FulfillmentRequest): Promise<FulfillmentResult> {
    const { languageCode } = request;
    const t = translator(BANKING_MESSAGES, languageCode);
    const customerNumber = customerNumberFrom(request.parameters);
    if (!customerNumber) return askForCustomerNumber(languageCode);
    // Checking when none is named; one named but unreadable ("savings account 2", a list) files nothing: a statement
    // of another account, filed with the archive for good, is no answer to it (and an async turn cannot ask back).
    const named = request.parameters.account_type;
    const accountType =
      accountTypeFrom(request.parameters) ?? (named === undefined || named === '' ? 'checking' : undefined);
    if (!accountType) return { text: t('statementUnclearAccount'), failed: true };
    const account = await this.accounts.findAccount(customerNumber, accountType, request.signal);
    if (!account) {
      return { text: t('statementNoSuchAccount', { type: accountType }), failed: true };
    }
    const days = daysFrom(request.parameters.days);

    const existing = await this.statements.findByKey(request.idempotencyKey);
    const statement =
      existing ??
      (await (async () => {
        const to = new Date();
        const from = new Date(to.getTime() - days * DAY_MS);
        const figures = await this.statements.figures(account.id, BigInt(account.balanceMinor), from, request.signal);
        const reference = await this.archive.file(
          {
            idempotencyKey: request.idempotencyKey,
            customerNumber,
            accountType,
            currency: account.currency,
            periodStart: from,
            periodEnd: to,
            ...figures,
          },
          request.signal,
        );
        return this.statements.save(request.idempotencyKey, account.id, { from, to }, figures, reference);
      })());

    const money = (minor: bigint) => formatMoney(minor, account.currency, languageCode).formatted;
    const count = statement.transactionCount;
    const transactions =
      pluralOf(count, languageCode) === 'one' ? 'statementTransactionsOne' : 'statementTransactionsOther';
    const period = pluralOf(days, languageCode) === 'one' ? 'statementPeriodOne' : 'statementPeriodOther';
    return {
      text: t('statementReady', {
        type: accountType,
        period: t(period, { days }),
        transactions: t(transactions, { count }),
        opening: money(statement.openingMinor),
        closing: money(statement.closingMinor),
        reference: statement.archiveReference,
      }),
      payload: { statementReference: statement.archiveReference },
      source: BANKING_SOURCE,
    };
  }
}
