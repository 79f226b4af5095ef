/**
 * The languages every built-in handler answers in. Adding one here makes the compiler ask for it in every
 * catalogue (`Translations`), and the localisation tests sweep every handler in it.
 */
export const SUPPORTED_LANGUAGES = ['en', 'de', 'es', 'fr'] as const;
export type SupportedLanguage = (typeof SUPPORTED_LANGUAGES)[number];

/** Templates keyed by language tag, e.g. `{ en: 'Hello', de: 'Hallo', 'pt-BR': 'Olá' }`; `en` is required. */
export type LocalizedText = Readonly<Record<string, string>> & { readonly en: string };

/** One text in every supported language, with the same `{placeholders}` in each. */
export type Translations = Readonly<Record<SupportedLanguage, string>> & LocalizedText;

/** A handler's or domain's texts by key. */
export type Catalogue<K extends string = string> = Readonly<Record<K, Translations>>;

export type TemplateValues = Readonly<Record<string, string | number>>;

function baseLanguage(languageCode: string): string {
  return languageCode.split(/[-_]/)[0]?.toLowerCase() ?? '';
}

/** A tag as compared: case and `_` or `-` do not matter (`pt_BR`, `pt-br` and `pt-BR` are one language). */
function tagKey(tag: string): string {
  return tag.toLowerCase().replace(/_/g, '-');
}

/**
 * Picks the template for a language: exact tag, then its base language, then English. Tags match whatever their
 * case (Dialogflow ES sends `en-us`, a catalogue says `pt-BR`).
 */
export function localized(templates: LocalizedText, languageCode: string): string {
  // Own keys only: a language named `toString` or `constructor` must not find Object's functions.
  const own = (tag: string): string | undefined => {
    if (Object.hasOwn(templates, tag)) return templates[tag];
    const wanted = tagKey(tag);
    const key = Object.keys(templates).find((candidate) => tagKey(candidate) === wanted);
    return key === undefined ? undefined : templates[key];
  };
  return own(languageCode) ?? own(baseLanguage(languageCode)) ?? templates.en;
}

/** Fills `{name}` placeholders; unknown names stay as they are. */
export function fill(template: string, values: TemplateValues): string {
  // Most texts have no placeholder: no regular expression for them (three of a balance reply's four texts).
  if (!template.includes('{')) return template;
  return template.replace(/\{(\w+)\}/g, (match, name: string) =>
    values[name] !== undefined ? String(values[name]) : match,
  );
}

/** The language a reply is written in: the request's base language when supported, otherwise English. */
export function replyLanguage(languageCode: string): SupportedLanguage {
  const base = baseLanguage(languageCode);
  return (SUPPORTED_LANGUAGES as readonly string[]).includes(base) ? (base as SupportedLanguage) : 'en';
}

/**
 * The locale for dates, lists and numbers in a reply. It follows the reply language, so an English fallback
 * reply never carries Italian month names; a supported language keeps its region (`de-CH`, `en-GB`).
 */
export function replyLocale(languageCode: string): string {
  const language = replyLanguage(languageCode);
  if (baseLanguage(languageCode) !== language) return language;
  try {
    return Intl.getCanonicalLocales(languageCode.replace(/_/g, '-'))[0] ?? language;
  } catch {
    return language;
  }
}

/** "a, b or c" (`disjunction`) or "a, b and c" (`conjunction`) in the reply language. */
export function formatList(
  items: readonly string[],
  languageCode: string,
  type: 'conjunction' | 'disjunction' = 'conjunction',
): string {
  return new Intl.ListFormat(replyLocale(languageCode), { type }).format(items);
}

/** Picks a catalogue's text for the request's language and fills it in. */
export type Translate<K extends string> = (key: K, values?: TemplateValues) => string;

export function translator<K extends string>(catalogue: Catalogue<K>, languageCode: string): Translate<K> {
  return (key, values = {}) => fill(localized(catalogue[key], languageCode), values);
}

/** `one` or `other` for a count, by the reply language's plural rules (French says "0 jour", not "0 jours"). */
export function pluralOf(count: number, languageCode: string): 'one' | 'other' {
  return new Intl.PluralRules(replyLanguage(languageCode)).select(count) === 'one' ? 'one' : 'other';
}

const placeholdersOf = (template: string): string =>
  [...template.matchAll(/\{(\w+)\}/g)]
    .map((match) => match[1])
    .sort()
    .join(',');
const isProse = (template: string): boolean => /\p{L}{2,}/u.test(template.replace(/\{\w+\}/g, ''));

/**
 * What is wrong with a catalogue, one line per problem: a supported language missing or empty, placeholders
 * that differ from the English ones, or prose left identical to English.
 */
export function catalogueProblems(catalogue: Catalogue): string[] {
  const problems: string[] = [];
  for (const [key, texts] of Object.entries(catalogue)) {
    for (const language of SUPPORTED_LANGUAGES) {
      const text = texts[language] as string | undefined;
      if (!text?.trim()) problems.push(`${key}: no ${language} text`);
      else if (placeholdersOf(text) !== placeholdersOf(texts.en)) {
        problems.push(
          `${key}: ${language} placeholders {${placeholdersOf(text)}} differ from en {${placeholdersOf(texts.en)}}`,
        );
      } else if (language !== 'en' && isProse(text) && text === texts.en) {
        problems.push(`${key}: ${language} text is the English one`);
      }
    }
  }
  return problems;
}
