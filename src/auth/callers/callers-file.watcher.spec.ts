import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AuditLog } from '../../audit/audit-log';
import type { AppConfig } from '../../config';
import { loadCallerRegistry } from '../auth.module';
import { CallersFileWatcher } from './callers-file.watcher';

const callersFile = (token: string) =>
  ['callers:', '  - id: bot', '    platforms: [generic]', `    auth: { bearer: { tokens: [${token}] } }`, ''].join(
    '\n',
  );

describe('CallersFileWatcher (a real file)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'wf-callers-watch-'));
  const file = join(dir, 'callers.yaml');
  const config = { callersFile: file, callers: { file, reloadIntervalMs: 3_600_000 } } as unknown as AppConfig;
  const audit = { record: () => undefined } as unknown as AuditLog;
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('applies a change made while the service started, between loading the callers and watching the file', async () => {
    const old = 'revoked-token-0123456789abcdef';
    const rotated = 'rotated-token-0123456789abcdef';
    writeFileSync(file, callersFile(old));
    const registry = loadCallerRegistry(config);
    // The secret is rotated before the watcher starts (Nest is still starting the other modules).
    writeFileSync(file, callersFile(rotated));
    const watcher = new CallersFileWatcher(registry, config, audit);
    watcher.onModuleInit();
    try {
      expect(await watcher.check()).toBe(true);
      expect(registry.findByBearerToken(old)).toBeUndefined();
      expect(registry.findByBearerToken(rotated)?.id).toBe('bot');
      // Unchanged since: nothing to reload.
      expect(await watcher.check()).toBe(false);
    } finally {
      watcher.onModuleDestroy();
    }
  });

  it('reloads nothing at the first check when the file is as it was loaded', async () => {
    writeFileSync(file, callersFile('steady-token-0123456789abcdef'));
    const registry = loadCallerRegistry(config);
    const watcher = new CallersFileWatcher(registry, config, audit);
    watcher.onModuleInit();
    try {
      expect(await watcher.check()).toBe(false);
    } finally {
      watcher.onModuleDestroy();
    }
  });

  it('does not apply a file caught half-written, whose written part is valid YAML without the binding', async () => {
    const bound = (token: string) =>
      [
        'callers:',
        '  - id: bot',
        '    platforms: [generic]',
        '    certificate: { subjectCN: bot }',
        `    auth: { bearer: { tokens: [${token}] } }`,
        '',
      ].join('\n');
    writeFileSync(file, bound('first-token-0123456789abcdef'));
    const registry = loadCallerRegistry(config);
    const watcher = new CallersFileWatcher(registry, config, audit);
    watcher.onModuleInit();
    try {
      const rotated = bound('second-token-0123456789abcdef');
      // The new file as an in-place rewrite leaves it for a moment: its first lines, the binding not yet written.
      writeFileSync(file, callersFile('second-token-0123456789abcdef'));
      const checking = watcher.check();
      // Halfway through the settling time: the first read has long happened, the second has not.
      await new Promise((resolve) => setTimeout(resolve, 125));
      writeFileSync(file, rotated);
      expect(await checking).toBe(false);
      expect(registry.findByBearerToken('first-token-0123456789abcdef')?.certificate).toBeDefined();
      // Written in full: applied, with its binding.
      expect(await watcher.check()).toBe(true);
      expect(registry.findByBearerToken('second-token-0123456789abcdef')?.certificate).toBeDefined();
    } finally {
      watcher.onModuleDestroy();
    }
  });
});
