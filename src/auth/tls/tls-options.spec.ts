import 'reflect-metadata';

import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, loadConfig, type TlsConfig } from '../../config';
import { httpsServerOptions, pemBlocks, readTlsMaterial } from './tls-options';

const SCRIPT = join(__dirname, '..', '..', '..', 'scripts', 'certs.mjs');

describe('TLS options', () => {
  const dir = mkdtempSync(join(tmpdir(), 'wf-tls-options-'));
  const tls = (overrides: Partial<TlsConfig> = {}): TlsConfig => ({
    certFile: join(dir, 'server.crt'),
    keyFile: join(dir, 'server.key'),
    caFile: join(dir, 'ca.crt'),
    crlFile: join(dir, 'ca.crl.pem'),
    clientAuth: 'require',
    reloadIntervalMs: 10_000,
    handshakeTimeoutMs: 10_000,
    ...overrides,
  });

  beforeAll(() => execFileSync(process.execPath, [SCRIPT, '--out', dir, '--force'], { stdio: 'ignore' }));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  describe('TLS_HANDSHAKE_TIMEOUT_MS', () => {
    it('defaults to 10 s and reaches the server options', () => {
      const config = loadConfig({ TLS_CERT_FILE: tls().certFile, TLS_KEY_FILE: tls().keyFile }, '/');
      expect(config.tls?.handshakeTimeoutMs).toBe(10_000);
      const options = httpsServerOptions(tls({ handshakeTimeoutMs: 750 }), readTlsMaterial(tls()));
      expect(options.handshakeTimeout).toBe(750);
    });

    it('refuses more than 10 s (Node would wait 120 s)', () => {
      expect(() => loadConfig({ TLS_HANDSHAKE_TIMEOUT_MS: '20000' }, '/')).toThrow(ConfigError);
      expect(() => loadConfig({ TLS_HANDSHAKE_TIMEOUT_MS: '50' }, '/')).toThrow(ConfigError);
    });
  });

  it('refuses a connection without a verified client certificate in the handshake only with require', () => {
    const material = readTlsMaterial(tls());
    expect(httpsServerOptions(tls(), material)).toMatchObject({ requestCert: true, rejectUnauthorized: true });
    expect(httpsServerOptions(tls({ clientAuth: 'optional' }), material)).toMatchObject({
      requestCert: true,
      rejectUnauthorized: false,
    });
    expect(httpsServerOptions(tls({ clientAuth: 'off' }), material)).toMatchObject({ requestCert: false });
  });

  describe('pemBlocks', () => {
    const ca = () => readFileSync(join(dir, 'ca.crt'), 'utf8');

    it('returns every complete block, allowing labels between them', () => {
      expect(pemBlocks(`root\n${ca()}\n# another\n${ca()}`, 'CERTIFICATE')).toHaveLength(2);
    });

    it.each([
      ['empty', ''],
      ['not PEM', 'garbage'],
    ])('refuses a file that is %s', (_label, text) => {
      expect(pemBlocks(text, 'CERTIFICATE')).toMatch(/holds no PEM CERTIFICATE block/);
    });

    it('refuses a file cut off inside its last block', () => {
      const text = ca() + ca().slice(0, 100);
      expect(pemBlocks(text, 'CERTIFICATE')).toMatch(/incomplete PEM block/);
    });
  });

  describe('readTlsMaterial', () => {
    it('hands every CRL of a concatenated file to node:tls separately', () => {
      const crl = readFileSync(join(dir, 'ca.crl.pem'), 'utf8');
      const both = join(dir, 'two.crl.pem');
      writeFileSync(both, crl + crl);
      expect(readTlsMaterial(tls({ crlFile: both })).options.crl).toEqual([crl.trim(), crl.trim()]);
    });

    /** The PEM with the last byte of its DER (inside the signature) changed: still parses, no longer verifies. */
    const damaged = (file: string, label: string) => {
      const der = Buffer.from(
        readFileSync(join(dir, file), 'utf8')
          .replace(/-----[A-Z0-9 ]+-----/g, '')
          .replace(/\s+/g, ''),
        'base64',
      );
      der[der.length - 1] ^= 0x01;
      return `-----BEGIN ${label}-----\n${der.toString('base64')}\n-----END ${label}-----\n`;
    };

    it.each([
      ['a CRL whose signature was damaged', 'crlFile', () => damaged('ca.crl.pem', 'X509 CRL'), /is not signed by/],
      ['a CA whose signature was damaged', 'caFile', () => damaged('ca.crt', 'CERTIFICATE'), /does not verify/],
      [
        'a CA bundle that does not hold the CRL’s issuer',
        'caFile',
        () => readFileSync(join(dir, 'other-ca.crt'), 'utf8'),
        /TLS_CRL_FILE.*is not signed by/,
      ],
    ] as const)('refuses %s, which node:tls would apply as it is', (_what, field, content, message) => {
      const path = join(dir, 'damaged.pem');
      writeFileSync(path, content());
      expect(() => readTlsMaterial(tls({ [field]: path }))).toThrow(message);
    });

    it.each([
      ['TLS_CA_FILE', 'caFile', 'not a certificate'],
      ['TLS_CA_FILE', 'caFile', ''],
      ['TLS_CRL_FILE', 'crlFile', 'not a CRL'],
      ['TLS_CRL_FILE', 'crlFile', ''],
    ] as const)('refuses an unusable %s (%j) with a configuration error naming it', (variable, field, content) => {
      const path = join(dir, 'broken.pem');
      writeFileSync(path, content);
      let caught: unknown;
      try {
        readTlsMaterial(tls({ [field]: path }));
      } catch (error: unknown) {
        caught = error;
      }
      expect(caught).toBeInstanceOf(ConfigError);
      expect((caught as ConfigError).message).toContain(variable);
    });
  });
});
