import type { FulfillmentRequest, FulfillmentResult } from '../../../fulfillment';
import {
  confirmationOf,
  confirmedActionKey,
  confirmationPrompt,
  confirmationSubject,
  FulfillmentHandler,
  IntentHandler,
  translator,
  usingUpConfirmation,
} from '../../../fulfillment';
import { AccountsRepository } from '../accounts.repository';
import { accountTypeFrom, askForCustomerNumber, BANKING_SOURCE, customerNumberFrom } from '../banking-parameters';
import { BANKING_MESSAGES } from '../banking.messages';
import { amountCurrency, formatMoney, parseAmountMinor } from '../money';
import { TransfersRepository } from '../transfers.repository';

function ask(parameter: string, text: string, invalid = false): FulfillmentResult {
  return { text, elicit: { parameter, ...(invalid && { invalid }) }, source: BANKING_SOURCE };
}

/**
 * "Move $200 from checking to savings" — parameters `user_id`, `from_account`, `to_account`, `amount`.
 * Asks for what is missing, asks for confirmation, then moves the money in one transaction that checks the
 * balance, so an account never goes negative however many transfers run at once. The transfer is keyed on
 * the confirmation question it answers (or, with none of ours on record, the turn's idempotency key): a retried or
 * re-run turn, or every "yes" to one question, never moves the money twice.
 */
@IntentHandler('TransferFunds', { stages: ['dialog', 'fulfillment'], changesState: true })
export class TransferFundsHandler implements FulfillmentHandler {
  constructor(
    private readonly accounts: AccountsRepository,
    private readonly transfers: TransfersRepository,
  ) {}

  async handle(request: FulfillmentRequest): Promise<FulfillmentResult> {
    // Every reply but the prompt uses a given answer up: after "insufficient funds" or "that slot was just taken",
    // the next transfer is confirmed again, not carried out on the old "yes".
    return usingUpConfirmation(request, await this.decide(request), true);
  }

  private async decide(request: FulfillmentRequest): Promise<FulfillmentResult> {
    const { languageCode } = request;
    const t = translator(BANKING_MESSAGES, languageCode);
    const customerNumber = customerNumberFrom(request.parameters);
    if (!customerNumber) return askForCustomerNumber(languageCode);
    const fromType = accountTypeFrom({ account_type: request.parameters.from_account });
    const toType = accountTypeFrom({ account_type: request.parameters.to_account });
    if (!fromType) return ask('from_account', t('askFromAccount'));
    if (!toType) return ask('to_account', t('askToAccount'));
    if (fromType === toType) return ask('to_account', t('sameAccount'), true);

    const from = await this.accounts.findAccount(customerNumber, fromType, request.signal);
    if (!from) return ask('from_account', t('transferNoSuchAccount', { type: fromType }), true);
    const amountGiven = request.parameters.amount;
    // "100 euros" from a dollar account: the number alone would move $100, which the user never said.
    const currencyNamed = amountCurrency(amountGiven);
    if (currencyNamed !== undefined && currencyNamed !== from.currency.toUpperCase()) {
      return ask('amount', t('askAmountInAccountCurrency', { type: fromType, currency: from.currency }), true);
    }
    const amountMinor = parseAmountMinor(amountGiven, from.currency);
    if (amountMinor === undefined) {
      return ask('amount', t('askAmount'), amountGiven !== undefined && amountGiven !== '');
    }
    const amount = formatMoney(amountMinor, from.currency, languageCode).formatted;

    // The "yes" counts for this transfer only: the same turn may have changed the amount or an account.
    const subject = confirmationSubject('TransferFunds', customerNumber, fromType, toType, amountMinor, from.currency);
    const confirmation = confirmationOf(request, subject);
    if (confirmation === 'none') {
      return confirmationPrompt(request, subject, {
        text: t('confirmTransfer', { amount, from: fromType, to: toType }),
        source: BANKING_SOURCE,
      });
    }
    if (confirmation === 'denied') {
      // The answer is used up: the next transfer must be confirmed again (Rasa keeps slots until told otherwise).
      return {
        text: t('transferDeclined'),
        failed: true,
        sessionParameters: { confirmation: null },
        source: BANKING_SOURCE,
      };
    }
    // Confirmed while the platform is still in its dialog: let it move on to fulfillment, which does the work.
    if (request.stage === 'dialog') return { text: '', delegate: true };

    const key = confirmedActionKey(request, subject);
    const outcome = await this.transfers.transfer(
      customerNumber,
      fromType,
      toType,
      amountMinor,
      'Transfer',
      key,
      request.signal,
    );
    switch (outcome.kind) {
      case 'done':
      case 'already-done': {
        const balance = formatMoney(outcome.from.balanceMinor, outcome.from.currency, languageCode).formatted;
        // Done before under the question's key (a double tap, a "yes" answered "still working" and asked again, an
        // open question asked again much later): said as such, so nobody takes it for a new transfer; the question is
        // answered, and the same transfer asked again is a new one. Under the turn's own key it is this turn run
        // again (a platform's retry after a lost reply): "Done", as the first run would have said.
        const said = outcome.kind === 'done' || key === request.idempotencyKey ? 'transferDone' : 'transferAlreadyDone';
        return {
          text: t(said, { amount, from: fromType, to: toType, balance }),
          sessionParameters: { confirmation: null },
          source: BANKING_SOURCE,
        };
      }
      case 'insufficient-funds': {
        const balance = formatMoney(outcome.from.balanceMinor, outcome.from.currency, languageCode).formatted;
        return {
          text: t('insufficientFunds', { type: fromType, balance, amount }),
          failed: true,
          source: BANKING_SOURCE,
        };
      }
      case 'unknown-account':
        return ask('to_account', t('transferNoSuchAccount', { type: outcome.accountType }), true);
      case 'currency-mismatch':
        return {
          text: t('currencyMismatch'),
          failed: true,
          source: BANKING_SOURCE,
        };
      case 'key-reused':
        return {
          text: t('transferKeyReused'),
          failed: true,
          sessionParameters: { confirmation: null },
          source: BANKING_SOURCE,
        };
    }
  }
}
