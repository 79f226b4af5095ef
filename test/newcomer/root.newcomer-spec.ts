import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { asRoot, firstContact, newcomerFile } from './first-contact';

/** The clone's npm test takes the test-port slices 4-6 (the new user's, at the same time, 0-2). */
const PORT_SLICE = 4;
const file = newcomerFile('root');

describe('the README two commands on a fresh clone', () => {
  it('work for root from a mode-700 folder', async () => {
    const folder = mkdtempSync(join(homedir(), 'wf-newcomer-'));
    chmodSync(folder, 0o700);
    const app = join(folder, 'app');
    try {
      const nodeBin = process.env.WF_NEWCOMER_ROOT_NODE_BIN;
      const person = asRoot(nodeBin);
      if (nodeBin) {
        const wanted = execFileSync(join(nodeBin, 'node'), ['--version'], { encoding: 'utf8' }).trim();
        expect((await person.run('node --version', folder)).trim()).toBe(wanted);
      }
      await firstContact(file, person, app, PORT_SLICE);
    } finally {
      // The embedded PostgreSQL kept this clone's data outside the private folder (see embedded-postgres.server).
      const key = createHash('sha256')
        .update(join(app, '.data', 'postgres'))
        .digest('hex')
        .slice(0, 16);
      rmSync(join('/var/lib/webhook-fulfillment', key), { recursive: true, force: true });
      rmSync(folder, { recursive: true, force: true });
    }
  });
});
