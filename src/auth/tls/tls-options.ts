import { createHash, createPrivateKey, type KeyObject, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createSecureContext, type SecureContextOptions, type TlsOptions } from 'node:tls';
import { ConfigError, type TlsConfig } from '../../config';
import { crlSigner, crlValidity } from './crl-signature';

/** One CRL of TLS_CRL_FILE, as applied. */
export interface CrlInForce {
  /** TLS_CRL_FILE, and which CRL of it: "CRL 1 of 2". */
  readonly file: string;
  readonly which: string;
  /** The subject of the CA of TLS_CA_FILE that signed it (its issuer), e.g. "O=Example, CN=Example CA". */
  readonly issuer: string;
  /** Its thisUpdate (ms since the epoch): before it OpenSSL refuses every certificate of its CA. */
  readonly thisUpdate: number;
  /** Its nextUpdate (ms since the epoch): from then on OpenSSL refuses every certificate of its CA. */
  readonly nextUpdate?: number;
}

export interface TlsMaterial {
  readonly options: SecureContextOptions;
  /**
   * When the first of the CRLs expires (the earliest nextUpdate, ms since the epoch, past ones included): from then
   * on every client certificate under its CA is refused until a fresh CRL is applied. Undefined without a CRL that
   * names one.
   */
  readonly crlNextUpdate?: number;
  /** Every CRL applied, in file order; expired ones included (see expiredCrls). */
  readonly crls: readonly CrlInForce[];
  /** Fingerprints of the files, to notice changes (the trust part separately from the server's own pair). */
  readonly ownDigest: string;
  readonly trustDigest: string;
}

/** The files as read, not yet checked: enough to tell whether they changed. */
export interface TlsFiles {
  readonly cert?: Buffer;
  readonly key?: Buffer;
  readonly ca?: Buffer;
  readonly crl?: Buffer;
  readonly ownDigest: string;
  readonly trustDigest: string;
}

function read(path: string | undefined, variable: string): Buffer | undefined {
  if (!path) return undefined;
  try {
    return readFileSync(path);
  } catch (error: unknown) {
    throw new ConfigError([
      `${variable}: cannot read ${path} (${(error as NodeJS.ErrnoException).code ?? 'unreadable'})`,
    ]);
  }
}

function digest(...parts: (Buffer | undefined)[]): string {
  const hash = createHash('sha256');
  for (const part of parts) hash.update(part ?? Buffer.alloc(0)).update('\0');
  return hash.digest('hex');
}

/**
 * The complete PEM blocks of one label in a file, or why the file is refused: it holds none (empty, or not
 * PEM), or a BEGIN/END line outside a complete block (cut off mid-block, or corrupt). Text between blocks
 * (labels, comments) is allowed, as OpenSSL allows it.
 */
export function pemBlocks(text: string, label: 'CERTIFICATE' | 'X509 CRL'): string[] | string {
  const pattern = new RegExp(`-----BEGIN ${label}-----[^-]*-----END ${label}-----`, 'g');
  const blocks = text.match(pattern) ?? [];
  if (blocks.length === 0) return `holds no PEM ${label} block (empty or not PEM)`;
  if (/-----(BEGIN|END) /.test(text.replace(pattern, ''))) {
    return `holds an incomplete PEM block (truncated or corrupt)`;
  }
  return blocks;
}

/**
 * Every certificate of the CA bundle, each parsed with a usable public key, and each whose issuer is in the bundle
 * (a root: itself) verified against it: a damaged byte in a CA would otherwise be applied, and every client
 * certificate it issued refused.
 */
function caCertificates(path: string, ca: Buffer): { blocks: string[]; keys: KeyObject[]; subjects: string[] } {
  const blocks = pemBlocks(ca.toString('latin1'), 'CERTIFICATE');
  if (typeof blocks === 'string') throw new ConfigError([`TLS_CA_FILE: ${path} ${blocks}`]);
  const problem = (index: number, what: string) =>
    new ConfigError([`TLS_CA_FILE: ${path}: certificate ${index + 1} of ${blocks.length} ${what}`]);
  const certificates = blocks.map((block, index) => {
    try {
      const certificate = new X509Certificate(block);
      void certificate.publicKey;
      return certificate;
    } catch {
      throw problem(index, 'cannot be parsed');
    }
  });
  certificates.forEach((certificate, index) => {
    const issuer = certificates.find((candidate) => certificate.checkIssued(candidate));
    if (issuer && !certificate.verify(issuer.publicKey)) throw problem(index, 'has a signature that does not verify');
  });
  return {
    blocks,
    keys: certificates.map((certificate) => certificate.publicKey),
    subjects: certificates.map((certificate) => certificate.subject.split('\n').join(', ')),
  };
}

/**
 * Every CRL of the file (root and intermediates, concatenated): node:tls reads only the first CRL of each
 * string it is given, so they are handed over one by one. Each must be signed by a CA of the bundle. One past its
 * nextUpdate is not refused here: at start-up it is applied (nothing better is at hand, and without it the service
 * would not start for any caller), while a reload refuses it when it would replace a CRL still valid (expiryRefusal).
 * Returns them with the earliest nextUpdate.
 */
function revocationLists(
  path: string,
  crl: Buffer,
  issuers: { keys: readonly KeyObject[]; subjects: readonly string[] },
): { blocks: string[]; crls: CrlInForce[]; nextUpdate?: number } {
  const blocks = pemBlocks(crl.toString('latin1'), 'X509 CRL');
  if (typeof blocks === 'string') throw new ConfigError([`TLS_CRL_FILE: ${path} ${blocks}`]);
  let earliest: number | undefined;
  const crls = blocks.map((block, index): CrlInForce => {
    const which = `CRL ${index + 1} of ${blocks.length}`;
    try {
      createSecureContext({ crl: block });
    } catch {
      throw new ConfigError([`TLS_CRL_FILE: ${path}: ${which} cannot be parsed`]);
    }
    const signer = crlSigner(block, issuers.keys);
    if (typeof signer === 'string') throw new ConfigError([`TLS_CRL_FILE: ${path}: ${which} ${signer}`]);
    let validity: ReturnType<typeof crlValidity>;
    try {
      validity = crlValidity(block);
    } catch {
      throw new ConfigError([`TLS_CRL_FILE: ${path}: ${which} has dates that cannot be read`]);
    }
    const { thisUpdate, nextUpdate } = validity;
    if (nextUpdate !== undefined) earliest = Math.min(earliest ?? nextUpdate, nextUpdate);
    return {
      file: path,
      which,
      issuer: issuers.subjects[signer],
      thisUpdate,
      ...(nextUpdate !== undefined && { nextUpdate }),
    };
  });
  return { blocks, crls, nextUpdate: earliest };
}

/** The CRLs of `material` past their nextUpdate at `now` (OpenSSL's CRL_HAS_EXPIRED from that moment on). */
export function expiredCrls(material: TlsMaterial, now = Date.now()): CrlInForce[] {
  return material.crls.filter((crl) => crl.nextUpdate !== undefined && crl.nextUpdate <= now);
}

/** The CRLs of `material` whose thisUpdate is still to come at `now` (OpenSSL's CRL_NOT_YET_VALID until then). */
export function notYetValidCrls(material: TlsMaterial, now = Date.now()): CrlInForce[] {
  return material.crls.filter((crl) => crl.thisUpdate > now);
}

/** "TLS_CRL_FILE: <path>: CRL 1 of 1 is not valid before <thisUpdate> (its thisUpdate), issued by <CA subject>" */
export function describeNotYetValidCrl(crl: CrlInForce): string {
  const at = new Date(crl.thisUpdate).toISOString();
  return `TLS_CRL_FILE: ${crl.file}: ${crl.which} is not valid before ${at} (its thisUpdate), issued by ${crl.issuer}`;
}

/** "TLS_CRL_FILE: <path>: CRL 1 of 1 expired at <nextUpdate> (its nextUpdate), issued by <CA subject>" */
export function describeExpiredCrl(crl: CrlInForce): string {
  const at = new Date(crl.nextUpdate ?? 0).toISOString();
  return `TLS_CRL_FILE: ${crl.file}: ${crl.which} expired at ${at} (its nextUpdate), issued by ${crl.issuer}`;
}

/**
 * Why a reload from `current` to `next` is refused for an expired CRL, or undefined. An expired CRL in the new files
 * is refused when the CRL in force for its CA (same issuer) is still valid: applying it would lock out every client
 * certificate of that CA (CRL_HAS_EXPIRED). When the CRL in force for that CA has expired itself, the new one is
 * applied: its CA's certificates are refused either way, and the rest of the file (another CA's fresh CRL with new
 * revocations) must not be held back by it.
 */
export function expiryRefusal(current: TlsMaterial, next: TlsMaterial, now = Date.now()): string | undefined {
  const lapsed = new Set(expiredCrls(current, now).map((crl) => crl.issuer));
  const worse = expiredCrls(next, now).find((crl) => !lapsed.has(crl.issuer));
  return (
    worse &&
    `${describeExpiredCrl(worse)}: every client certificate of its CA would be refused (CRL_HAS_EXPIRED); publish a ` +
      'fresh CRL'
  );
}

/** Reads certificate, key, CA bundle and CRL; a missing or unreadable file is a configuration error. */
export function readTlsFiles(tls: TlsConfig): TlsFiles {
  const cert = read(tls.certFile, 'TLS_CERT_FILE');
  const key = read(tls.keyFile, 'TLS_KEY_FILE');
  const ca = read(tls.caFile, 'TLS_CA_FILE');
  const crl = read(tls.crlFile, 'TLS_CRL_FILE');
  return { cert, key, ca, crl, ownDigest: digest(cert, key), trustDigest: digest(ca, crl) };
}

/**
 * Whether the key is the certificate's (the first of the chain file). node:tls does not say so itself when the two
 * are of different types (an ECDSA key beside an RSA certificate: OpenSSL keeps one slot per key type), and every
 * handshake would then fail.
 */
function keyProblem(tls: TlsConfig, cert: Buffer, key: Buffer): string | undefined {
  let certificate: X509Certificate;
  try {
    certificate = new X509Certificate(cert);
  } catch {
    return `TLS_CERT_FILE: ${tls.certFile} is not a PEM certificate`;
  }
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey(key);
  } catch {
    return `TLS_KEY_FILE: ${tls.keyFile} is not a PEM private key (or it is encrypted)`;
  }
  return certificate.checkPrivateKey(privateKey)
    ? undefined
    : `TLS_KEY_FILE: ${tls.keyFile} is not the key of the certificate in TLS_CERT_FILE ${tls.certFile}`;
}

/**
 * Checks the server's key against its certificate and the CA bundle and CRL files (a ConfigError naming the file
 * otherwise) and builds the context options. A CRL past its nextUpdate is not an error here (see revocationLists).
 */
export function tlsMaterial(tls: TlsConfig, files: TlsFiles): TlsMaterial {
  const mismatch = files.cert && files.key && keyProblem(tls, files.cert, files.key);
  if (mismatch) throw new ConfigError([mismatch]);
  const authorities = files.ca && caCertificates(tls.caFile ?? '', files.ca);
  const ca = authorities && authorities.blocks;
  const revocation =
    files.crl && revocationLists(tls.crlFile ?? '', files.crl, authorities || { keys: [], subjects: [] });
  const crl = revocation && revocation.blocks;
  return {
    ...(revocation && revocation.nextUpdate !== undefined && { crlNextUpdate: revocation.nextUpdate }),
    crls: revocation ? revocation.crls : [],
    options: {
      cert: files.cert,
      key: files.key,
      ...(ca && { ca }),
      ...(crl && { crl }),
      minVersion: 'TLSv1.2',
      maxVersion: 'TLSv1.3',
    },
    ownDigest: files.ownDigest,
    trustDigest: files.trustDigest,
  };
}

export function readTlsMaterial(tls: TlsConfig): TlsMaterial {
  return tlsMaterial(tls, readTlsFiles(tls));
}

/**
 * Server options: TLS 1.2+ (1.3 preferred by negotiation), a bounded handshake (TLS_HANDSHAKE_TIMEOUT_MS; Node's
 * own default is 120 s), client certificates requested when client authentication is on.
 *
 * With `require`, a connection without a valid client certificate gets no further than the handshake, whatever
 * the route: none presented fails the handshake itself (certificate_required alert); one that does not verify is
 * closed by node:tls before any request is read. TlsReloader audits both with the reason. With `optional`,
 * unverified certificates pass the handshake and the guard refuses them with a JSON 401 naming the reason.
 */
export function httpsServerOptions(tls: TlsConfig, material: TlsMaterial): TlsOptions {
  return {
    ...material.options,
    requestCert: tls.clientAuth !== 'off',
    rejectUnauthorized: tls.clientAuth === 'require',
    handshakeTimeout: tls.handshakeTimeoutMs,
    honorCipherOrder: true,
  };
}
