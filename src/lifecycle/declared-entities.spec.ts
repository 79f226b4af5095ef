import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { declaredEntities } from '../database/data-source-options';

/**
 * The application registers the entity classes its loaded modules declared (it runs from one bundled file, where
 * finding them by file name would load second copies), and lifecycle/entities.ts loads them all; the migration
 * commands find them by file name. Both must be the same set.
 */
describe('the entities the application registers', () => {
  const source = join(__dirname, '..');

  async function entityFileClasses(): Promise<Map<unknown, string>> {
    const classes = new Map<unknown, string>();
    const files = readdirSync(source, { recursive: true, encoding: 'utf8' }).filter((file) =>
      file.endsWith('.entity.ts'),
    );
    for (const file of files) {
      for (const value of Object.values((await import(join(source, file))) as Record<string, unknown>)) {
        if (typeof value === 'function') classes.set(value, `${file}: ${value.name}`);
      }
    }
    return classes;
  }

  it('are all registered once the application module is loaded', async () => {
    // First in this file, before any entity file is loaded here: what loading the application module declares.
    jest.requireActual('../app.module');
    const declared = new Set<unknown>(declaredEntities());
    const classes = await entityFileClasses();
    expect([...classes].filter(([entity]) => !declared.has(entity)).map(([, name]) => name)).toEqual([]);
  });

  it('are every class of every *.entity.ts file: lifecycle/entities.ts lists each', async () => {
    const listed = new Set<unknown>(Object.values(jest.requireActual<Record<string, unknown>>('./entities')));
    const classes = await entityFileClasses();
    expect(classes.size).toBeGreaterThan(0);
    expect([...classes].filter(([entity]) => !listed.has(entity)).map(([, name]) => name)).toEqual([]);
  });
});
