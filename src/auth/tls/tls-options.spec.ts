import 'reflect-metadata';

import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, loadConfig, type TlsConfig } from '../../config';
import {
  type CrlInForce,
  describeExpiredCrl,
  describeNotYetValidCrl,
  expiredCrls,
  expiryRefusal,
  httpsServerOptions,
  notYetValidCrls,
  pemBlocks,
  readTlsMaterial,
  type TlsMaterial,
} from './tls-options';

const SCRIPT = join(__dirname, '..', '..', '..', 'scripts', 'certs.mjs');
const DEV_CA = 'O=webhook-fulfillment development, CN=webhook-fulfillment development root CA';

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

    describe('CRL dates (openssl ca -gencrl)', () => {
      const issue = (name: string, args: readonly string[]): string => {
        const out = join(dir, name);
        execFileSync('openssl', ['ca', '-batch', '-config', 'ca-db/openssl.cnf', '-gencrl', ...args, '-out', out], {
          cwd: dir,
          stdio: 'ignore',
        });
        return out;
      };
      const nextUpdateOf = (file: string) =>
        Date.parse(
          execFileSync('openssl', ['crl', '-in', file, '-noout', '-nextupdate'], { encoding: 'utf8' })
            .replace('nextUpdate=', '')
            .trim(),
        );

      it('applies a CRL past its nextUpdate, telling its file, issuer and nextUpdate (start-up: nothing better to apply)', () => {
        // Before, this threw a ConfigError and the service did not start, for any caller.
        const expired = issue('expired.crl.pem', [
          '-crl_lastupdate',
          '20200101000000Z',
          '-crl_nextupdate',
          '20200102000000Z',
        ]);
        const material = readTlsMaterial(tls({ crlFile: expired }));
        expect(material.options.crl).toEqual([readFileSync(expired, 'utf8').trim()]);
        expect(material.crlNextUpdate).toBe(Date.UTC(2020, 0, 2));
        const [crl, ...others] = expiredCrls(material);
        expect(others).toEqual([]);
        expect(describeExpiredCrl(crl)).toBe(
          `TLS_CRL_FILE: ${expired}: CRL 1 of 1 expired at 2020-01-02T00:00:00.000Z (its nextUpdate), issued by ${DEV_CA}`,
        );
      });

      it('on reload, refuses an expired CRL in place of a valid one of its CA, and applies it in place of an expired one', () => {
        const fresh = readFileSync(join(dir, 'ca.crl.pem'), 'utf8');
        const expired = readFileSync(
          issue('expired-2.crl.pem', ['-crl_lastupdate', '20200101000000Z', '-crl_nextupdate', '20200102000000Z']),
          'utf8',
        );
        const both = join(dir, 'fresh-and-expired.crl.pem');
        writeFileSync(both, fresh + expired);
        const inForce = readTlsMaterial(tls());
        const next = readTlsMaterial(tls({ crlFile: both }));
        expect(expiryRefusal(inForce, next)).toBe(
          `TLS_CRL_FILE: ${both}: CRL 2 of 2 expired at 2020-01-02T00:00:00.000Z (its nextUpdate), issued by ${DEV_CA}: ` +
            'every client certificate of its CA would be refused (CRL_HAS_EXPIRED); publish a fresh CRL',
        );
        expect(expiryRefusal(inForce, readTlsMaterial(tls()))).toBeUndefined();
        // The CRL in force for that CA has expired itself: nothing is lost by applying the file.
        const lapsed = readTlsMaterial(tls({ crlFile: join(dir, 'expired-2.crl.pem') }));
        expect(expiryRefusal(lapsed, next)).toBeUndefined();
        // GeneralizedTime (2050 and later) is read as well as UTCTime.
        const late = issue('late.crl.pem', ['-crl_nextupdate', '20600101000000Z']);
        expect(readTlsMaterial(tls({ crlFile: late })).crlNextUpdate).toBe(Date.UTC(2060, 0, 1));
      });

      it('judges an expired CRL per CA: another CA’s lapse does not let one of this CA’s be replaced by an expired one', () => {
        const material = (...crls: CrlInForce[]): TlsMaterial => ({
          options: {},
          crls,
          ownDigest: '',
          trustDigest: '',
        });
        const crl = (issuer: string, nextUpdate: number, which = 'CRL 1 of 2'): CrlInForce => ({
          file: '/crl.pem',
          which,
          issuer,
          thisUpdate: Date.UTC(2020, 0, 1),
          nextUpdate,
        });
        const past = Date.UTC(2020, 0, 2);
        const future = Date.UTC(2060, 0, 1);
        const inForce = material(crl('CN=root', future), crl('CN=intermediate', past, 'CRL 2 of 2'));
        expect(expiryRefusal(inForce, material(crl('CN=root', future), crl('CN=intermediate', past)))).toBeUndefined();
        expect(expiryRefusal(inForce, material(crl('CN=root', past), crl('CN=intermediate', future)))).toMatch(
          /CRL 1 of 2 expired at 2020-01-02T00:00:00.000Z \(its nextUpdate\), issued by CN=root: /,
        );
      });

      it('tells the earliest nextUpdate of the CRLs in force', () => {
        const soon = issue('soon.crl.pem', ['-crlhours', '2']);
        const later = join(dir, 'ca.crl.pem');
        const both = join(dir, 'later-and-soon.crl.pem');
        writeFileSync(both, readFileSync(later, 'utf8') + readFileSync(soon, 'utf8'));
        expect(readTlsMaterial(tls({ crlFile: both })).crlNextUpdate).toBe(nextUpdateOf(soon));
        expect(readTlsMaterial(tls({ crlFile: later })).crlNextUpdate).toBe(nextUpdateOf(later));
        expect(readTlsMaterial(tls({ crlFile: undefined })).crlNextUpdate).toBeUndefined();
      });

      it('counts a CRL as expired from its nextUpdate on, as OpenSSL does', () => {
        const crl = issue('at.crl.pem', ['-crlhours', '1']);
        const nextUpdate = nextUpdateOf(crl);
        const material = readTlsMaterial(tls({ crlFile: crl }));
        expect(material.crlNextUpdate).toBe(nextUpdate);
        expect(expiredCrls(material, nextUpdate - 1000)).toEqual([]);
        expect(expiredCrls(material, nextUpdate)).toEqual([
          { file: crl, which: 'CRL 1 of 1', issuer: DEV_CA, thisUpdate: expect.any(Number) as number, nextUpdate },
        ]);
      });

      it('counts a CRL as not yet valid before its thisUpdate, as OpenSSL does (a CA whose clock runs ahead)', () => {
        const crl = issue('ahead.crl.pem', [
          '-crl_lastupdate',
          '20600101000000Z',
          '-crl_nextupdate',
          '20600201000000Z',
        ]);
        const thisUpdate = Date.UTC(2060, 0, 1);
        const material = readTlsMaterial(tls({ crlFile: crl }));
        expect(material.crls.map((applied) => applied.thisUpdate)).toEqual([thisUpdate]);
        expect(notYetValidCrls(material, thisUpdate)).toEqual([]);
        expect(notYetValidCrls(material, thisUpdate - 1000).map(describeNotYetValidCrl)).toEqual([
          `TLS_CRL_FILE: ${crl}: CRL 1 of 1 is not valid before 2060-01-01T00:00:00.000Z (its thisUpdate), issued by ${DEV_CA}`,
        ]);
        expect(notYetValidCrls(readTlsMaterial(tls({ crlFile: join(dir, 'ca.crl.pem') })))).toEqual([]);
      });
    });
  });
});
