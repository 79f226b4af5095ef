import type { FulfillmentRequest, FulfillmentResult } from '../../../fulfillment';
import { FulfillmentHandler, IntentHandler, pluralOf, translator } from '../../../fulfillment';
import { AccountsRepository, type AccountView } from '../accounts.repository';
import { accountTypeFrom, askForCustomerNumber, BANKING_SOURCE, customerNumberFrom } from '../banking-parameters';
import { BANKING_MESSAGES } from '../banking.messages';
import { formatMoney } from '../money';
import { StatementArchiveClient } from '../statement-archive.client';
import { StatementsRepository, type StoredStatement } from '../statements.repository';
import { isBlank, wholeNumberFrom } from '../../parameter-values';

const DEFAULT_DAYS = 30;
const MAX_DAYS = 366;
const DAY_MS = 86_400_000;

/** The default when no period is given; undefined when the one given is not a whole number of 1 to MAX_DAYS. */
function daysFrom(value: unknown): number | undefined {
  if (isBlank(value)) return DEFAULT_DAYS;
  const days = wholeNumberFrom(value);
  return days !== undefined && days >= 1 && days <= MAX_DAYS ? days : undefined;
}

/** A statement stored under the turn's key answers this turn only if it covers the same account and period. */
function isStatementOf(statement: StoredStatement, account: AccountView, days: number): boolean {
  const periodMs = statement.periodEnd.getTime() - statement.periodStart.getTime();
  return statement.accountId === account.id && periodMs === days * DAY_MS;
}

/**
 * "Send me a statement for my checking account" — parameters `user_id`, `account_type` (default checking),
 * `days` (default 30, at most 366; another value is asked for again). Filing the statement with the document
 * archive can take longer than any platform waits, so this handler runs asynchronously: the user is told at once,
 * the result goes to the caller's callback and to the next turn. Keyed on the turn, so a re-run files and records
 * one statement; the key reused for another account or period (its idempotency record expired) files nothing.
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
    // A period out of range is asked for again: filed as another period, it would stay with the archive for good.
    const days = daysFrom(request.parameters.days);
    if (days === undefined) {
      return {
        text: t('statementAskDays', { max: MAX_DAYS }),
        elicit: { parameter: 'days', invalid: true },
        source: BANKING_SOURCE,
      };
    }
    const account = await this.accounts.findAccount(customerNumber, accountType, request.signal);
    if (!account) {
      return { text: t('statementNoSuchAccount', { type: accountType }), failed: true };
    }

    // Recorded before it is filed, and filed as recorded: a run again after a crash (the archive filed it, the
    // reference was not stored) sends the archive the same period and figures under the same Idempotency-Key.
    const recorded =
      (await this.statements.findByKey(request.idempotencyKey, request.signal)) ??
      (await this.record(request, account, days));
    // Another statement under this key: the request id was used again once its idempotency record had expired.
    // Its figures and reference belong to that request (maybe another customer's), and this one files nothing.
    if (!isStatementOf(recorded, account, days)) {
      return { text: t('statementKeyReused'), failed: true, source: BANKING_SOURCE };
    }
    const reference = recorded.archiveReference ?? (await this.file(request, recorded, customerNumber, account));
    const statement = { ...recorded, archiveReference: reference };

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

  private async record(request: FulfillmentRequest, account: AccountView, days: number): Promise<StoredStatement> {
    const to = new Date();
    const from = new Date(to.getTime() - days * DAY_MS);
    const figures = await this.statements.figures(account.id, from, request.signal);
    return this.statements.record(request.idempotencyKey, account.id, { from, to }, figures, request.signal);
  }

  /** Files a recorded statement with the archive; the reference stored first (by a concurrent run) wins. */
  private async file(
    request: FulfillmentRequest,
    statement: StoredStatement,
    customerNumber: string,
    account: AccountView,
  ): Promise<string> {
    const reference = await this.archive.file(
      {
        idempotencyKey: request.idempotencyKey,
        customerNumber,
        accountType: account.accountType,
        currency: account.currency,
        periodStart: statement.periodStart,
        periodEnd: statement.periodEnd,
        transactionCount: statement.transactionCount,
        openingMinor: statement.openingMinor,
        closingMinor: statement.closingMinor,
      },
      request.signal,
    );
    return (await this.statements.filed(statement, reference, request.signal)).archiveReference ?? reference;
  }
}
