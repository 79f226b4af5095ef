// Turns DESIGN.md's module table ("| `module` | owns | depends on |") into the dependency rules that
// .dependency-cruiser.cjs enforces, and writes them between the GENERATED markers of that file.
//
//   node scripts/design-rules.mjs [path/to/DESIGN.md]          rewrite the rules
//   node scripts/design-rules.mjs [path/to/DESIGN.md] --check  exit 1 when the rules differ from the table
//   … --check --if-present                                      the same, but only where DESIGN.md is found
//
// DESIGN.md lives with the team's shared notes (../shared/DESIGN.md by default); the generated rules are
// committed, so `npm run lint` needs only this repository.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const check = args.includes('--check');
const ifPresent = args.includes('--if-present');
const designPath = resolve(args.find((arg) => !arg.startsWith('--')) ?? join(root, '..', 'shared', 'DESIGN.md'));
const configPath = join(root, '.dependency-cruiser.cjs');
const BEGIN = '// GENERATED from DESIGN.md by scripts/design-rules.mjs: do not edit by hand.';
const END = '// END GENERATED';

/** `module -> modules it may import`, or `'*'` for a module that composes (may import any). */
function parseModuleTable(markdown) {
  const rows = {};
  for (const line of markdown.split('\n')) {
    const cells = line.split('|').map((cell) => cell.trim());
    const name = /^`([a-z][a-z0-9-]*)`$/.exec(cells[1] ?? '')?.[1];
    if (!name || cells.length < 5) continue;
    const dependsOn = cells[3];
    rows[name] = /^any module/.test(dependsOn)
      ? '*'
      : dependsOn === '–' || dependsOn === '-' || dependsOn === ''
        ? []
        : dependsOn
            .split(',')
            .map((entry) => entry.trim().replace(/`/g, ''))
            .filter(Boolean)
            .sort();
  }
  if (Object.keys(rows).length === 0) throw new Error(`no module table found in ${designPath}`);
  return rows;
}

/** One module per line, as prettier leaves it. */
function generatedBlock(rows) {
  const quote = (name) => (/^[a-z][a-z0-9]*$/.test(name) ? name : `'${name}'`);
  const lines = Object.keys(rows)
    .sort()
    .map((name) => {
      const allowed = rows[name];
      return `  ${quote(name)}: ${allowed === '*' ? "'*'" : `[${allowed.map((entry) => `'${entry}'`).join(', ')}]`},`;
    });
  return `${BEGIN}\nconst MODULES = {\n${lines.join('\n')}\n};\n${END}`;
}

if (ifPresent && !existsSync(designPath)) {
  process.stdout.write(`${designPath} is not here: the committed module rules in .dependency-cruiser.cjs apply\n`);
  process.exit(0);
}
const config = readFileSync(configPath, 'utf8');
const start = config.indexOf(BEGIN);
const end = config.indexOf(END);
if (start < 0 || end < 0) throw new Error(`${configPath} has no GENERATED block`);
const block = generatedBlock(parseModuleTable(readFileSync(designPath, 'utf8')));
const current = config.slice(start, end + END.length);
if (check) {
  if (current !== block) {
    process.stderr.write(
      `.dependency-cruiser.cjs does not match the module table of ${designPath}: run node scripts/design-rules.mjs\n`,
    );
    process.exit(1);
  }
} else {
  writeFileSync(configPath, config.slice(0, start) + block + config.slice(end + END.length));
}
