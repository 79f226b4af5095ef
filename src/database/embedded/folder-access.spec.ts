import { chmodSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { canSearch, firstBlockedFolder } from './folder-access';

describe('canSearch', () => {
  const user = { uid: 500, gid: 600 };

  it.each([
    ['owner with x', { mode: 0o700, uid: 500, gid: 1 }, true],
    ['owner without x', { mode: 0o077, uid: 500, gid: 600 }, false],
    ['group with x', { mode: 0o710, uid: 1, gid: 600 }, true],
    ['group without x, others with x', { mode: 0o701, uid: 1, gid: 600 }, false],
    ['others with x', { mode: 0o701, uid: 1, gid: 2 }, true],
    ['others without x', { mode: 0o770, uid: 1, gid: 2 }, false],
  ])('%s', (_label, folder, expected) => {
    expect(canSearch(folder, user)).toBe(expected);
  });

  it('lets root in everywhere', () => {
    expect(canSearch({ mode: 0o000, uid: 1, gid: 1 }, { uid: 0, gid: 0 })).toBe(true);
  });
});

describe('firstBlockedFolder', () => {
  const top = mkdtempSync(join(tmpdir(), 'wf-access-'));
  afterAll(() => rmSync(top, { recursive: true, force: true }));

  it('finds the private folder on the way for another user, and nothing for ourselves', async () => {
    chmodSync(top, 0o755);
    const privateFolder = join(top, 'home');
    mkdirSync(join(privateFolder, 'project'), { recursive: true });
    chmodSync(privateFolder, 0o700);
    const target = join(privateFolder, 'project', '.data', 'postgres');
    const other = { name: 'someone', uid: 54_321, gid: 54_321 };
    expect(await firstBlockedFolder(target, other)).toBe(privateFolder);
    expect(await firstBlockedFolder(target, { name: 'me' })).toBeUndefined();
    chmodSync(privateFolder, 0o711);
    expect(await firstBlockedFolder(target, other)).toBeUndefined();
  });
});
