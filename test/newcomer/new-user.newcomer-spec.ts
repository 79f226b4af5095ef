import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { asUser, firstContact, newcomerFile } from './first-contact';

/** The clone's npm test takes the test-port slices 0-2 (the root clone's, at the same time, 4-6). */
const PORT_SLICE = 0;
const file = newcomerFile('new-user');

describe('the README two commands on a fresh clone', () => {
  it('work for a new non-root user in its private home folder, with no database or Redis configured', async () => {
    const name = `wf-newcomer-${randomBytes(3).toString('hex')}`;
    execFileSync('useradd', ['--create-home', '--shell', '/bin/bash', name]);
    const person = asUser(name);
    try {
      chmodSync(person.home, 0o700);
      // A warm npm cache, as a developer's machine has (the registry is slow from here, not the point).
      if (existsSync(join(homedir(), '.npm'))) {
        execFileSync('cp', ['-a', join(homedir(), '.npm'), join(person.home, '.npm')]);
        execFileSync('chown', ['-R', `${name}:${name}`, join(person.home, '.npm')]);
      }
      await firstContact(file, person, join(person.home, 'app'), PORT_SLICE);
    } finally {
      // Whatever the user still runs (a server left by a failed step, test databases) goes with the user.
      spawnSync('pkill', ['-KILL', '-u', name]);
      execFileSync('userdel', ['--remove', name], { stdio: 'ignore' });
    }
  });
});
