import { fill, localized } from './localized';

describe('localized', () => {
  const templates = { en: 'Hello {name}', de: 'Hallo {name}', 'pt-BR': 'Olá {name}' };

  it('picks the exact tag, then the base language, then English', () => {
    expect(localized(templates, 'pt-BR')).toBe('Olá {name}');
    expect(localized(templates, 'de-AT')).toBe('Hallo {name}');
    expect(localized(templates, 'de_CH')).toBe('Hallo {name}');
    expect(localized(templates, 'fr')).toBe('Hello {name}');
    expect(localized(templates, '')).toBe('Hello {name}');
  });

  it('fills placeholders and leaves unknown ones', () => {
    expect(fill('Hello {name}, {other}', { name: 'Ada' })).toBe('Hello Ada, {other}');
  });
});
