import type { AccountView } from './accounts.repository';
import { askForCustomerNumber, askWhichAccount, listAccountTypes, unknownCustomer } from './banking-parameters';

const account = (accountType: string) => ({ accountType }) as AccountView;
const owned = [account('checking'), account('savings')];

describe('banking prompts', () => {
  it('joins account types in the reply language, English for a language we do not answer in', () => {
    expect(listAccountTypes(owned, 'en-US')).toBe('checking or savings');
    expect(listAccountTypes(owned, 'de-DE')).toBe('checking oder savings');
    expect(listAccountTypes(owned, 'pt-BR')).toBe('checking or savings');
  });

  it('asks which account in the request language, the account types as stored', () => {
    const german = askWhichAccount(owned, 'balanceWhichAccount', '12345', 'de-DE');
    expect(german.text).toBe('Für welches Konto möchten Sie den Kontostand wissen: checking oder savings?');
    expect(german.messages).toEqual([
      { type: 'text', text: german.text },
      { type: 'quick-replies', replies: ['checking', 'savings'] },
    ]);
    expect(german.elicit).toEqual({ parameter: 'account_type' });

    expect(askWhichAccount(owned, 'balanceNoSuchAccount', '12345', 'fr', { type: 'brokerage' }).text).toBe(
      'Vous n’avez pas de compte brokerage chez nous. De quel compte voulez-vous connaître le solde : checking ou savings ?',
    );
    expect(askWhichAccount(owned, 'transactionsWhichAccount', '12345', 'es').text).toBe(
      '¿De qué cuenta quiere ver los movimientos: checking o savings?',
    );
    expect(askWhichAccount(owned, 'balanceWhichAccount', '12345', 'en').text).toBe(
      'Which account would you like the balance for: checking or savings?',
    );
  });

  it('asks for the customer number and reports an unknown one in the request language', () => {
    expect(askForCustomerNumber('en').text).toBe('I need your customer number to look that up. What is it?');
    expect(askForCustomerNumber('de').text).toBe('Dafür brauche ich Ihre Kundennummer. Wie lautet sie?');
    expect(askForCustomerNumber('de').elicit).toEqual({ parameter: 'user_id' });
    expect(unknownCustomer('es-ES').text).toBe(
      'No he encontrado ninguna cuenta con ese número de cliente. Compruébelo e inténtelo de nuevo.',
    );
  });
});
