import { confirmationChips } from './confirmation-chips';

describe('confirmationChips', () => {
  it('offers Yes/No in the reply language (its base language, else English)', () => {
    expect(confirmationChips('en-US')).toEqual(['Yes', 'No']);
    expect(confirmationChips('de-DE')).toEqual(['Ja', 'Nein']);
    expect(confirmationChips('es')).toEqual(['Sí', 'No']);
    expect(confirmationChips('fr_CA')).toEqual(['Oui', 'Non']);
    expect(confirmationChips('it-IT')).toEqual(['Yes', 'No']);
  });
});
