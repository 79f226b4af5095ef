import { confirmationOf, type FulfillmentRequest } from '../fulfillment';
import { confirmationChips } from './confirmation-chips';

describe('confirmationChips', () => {
  it('offers Yes/No in the reply language (its base language, else English)', () => {
    expect(confirmationChips('en-US')).toEqual(['Yes', 'No']);
    expect(confirmationChips('de-DE')).toEqual(['Ja', 'Nein']);
    expect(confirmationChips('es')).toEqual(['Sí', 'No']);
    expect(confirmationChips('fr_CA')).toEqual(['Oui', 'Non']);
    expect(confirmationChips('it-IT')).toEqual(['Yes', 'No']);
  });

  it('offers only answers the handlers read as yes and no (a bot fills its slot with the one pressed)', () => {
    const answering = (answer: string) =>
      ({
        confirmation: 'none',
        parameters: { confirmation: answer },
        sessionParameters: {},
      }) as unknown as FulfillmentRequest;
    for (const language of ['en', 'de', 'es', 'fr']) {
      const [yes, no] = confirmationChips(language);
      expect([confirmationOf(answering(yes)), confirmationOf(answering(no))]).toEqual(['confirmed', 'denied']);
    }
  });
});
