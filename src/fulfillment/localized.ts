/** Templates keyed by language tag, e.g. `{ en: 'Hello', de: 'Hallo', 'pt-BR': 'Olá' }`; `en` is required. */
export type LocalizedText = Readonly<Record<string, string>> & { readonly en: string };

/** Picks the template for a language: exact tag, then its base language, then English. */
export function localized(templates: LocalizedText, languageCode: string): string {
  const exact = templates[languageCode];
  if (exact !== undefined) return exact;
  const base = languageCode.split(/[-_]/)[0]?.toLowerCase() ?? '';
  return templates[base] ?? templates.en;
}

/** Fills `{name}` placeholders; unknown names stay as they are. */
export function fill(template: string, values: Readonly<Record<string, string | number>>): string {
  return template.replace(/\{(\w+)\}/g, (match, name: string) =>
    values[name] !== undefined ? String(values[name]) : match,
  );
}
