import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Logger } from '@nestjs/common';
import type { AuditLog, AuditRecord } from '../../audit/audit-log';
import { loadConfig } from '../../config';
import { loadCallerRegistry } from '../auth.module';
import { CallersFileError } from './callers-file';
import { CallersFileWatcher } from './callers-file.watcher';

const callersFile = (token: string) =>
  ['callers:', '  - id: bot', '    platforms: [generic]', `    auth: { bearer: { tokens: [${token}] } }`, ''].join(
    '\n',
  );

describe('CallersFileWatcher (a real file)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'wf-callers-watch-'));
  const file = join(dir, 'callers.yaml');
  const config = loadConfig({ CALLERS_FILE: file, CALLERS_RELOAD_INTERVAL_MS: '3600000' });
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

  describe('callers bound to a client certificate that can never arrive', () => {
    const bearerOnly = callersFile('plain-token-0123456789abcdef');
    const withBound = (method: 'mtls' | 'bearer') =>
      [
        bearerOnly.trimEnd(),
        '  - id: bank-bot',
        '    platforms: [generic]',
        '    certificate: { uriSAN: spiffe://bank.example/bot }',
        method === 'mtls'
          ? '    auth: { mtls: {} }'
          : '    auth: { bearer: { tokens: [bound-token-0123456789abcdef] } }',
        '',
      ].join('\n');
    const production = {
      NODE_ENV: 'production',
      DATABASE_URL: 'postgres://app@db/app',
      CALLERS_FILE: file,
      CALLERS_RELOAD_INTERVAL_MS: '3600000',
    };
    const behindProxy = loadConfig({ ...production, TLS_TERMINATED_BY_PROXY: 'true' });
    const ownTls = { ...production, TLS_CERT_FILE: '/tls/tls.crt', TLS_KEY_FILE: '/tls/tls.key' };

    /** The start's refusal (reading the callers before Nest starts, or the watcher's), or undefined when it started. */
    function startRefusal(watcherConfig: typeof config): CallersFileError | undefined {
      let watcher: CallersFileWatcher | undefined;
      try {
        watcher = new CallersFileWatcher(loadCallerRegistry(watcherConfig), watcherConfig, audit);
        watcher.onModuleInit();
        return undefined;
      } catch (error: unknown) {
        expect(error).toBeInstanceOf(CallersFileError);
        return error as CallersFileError;
      } finally {
        watcher?.onModuleDestroy();
      }
    }

    it.each(['mtls', 'bearer'] as const)(
      'refuse a production start behind a TLS-terminating proxy (auth %s), naming the caller, file and setting',
      (method) => {
        writeFileSync(file, withBound(method));
        expect(startRefusal(behindProxy)?.problems).toEqual([
          `CALLERS_FILE ${file}: caller "bank-bot" is bound to a client certificate (certificate:), which never ` +
            'reaches the service: TLS_TERMINATED_BY_PROXY=true: TLS ends at the proxy, and no proxy passes a client ' +
            'certificate on to the service; each of their requests would be refused (401). Serve TLS with ' +
            'TLS_CERT_FILE, TLS_KEY_FILE, TLS_CA_FILE and TLS_CLIENT_AUTH=optional or require, or remove the ' +
            'certificate binding',
        ]);
      },
    );

    it('refuse a production start whose own TLS asks for no client certificate (TLS_CLIENT_AUTH off)', () => {
      writeFileSync(file, withBound('mtls'));
      expect(
        startRefusal(loadConfig({ ...ownTls, TLS_CLIENT_AUTH: 'off', TLS_CA_FILE: '/tls/ca.crt' }))?.message,
      ).toMatch(/caller "bank-bot" is bound to a client certificate .*: TLS_CLIENT_AUTH is off;/);
      // Unset without a CA bundle is off too.
      expect(startRefusal(loadConfig(ownTls))?.message).toMatch(/TLS_CLIENT_AUTH is off/);
      for (const clientAuth of ['optional', 'require']) {
        const asked = loadConfig({ ...ownTls, TLS_CA_FILE: '/tls/ca.crt', TLS_CLIENT_AUTH: clientAuth });
        expect(startRefusal(asked)).toBeUndefined();
      }
    });

    it('are only warned of outside production, naming them', () => {
      writeFileSync(file, withBound('bearer'));
      const warned = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
      try {
        expect(startRefusal(loadConfig({ CALLERS_FILE: file, CALLERS_RELOAD_INTERVAL_MS: '3600000' }))).toBeUndefined();
        expect(warned).toHaveBeenCalledWith(
          expect.stringMatching(/caller "bank-bot" is bound to a client certificate .*: TLS is off \(no TLS_CERT_FILE/),
        );
      } finally {
        warned.mockRestore();
      }
    });

    it('refuse a production reload that adds one: the current callers stay, the refusal is logged and audited', async () => {
      writeFileSync(file, bearerOnly);
      const registry = loadCallerRegistry(behindProxy);
      const records: AuditRecord[] = [];
      const recording = { record: (record: AuditRecord) => records.push(record) } as unknown as AuditLog;
      const watcher = new CallersFileWatcher(registry, behindProxy, recording);
      const logged = jest.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
      watcher.onModuleInit();
      try {
        writeFileSync(file, withBound('bearer'));
        expect(await watcher.check()).toBe(false);
        expect(registry.all().map((caller) => caller.id)).toEqual(['bot']);
        expect(registry.findByBearerToken('bound-token-0123456789abcdef')).toBeUndefined();
        expect(logged).toHaveBeenCalledWith(
          expect.stringMatching(/^Kept the current callers: .*caller "bank-bot" is bound to a client certificate/),
        );
        expect(records).toEqual([expect.objectContaining({ event: 'sys_config_reload_fail', reason: 'callers-file' })]);
      } finally {
        logged.mockRestore();
        watcher.onModuleDestroy();
      }
    });
  });
});
