import {
  catalogueProblems,
  fill,
  formatList,
  localized,
  pluralOf,
  replyLanguage,
  replyLocale,
  SUPPORTED_LANGUAGES,
  translator,
} from './localized';
import type { Catalogue } from './localized';

describe('localized', () => {
  const templates = { en: 'Hello {name}', de: 'Hallo {name}', 'pt-BR': 'Olá {name}' };

  it('picks the exact tag, then the base language, then English', () => {
    expect(localized(templates, 'pt-BR')).toBe('Olá {name}');
    expect(localized(templates, 'de-AT')).toBe('Hallo {name}');
    expect(localized(templates, 'de_CH')).toBe('Hallo {name}');
    expect(localized(templates, 'fr')).toBe('Hello {name}');
    expect(localized(templates, '')).toBe('Hello {name}');
  });

  it('matches a tag whatever its case and separator (Dialogflow ES sends pt-br and en-us)', () => {
    for (const tag of ['pt-br', 'PT-BR', 'pt_BR', 'pt_br']) expect(localized(templates, tag)).toBe('Olá {name}');
    expect(localized(templates, 'DE')).toBe('Hallo {name}');
    expect(localized(templates, 'pt-PT')).toBe('Hello {name}');
  });

  it('finds only the texts it has: a language named like an Object property gets English', () => {
    for (const tag of ['toString', 'constructor', 'valueOf-DE', '__proto__', 'hasOwnProperty']) {
      expect(localized(templates, tag)).toBe('Hello {name}');
    }
  });

  it('fills placeholders and leaves unknown ones', () => {
    expect(fill('Hello {name}, {other}', { name: 'Ada' })).toBe('Hello Ada, {other}');
    expect(fill('No placeholder here.', { name: 'Ada' })).toBe('No placeholder here.');
  });
});

describe('supported languages', () => {
  it('include English, the fallback', () => {
    expect(SUPPORTED_LANGUAGES).toContain('en');
  });

  it('a reply is written in the base language when supported, else English', () => {
    expect(replyLanguage('de-DE')).toBe('de');
    expect(replyLanguage('FR_ca')).toBe('fr');
    expect(replyLanguage('es')).toBe('es');
    expect(replyLanguage('it-IT')).toBe('en');
    expect(replyLanguage('')).toBe('en');
  });

  it('formats in the reply language, keeping a supported region and dropping an unsupported language', () => {
    expect(replyLocale('de_CH')).toBe('de-CH');
    expect(replyLocale('en-GB')).toBe('en-GB');
    expect(replyLocale('fr')).toBe('fr');
    expect(replyLocale('it-IT')).toBe('en');
    expect(replyLocale('de-!!')).toBe('de');
  });
});

describe('formatList', () => {
  it('joins in the reply language', () => {
    expect(formatList(['checking', 'savings'], 'en-US', 'disjunction')).toBe('checking or savings');
    expect(formatList(['checking', 'savings'], 'de-DE', 'disjunction')).toBe('checking oder savings');
    expect(formatList(['checking', 'savings'], 'es', 'disjunction')).toBe('checking o savings');
    expect(formatList(['checking', 'savings'], 'fr', 'disjunction')).toBe('checking ou savings');
    expect(formatList(['a', 'b'], 'de')).toBe('a und b');
    // The sentence around it falls back to English, so the list does too.
    expect(formatList(['checking', 'savings'], 'it', 'disjunction')).toBe('checking or savings');
  });
});

describe('translator', () => {
  const catalogue = {
    greet: { en: 'Hello {name}', de: 'Hallo {name}', es: 'Hola {name}', fr: 'Bonjour {name}' },
  } satisfies Catalogue;

  it('picks the text for the request language, fills it in and falls back to English', () => {
    expect(translator(catalogue, 'es-MX')('greet', { name: 'Ada' })).toBe('Hola Ada');
    expect(translator(catalogue, 'ja')('greet', { name: 'Ada' })).toBe('Hello Ada');
  });
});

describe('pluralOf', () => {
  it('follows the language’s plural rules', () => {
    expect([0, 1, 2].map((n) => pluralOf(n, 'en'))).toEqual(['other', 'one', 'other']);
    expect([0, 1, 2].map((n) => pluralOf(n, 'fr-FR'))).toEqual(['one', 'one', 'other']);
  });
});

describe('catalogueProblems', () => {
  it('accepts a complete catalogue, including texts without prose that read the same everywhere', () => {
    expect(
      catalogueProblems({
        ok: { en: 'Yes {x}', de: 'Ja {x}', es: 'Sí {x}', fr: 'Oui {x}' },
        line: { en: '{a}: {b}', de: '{a}: {b}', es: '{a}: {b}', fr: '{a} : {b}' },
      }),
    ).toEqual([]);
  });

  it('reports a missing language, different placeholders and untranslated prose', () => {
    const broken = {
      missing: { en: 'Hello', de: 'Hallo', es: 'Hola' },
      placeholders: { en: 'Hi {name}', de: 'Hallo {nam}', es: 'Hola {name}', fr: 'Salut {name}' },
      english: { en: 'Hello', de: 'Hallo', es: 'Hola', fr: 'Hello' },
    } as unknown as Catalogue;
    expect(catalogueProblems(broken)).toEqual([
      'missing: no fr text',
      'placeholders: de placeholders {nam} differ from en {name}',
      'english: fr text is the English one',
    ]);
  });
});
