import 'reflect-metadata';

import { Environment } from '../config/environment';
import { SUPPORTED_LANGUAGES } from './localized';
import { DEFAULT_OPERATOR_TEXTS, operatorText } from './operator-texts';

describe('operatorText', () => {
  const defaults = new Environment();
  const configured = [
    defaults.FALLBACK_TEXT,
    defaults.ERROR_TEXT,
    defaults.INTERIM_TEXT,
    defaults.ASYNC_ACCEPTED_TEXT,
    defaults.DEGRADED_TEXT,
    defaults.UNCONFIRMED_TEXT,
  ];

  it('translates exactly the configuration defaults, in every supported language', () => {
    expect(DEFAULT_OPERATOR_TEXTS.map((text) => text.en).sort()).toEqual([...configured].sort());
    for (const text of DEFAULT_OPERATOR_TEXTS) {
      for (const language of SUPPORTED_LANGUAGES) {
        expect(text[language].length).toBeGreaterThan(0);
        if (language !== 'en') expect(text[language]).not.toBe(text.en);
      }
    }
  });

  it('answers a default in the user language, English for a language it does not speak', () => {
    expect(operatorText(defaults.FALLBACK_TEXT, 'de-DE')).toMatch(/^Dabei kann ich leider/);
    expect(operatorText(defaults.ERROR_TEXT, 'fr')).toMatch(/^Désolé, un problème/);
    expect(operatorText(defaults.FALLBACK_TEXT, 'it-IT')).toBe(defaults.FALLBACK_TEXT);
  });

  it("sends an operator's own text as configured, whatever the language", () => {
    expect(operatorText('Bitte wenden Sie sich an die Filiale.', 'en')).toBe('Bitte wenden Sie sich an die Filiale.');
    expect(operatorText('Call us on 0800 123.', 'de')).toBe('Call us on 0800 123.');
  });
});
