import {
  CONFIRMING_PARAMETER,
  confirmationOf,
  confirmedActionKey,
  confirmationPrompt,
  confirmationSubject,
  ANSWERED,
  DECLINED,
  usingUpConfirmation,
} from './confirmation';
import type { ConfirmationState, FulfillmentRequest } from './fulfillment-request';

function turn(options: {
  confirmation?: ConfirmationState;
  parameters?: Record<string, unknown>;
  sessionParameters?: Record<string, unknown>;
  callerId?: string;
}): FulfillmentRequest {
  return {
    caller: { id: options.callerId ?? 'bank-bot' },
    idempotencyKey: 'the-turns-own-key',
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

  /** The question a prompt about `subject` put on record. */
  const questionAbout = (subject: string): string =>
    confirmationPrompt(turn({}), subject, { text: '?' }).sessionParameters?.[CONFIRMING_PARAMETER] as string;

  it('asks a question still open about the same subject again as that question; any other gets a new one', () => {
    const open = questionAbout(hundred);
    const promptAfter = (confirming: string, subject: string): unknown =>
      confirmationPrompt(turn({ sessionParameters: { [CONFIRMING_PARAMETER]: confirming } }), subject, { text: '?' })
        .sessionParameters?.[CONFIRMING_PARAMETER];
    // Its "yes" was answered "still working" and the user asked again: the late transfer is found under its key.
    expect(promptAfter(open, hundred)).toBe(open);
    const key = confirmedActionKey(
      turn({ confirmation: 'confirmed', sessionParameters: { [CONFIRMING_PARAMETER]: promptAfter(open, hundred) } }),
      hundred,
    );
    expect(key).toBe(
      confirmedActionKey(
        turn({ confirmation: 'confirmed', sessionParameters: { [CONFIRMING_PARAMETER]: open } }),
        hundred,
      ),
    );
    // Another amount, a question answered or declined, a subject recorded alone (an earlier release): a new question.
    for (const [confirming, subject] of [
      [open, fiveHundred],
      [ANSWERED, hundred],
      [DECLINED, hundred],
      [hundred, hundred],
    ]) {
      const question = promptAfter(confirming, subject);
      expect(question).toMatch(new RegExp(`^${subject}\\.[\\w-]{12}$`));
      expect(question).not.toBe(open);
    }
  });

  it('takes an answer for the subject the question on record asked about, and for no other', () => {
    const asked = { [CONFIRMING_PARAMETER]: questionAbout(hundred) };
    expect(confirmationOf(turn({ confirmation: 'confirmed', sessionParameters: asked }), hundred)).toBe('confirmed');
    expect(confirmationOf(turn({ confirmation: 'confirmed', sessionParameters: asked }), fiveHundred)).toBe('none');
    expect(confirmationOf(turn({ parameters: { confirmation: 'no' }, sessionParameters: asked }), fiveHundred)).toBe(
      'none',
    );
    // A question of an earlier release recorded the subject alone.
    const before = { [CONFIRMING_PARAMETER]: hundred };
    expect(confirmationOf(turn({ confirmation: 'confirmed', sessionParameters: before }), hundred)).toBe('confirmed');
    expect(confirmationOf(turn({ confirmation: 'confirmed', sessionParameters: before }), fiveHundred)).toBe('none');
    // No question on record (a platform that does not carry session parameters back, the bot's own question).
    expect(confirmationOf(turn({ confirmation: 'confirmed' }), fiveHundred)).toBe('confirmed');
    expect(confirmationOf(turn({ confirmation: 'confirmed', sessionParameters: { confirming: null } }), hundred)).toBe(
      'confirmed',
    );
  });

  it('does not take a "yes" after a "no" to the question, or after the handler acted on one', () => {
    for (const ended of [DECLINED, ANSWERED]) {
      const session = { [CONFIRMING_PARAMETER]: ended };
      expect(confirmationOf(turn({ parameters: { confirmation: 'yes' }, sessionParameters: session }), hundred)).toBe(
        'none',
      );
    }
  });

  it("a prompt records its subject and a token of that one question beside the handler's session parameters", () => {
    const prompt = confirmationPrompt(turn({}), hundred, { text: 'Transfer?', sessionParameters: { sku: 'A' } });
    expect(prompt).toEqual({
      text: 'Transfer?',
      confirm: true,
      sessionParameters: { sku: 'A', confirming: expect.stringMatching(new RegExp(`^${hundred}\\.[\\w-]{12}$`)) },
    });
    expect(questionAbout(hundred)).not.toBe(questionAbout(hundred));
  });

  it("acts on a confirmed question under the question's key: every yes to it, and only to it, finds the same", () => {
    const question = questionAbout(hundred);
    const yes = (callerId = 'bank-bot', asked: unknown = question) =>
      turn({ callerId, parameters: { confirmation: 'yes' }, sessionParameters: { confirming: asked } });
    const key = confirmedActionKey(yes(), hundred);
    expect(key).toMatch(/^[0-9a-f]{64}$/);
    expect(key).not.toBe('the-turns-own-key');
    expect(confirmedActionKey(yes(), hundred)).toBe(key);
    // Another question about the same values (the user asked for the same transfer again) is another action.
    expect(confirmedActionKey(yes('bank-bot', questionAbout(hundred)), hundred)).not.toBe(key);
    // Another caller's session naming the same question is another action too.
    expect(confirmedActionKey(yes('other-bot'), hundred)).not.toBe(key);
    // No question of ours about this subject: the turn's own key.
    expect(confirmedActionKey(yes('bank-bot', null), hundred)).toBe('the-turns-own-key');
    expect(confirmedActionKey(yes('bank-bot', hundred), hundred)).toBe('the-turns-own-key');
    expect(confirmedActionKey(yes(), fiveHundred)).toBe('the-turns-own-key');
  });

  it("uses the answer up with any reply but a prompt or a hand-over; a reply not the handler's keeps the question", () => {
    const question = questionAbout(hundred);
    const answered = turn({ parameters: { confirmation: 'yes' }, sessionParameters: { confirming: question } });
    expect(usingUpConfirmation(answered, { text: 'Done' })).toEqual({
      text: 'Done',
      sessionParameters: { confirmation: null },
    });
    // Values the handler sets itself stand.
    expect(usingUpConfirmation(answered, { text: 'Done', sessionParameters: { confirmation: 'kept' } })).toEqual({
      text: 'Done',
      sessionParameters: { confirmation: 'kept' },
    });
    expect(usingUpConfirmation(answered, { text: '', delegate: true })).toEqual({ text: '', delegate: true });
    const prompt = confirmationPrompt(turn({}), fiveHundred, { text: 'Transfer?' });
    expect(usingUpConfirmation(answered, prompt)).toBe(prompt);
    // The platform's own state (Lex) is the platform's to reset, and a "yes" leaves the question on record.
    const lex = turn({ confirmation: 'confirmed', sessionParameters: { confirming: question } });
    const done = { text: 'Done' };
    expect(usingUpConfirmation(lex, done)).toBe(done);
    // Nothing answered and nothing on record: nothing to clear.
    const plain = { text: 'How much?' };
    expect(usingUpConfirmation(turn({}), plain)).toBe(plain);
  });

  it('ends the question with the handler\'s own reply to a "yes": a later "yes" is asked again', () => {
    const question = questionAbout(hundred);
    const answered = turn({ parameters: { confirmation: 'yes' }, sessionParameters: { confirming: question } });
    expect(usingUpConfirmation(answered, { text: 'Done' }, true)).toEqual({
      text: 'Done',
      sessionParameters: { confirmation: null, confirming: ANSWERED },
    });
    const lex = turn({ confirmation: 'confirmed', sessionParameters: { confirming: question } });
    expect(usingUpConfirmation(lex, { text: 'Done' }, true)).toEqual({
      text: 'Done',
      sessionParameters: { confirming: ANSWERED },
    });
    // The handler's prompt or hand-over is not its answer.
    const prompt = confirmationPrompt(turn({}), hundred, { text: 'Transfer?' });
    expect(usingUpConfirmation(answered, prompt, true)).toBe(prompt);
    // The bot's own question (nothing of ours on record): nothing to end.
    expect(usingUpConfirmation(turn({ confirmation: 'confirmed' }), { text: 'Done' }, true)).toEqual({ text: 'Done' });
  });

  it('ends the question on record with a "no", whichever platform gave it', () => {
    const question = questionAbout(hundred);
    const no = turn({ parameters: { confirmation: 'no' }, sessionParameters: { confirming: question } });
    expect(usingUpConfirmation(no, { text: 'Cancelled.' })).toEqual({
      text: 'Cancelled.',
      sessionParameters: { confirmation: null, confirming: DECLINED },
    });
    const lex = turn({ confirmation: 'denied', sessionParameters: { confirming: question } });
    expect(usingUpConfirmation(lex, { text: 'Cancelled.' })).toEqual({
      text: 'Cancelled.',
      sessionParameters: { confirming: DECLINED },
    });
    // A "no" to the bot's own question (nothing of ours on record) leaves nothing on record.
    expect(usingUpConfirmation(turn({ confirmation: 'denied' }), { text: 'Cancelled.' })).toEqual({
      text: 'Cancelled.',
    });
  });
});
