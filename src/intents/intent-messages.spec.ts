import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as ts from 'typescript';
import { catalogueProblems, SUPPORTED_LANGUAGES } from '../fulfillment';
import { APPOINTMENT_MESSAGES, SPECIALTIES } from './appointments/appointments.messages';
import { BANKING_MESSAGES } from './banking/banking.messages';
import { COMMERCE_MESSAGES } from './commerce/commerce.messages';
import { CRM_MESSAGES } from './crm/crm.messages';

const CATALOGUES = {
  APPOINTMENT_MESSAGES,
  SPECIALTIES,
  BANKING_MESSAGES,
  COMMERCE_MESSAGES,
  CRM_MESSAGES,
};

/** Where handlers and the helpers they share build replies. */
function replySources(): string[] {
  const intents = __dirname;
  const files: string[] = [join(intents, '..', 'async', 'pending-fulfillment.intent-handler.ts')];
  for (const domain of readdirSync(intents, { withFileTypes: true }).filter((entry) => entry.isDirectory())) {
    const folder = join(intents, domain.name);
    files.push(
      ...readdirSync(folder)
        .filter((name) => name.endsWith('-parameters.ts'))
        .map((name) => join(folder, name)),
    );
    const handlers = join(folder, 'handlers');
    files.push(
      ...readdirSync(handlers)
        .filter((name) => name.endsWith('.ts') && !name.endsWith('.spec.ts'))
        .map((name) => join(handlers, name)),
    );
  }
  return files;
}

const PROSE = /\p{L}{2,}[,.?!:]? +\p{L}{2,}/u;

/** The text of a string or template literal, with `{}` for each substitution. */
function literalText(node: ts.Node): string | undefined {
  if (ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node)) return node.text;
  if (ts.isTemplateExpression(node))
    return [node.head.text, ...node.templateSpans.map((s) => s.literal.text)].join('{}');
  return undefined;
}

/** Literals of two words or more that are not the text of a catalogue entry (`en: '…'`, `de: '…'`). */
function proseOutsideCatalogues(source: string): string[] {
  const file = ts.createSourceFile('source.ts', source, ts.ScriptTarget.Latest, true);
  const languages: readonly string[] = SUPPORTED_LANGUAGES;
  const found: string[] = [];
  const visit = (node: ts.Node): void => {
    const text = literalText(node);
    const inCatalogue =
      ts.isPropertyAssignment(node.parent) && languages.includes(node.parent.name.getText(file).replace(/['"]/g, ''));
    if (text !== undefined && PROSE.test(text) && !inCatalogue) found.push(text);
    ts.forEachChild(node, visit);
  };
  ts.forEachChild(file, visit);
  return found;
}

describe('intent message catalogues', () => {
  it.each(Object.entries(CATALOGUES))('%s has every text in every supported language', (_name, catalogue) => {
    expect(catalogueProblems(catalogue)).toEqual([]);
  });

  it('finds the handler sources it checks', () => {
    expect(replySources().filter((file) => file.endsWith('.intent-handler.ts'))).toHaveLength(12);
  });

  it.each(replySources().map((file) => [file.slice(file.indexOf('src/')), file]))(
    '%s says nothing that is not in a catalogue',
    (_name, file) => {
      expect(proseOutsideCatalogues(readFileSync(file, 'utf8'))).toEqual([]);
    },
  );

  it('the source check catches an English prompt written inline', () => {
    expect(proseOutsideCatalogues("const r = { text: 'Which account should I use?' };")).toEqual([
      'Which account should I use?',
    ]);
    expect(proseOutsideCatalogues('const r = { text: `You have no ${type} account` };')).toEqual([
      'You have no {} account',
    ]);
    expect(proseOutsideCatalogues("const x = { en: 'Hi there', de: 'Hallo du' }; ask('from_account');")).toEqual([]);
  });
});
