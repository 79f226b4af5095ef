import {
  CONFIRMING_PARAMETER,
  confirmationOf,
  confirmationPrompt,
  confirmationSubject,
  usingUpConfirmation,
} from './confirmation';
import type { ConfirmationState, FulfillmentRequest } from './fulfillment-request';

function turn(options: {
  confirmation?: ConfirmationState;
  parameters?: Record<string, unknown>;
  sessionParameters?: Record<string, unknown>;
}): FulfillmentRequest {
  return {
    confirmation: options.confirmation ?? 'none',
    parameters: options.parameters ?? {},
    sessionParameters: options.sessionParameters ?? {},
  } as Partial<FulfillmentRequest> as FulfillmentRequest;
}

describe('confirmations', () => {
  const hundred = confirmationSubject('TransferFunds', '12345', 'checking', 'savings', 10000n, 'USD');
  const fiveHundred = confirmationSubject('TransferFunds', '12345', 'checking', 'savings', 50000n, 'USD');

  it('digests a subject stably and tells different values apart', () => {
    expect(hundred).toMatch(/^[\w-]{22}$/);
    expect(confirmationSubject('TransferFunds', '12345', 'checking', 'savings', 10000n, 'USD')).toBe(hundred);
    expect(fiveHundred).not.toBe(hundred);
    // A number and its text are different values; so are values split differently.
    expect(confirmationSubject('a', 1)).not.toBe(confirmationSubject('a', '1'));
    expect(confirmationSubject('ab', 'c')).not.toBe(confirmationSubject('a', 'bc'));
  });

  it('reads the platform state first, else a yes/no parameter', () => {
    expect(confirmationOf(turn({ confirmation: 'denied', parameters: { confirmation: 'yes' } }))).toBe('denied');
    expect(confirmationOf(turn({ parameters: { confirmation: ' Yes ' } }))).toBe('confirmed');
    expect(confirmationOf(turn({ parameters: { confirmation: false } }))).toBe('denied');
    expect(confirmationOf(turn({ parameters: { confirmation: 'maybe' } }))).toBe('none');
  });

  it('reads the Yes/No buttons offered in every reply language', () => {
    for (const [yes, no] of [
      ['Ja', 'Nein'],
      ['Sí', 'No'],
      ['Si\u0301', 'No'],
      ['Oui', 'Non'],
    ]) {
      expect(confirmationOf(turn({ parameters: { confirmation: yes } }))).toBe('confirmed');
      expect(confirmationOf(turn({ parameters: { confirmation: no } }))).toBe('denied');
    }
  });

  it('takes an answer for the subject the question on record asked about, and for no other', () => {
    const asked = { [CONFIRMING_PARAMETER]: hundred };
    expect(confirmationOf(turn({ confirmation: 'confirmed', sessionParameters: asked }), hundred)).toBe('confirmed');
    expect(confirmationOf(turn({ confirmation: 'confirmed', sessionParameters: asked }), fiveHundred)).toBe('none');
    expect(confirmationOf(turn({ parameters: { confirmation: 'no' }, sessionParameters: asked }), fiveHundred)).toBe(
      'none',
    );
    // No question on record (a platform that does not carry session parameters back, the bot's own question).
    expect(confirmationOf(turn({ confirmation: 'confirmed' }), fiveHundred)).toBe('confirmed');
    expect(confirmationOf(turn({ confirmation: 'confirmed', sessionParameters: { confirming: null } }), hundred)).toBe(
      'confirmed',
    );
  });

  it('a prompt records its subject beside the session parameters the handler sets', () => {
    expect(confirmationPrompt(hundred, { text: 'Transfer?', sessionParameters: { sku: 'A' } })).toEqual({
      text: 'Transfer?',
      confirm: true,
      sessionParameters: { sku: 'A', confirming: hundred },
    });
  });

  it('uses the answer and the question on record up with any reply but a prompt or a hand-over', () => {
    const answered = turn({ parameters: { confirmation: 'yes' }, sessionParameters: { confirming: hundred } });
    expect(usingUpConfirmation(answered, { text: 'Done' })).toEqual({
      text: 'Done',
      sessionParameters: { confirmation: null, confirming: null },
    });
    // Values the handler sets itself stand.
    expect(usingUpConfirmation(answered, { text: 'Done', sessionParameters: { confirmation: 'kept' } })).toEqual({
      text: 'Done',
      sessionParameters: { confirmation: 'kept', confirming: null },
    });
    expect(usingUpConfirmation(answered, { text: '', delegate: true })).toEqual({ text: '', delegate: true });
    const prompt = confirmationPrompt(fiveHundred, { text: 'Transfer?' });
    expect(usingUpConfirmation(answered, prompt)).toBe(prompt);
    // The platform's own state (Lex) is the platform's to reset; the question on record is ours.
    const lex = turn({ confirmation: 'confirmed', sessionParameters: { confirming: hundred } });
    expect(usingUpConfirmation(lex, { text: 'Done' })).toEqual({
      text: 'Done',
      sessionParameters: { confirming: null },
    });
    // Nothing answered and nothing on record: nothing to clear.
    const plain = { text: 'How much?' };
    expect(usingUpConfirmation(turn({}), plain)).toBe(plain);
  });
});
