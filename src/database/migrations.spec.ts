import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { MIGRATIONS } from './migrations';

describe('MIGRATIONS', () => {
  it('lists the class of every file in migrations/, each once, in the order of their timestamps', async () => {
    const folder = join(__dirname, 'migrations');
    const files = readdirSync(folder)
      .filter((file) => /^\d+-.+\.ts$/.test(file))
      .sort();
    const classes: unknown[] = [];
    for (const file of files) {
      classes.push(...Object.values((await import(join(folder, file))) as Record<string, unknown>));
    }
    expect(files.length).toBeGreaterThan(0);
    expect(MIGRATIONS).toEqual(classes);
  });
});
