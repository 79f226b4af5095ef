import { execFile } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';

const ROOT = join(__dirname, '..');
const DEPCRUISE = join(ROOT, 'node_modules', '.bin', 'depcruise');

interface Violation {
  rule: { name: string };
  from: string;
  to: string;
}

async function violations(cwd: string): Promise<Violation[]> {
  const result = await promisify(execFile)(
    DEPCRUISE,
    ['src', '--config', '.dependency-cruiser.cjs', '--output-type', 'json'],
    { cwd, maxBuffer: 64 * 1024 * 1024 },
  ).catch((error: { stdout: string }) => ({ stdout: error.stdout }));
  return (JSON.parse(result.stdout) as { summary: { violations: Violation[] } }).summary.violations;
}

/** The module rules of DESIGN.md, as `npm run lint` applies them (dependency-cruiser). */
describe('architecture rules (dependency-cruiser)', () => {
  it('holds for the code as it is', async () => {
    expect(await violations(ROOT)).toEqual([]);
  });

  describe('on a tree with planted violations', () => {
    const tree = mkdtempSync(join(tmpdir(), 'wf-architecture-'));
    const write = (path: string, text: string): void => {
      mkdirSync(dirname(join(tree, path)), { recursive: true });
      writeFileSync(join(tree, path), text);
    };
    let found: Violation[];

    beforeAll(async () => {
      copyFileSync(join(ROOT, '.dependency-cruiser.cjs'), join(tree, '.dependency-cruiser.cjs'));
      write('tsconfig.json', JSON.stringify({ compilerOptions: { module: 'commonjs', target: 'es2022' } }));
      write('src/main.ts', "import { ok } from './turn/turn-pipeline';\nexport const main = ok;\n");
      write('src/common/errors.ts', "import { guard } from '../auth/guard';\nexport const error = guard;\n");
      write('src/auth/guard.ts', "import { base } from '../common/base';\nexport const guard = base;\n");
      write('src/common/base.ts', 'export const base = 1;\n');
      write('src/turn/turn-pipeline.ts', "import { b } from './b';\nexport const ok = b;\nexport const a = 1;\n");
      write('src/turn/b.ts', "import { a } from './turn-pipeline';\nexport const b = a;\n");
      write('src/health/probe.ts', "import { main } from '../main';\nexport const probe = main;\n");
      write(
        'src/grpc/server.ts',
        "import { base } from '../common/base';\nimport { pool } from '../database/pool';\nexport const s = [base, pool];\n",
      );
      write('src/database/pool.ts', 'export const pool = 1;\n');
      write('src/gadgets/thing.ts', "import { base } from '../common/base';\nexport const thing = base;\n");
      write('src/common/errors.spec.ts', "import { guard } from '../auth/guard';\nexport const t = guard;\n");
      found = await violations(tree);
    });
    afterAll(() => rmSync(tree, { recursive: true, force: true }));

    const pairs = (): string[] =>
      found.map((violation) => `${violation.rule.name}: ${violation.from} -> ${violation.to}`);

    it('refuses an import outside the module’s row (common imports auth)', () => {
      expect(pairs()).toContain('module-common: src/common/errors.ts -> src/auth/guard.ts');
      expect(pairs()).toContain('module-grpc: src/grpc/server.ts -> src/database/pool.ts');
    });

    it('refuses a circle of imports', () => {
      expect(pairs()).toEqual(expect.arrayContaining([expect.stringMatching(/^no-circular: src\/turn\//)]));
    });

    it('refuses a module importing the composition (main.ts)', () => {
      expect(pairs()).toContain('composition-only-at-the-top: src/health/probe.ts -> src/main.ts');
    });

    it('refuses a folder that is no module of DESIGN.md', () => {
      expect(pairs()).toContain('only-known-modules: src/gadgets/thing.ts -> src/common/base.ts');
    });

    it('lets the composition import any module, and tests cross boundaries', () => {
      expect(pairs().filter((pair) => pair.includes('src/main.ts ->'))).toEqual([]);
      expect(pairs().filter((pair) => pair.includes('errors.spec.ts'))).toEqual([]);
    });
  });
});
