// npm run certs:dev [-- --out <dir>] [-- --force]: a complete set of development and test certificates.
// A root CA with a small `openssl ca` database (so revocation and the CRL stay consistent), a second untrusted CA,
// the server certificate and client certificates for every mTLS case the tests need. Only the openssl CLI is used,
// always through execFileSync with an argument list (never a shell string). Keys are EC P-256, written with mode 0600.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
export const DEFAULT_OUT = join(root, 'certs', 'dev');

const DAY_MS = 24 * 60 * 60 * 1000;
const CA_DAYS = 3650;
const LEAF_DAYS = 365;
const CRL_DAYS = 30;
const DB_DIR = 'ca-db';
const CONFIG = `${DB_DIR}/openssl.cnf`;

/** Every file of a complete set, in the order the summary lists them (ca-db/ is listed separately). */
export const CERT_FILES = [
  ['ca.key', 'development root CA, private key'],
  ['ca.crt', 'development root CA (10 years)'],
  ['ca-bundle.crt', 'what the server trusts for client certificates (ca.crt only)'],
  ['ca.crl.pem', `CRL of ca, lists client-revoked (valid ${CRL_DAYS} days)`],
  ['other-ca.key', 'second, untrusted CA, private key'],
  ['other-ca.crt', 'second, untrusted CA'],
  ['server.key', 'server private key'],
  ['server.crt', 'server, CN=localhost, DNS:localhost, IP:127.0.0.1, IP:::1, serverAuth'],
  ['server-chain.crt', 'server.crt + ca.crt'],
  ['client.key', 'trusted caller, private key'],
  ['client.crt', 'trusted caller, CN=dialogflow-prod, spiffe://bank.example/ns/bots/sa/dialogflow'],
  ['client-other.key', 'second trusted caller, private key'],
  ['client-other.crt', 'second trusted caller, CN=crm-bot, spiffe://bank.example/ns/bots/sa/crm'],
  ['client-unknown.key', 'caller from the untrusted CA, private key'],
  ['client-unknown.crt', 'CN=unknown-bot, signed by other-ca'],
  ['client-expired.key', 'expired caller, private key'],
  ['client-expired.crt', 'CN=dialogflow-prod, signed by ca, validity entirely in the past'],
  ['client-revoked.key', 'revoked caller, private key'],
  ['client-revoked.crt', 'CN=revoked-bot, signed by ca, revoked in ca.crl.pem'],
];

const SPIFFE = 'spiffe://bank.example/ns/bots/sa';

/** The openssl config of the development CA. Paths are relative to the certificate folder (openssl runs there). */
function caConfig() {
  const leaf = (eku, san) =>
    [
      'basicConstraints = critical, CA:false',
      'keyUsage = critical, digitalSignature',
      `extendedKeyUsage = ${eku}`,
      `subjectAltName = ${san}`,
      'subjectKeyIdentifier = hash',
      'authorityKeyIdentifier = keyid, issuer',
    ].join('\n');
  return `# Written by scripts/certs.mjs. Paths are relative to the certificate folder, so run openssl ca from there:
#   openssl ca -config ${CONFIG} -revoke <cert> && openssl ca -config ${CONFIG} -gencrl -out ca.crl.pem

[ ca ]
default_ca = dev_ca

[ dev_ca ]
dir = ./${DB_DIR}
database = $dir/index.txt
serial = $dir/serial
crlnumber = $dir/crlnumber
new_certs_dir = $dir/newcerts
certificate = ./ca.crt
private_key = ./ca.key
default_md = sha256
default_days = ${LEAF_DAYS}
default_crl_days = ${CRL_DAYS}
crl_extensions = crl_ext
policy = policy_any
unique_subject = no
copy_extensions = none
email_in_dn = no
name_opt = ca_default
cert_opt = ca_default

[ policy_any ]
organizationName = optional
commonName = supplied

[ req ]
distinguished_name = req_dn
prompt = no
default_md = sha256

[ req_dn ]
CN = unused

[ crl_ext ]
authorityKeyIdentifier = keyid:always

[ v3_ca ]
basicConstraints = critical, CA:true
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always

[ server_ext ]
${leaf('serverAuth', 'DNS:localhost, IP:127.0.0.1, IP:::1')}

[ client_ext ]
${leaf('clientAuth', `DNS:dialogflow.bank.example, URI:${SPIFFE}/dialogflow`)}

[ client_other_ext ]
${leaf('clientAuth', `URI:${SPIFFE}/crm`)}

[ client_unknown_ext ]
${leaf('clientAuth', `URI:${SPIFFE}/unknown-bot`)}

[ client_revoked_ext ]
${leaf('clientAuth', `URI:${SPIFFE}/revoked-bot`)}
`;
}

/** Runs openssl in `cwd` with an argument list; a failure carries openssl's own stderr. */
function openssl(cwd, args) {
  try {
    return execFileSync('openssl', args, { cwd, stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 16 * 1024 * 1024 });
  } catch (error) {
    if (error.code === 'ENOENT') throw new Error('openssl was not found on PATH; install it (apt-get install openssl)');
    const stderr = error.stderr ? String(error.stderr).trim() : error.message;
    throw new Error(`openssl ${args.join(' ')} failed:\n${stderr}`);
  }
}

function writePrivate(path, data) {
  rmSync(path, { force: true });
  writeFileSync(path, data, { mode: 0o600 });
  chmodSync(path, 0o600);
}

/** A new EC P-256 private key, read from openssl's stdout so it is never on disk with a wider mode than 0600. */
function newKey(dir, name) {
  const pem = openssl(dir, [
    'genpkey',
    '-algorithm',
    'EC',
    '-pkeyopt',
    'ec_paramgen_curve:P-256',
    '-pkeyopt',
    'ec_param_enc:named_curve',
  ]);
  writePrivate(join(dir, `${name}.key`), pem);
}

function selfSignedCa(dir, name, subject) {
  newKey(dir, name);
  openssl(dir, [
    'req',
    '-x509',
    '-new',
    '-config',
    CONFIG,
    '-key',
    `${name}.key`,
    '-subj',
    subject,
    '-days',
    String(CA_DAYS),
    '-sha256',
    '-extensions',
    'v3_ca',
    '-out',
    `${name}.crt`,
  ]);
}

function csr(dir, name, subject) {
  newKey(dir, name);
  openssl(dir, ['req', '-new', '-config', CONFIG, '-key', `${name}.key`, '-subj', subject, '-out', `${name}.csr`]);
  return `${name}.csr`;
}

/** Issues `name`.crt from the development CA through `openssl ca`, so it is recorded in the CA database. */
function issue(dir, name, subject, extensions, dates = ['-days', String(LEAF_DAYS)]) {
  const request = csr(dir, name, subject);
  openssl(dir, [
    'ca',
    '-batch',
    '-notext',
    '-config',
    CONFIG,
    '-extensions',
    extensions,
    ...dates,
    '-in',
    request,
    '-out',
    `${name}.crt`,
  ]);
  rmSync(join(dir, request));
}

/** openssl ca date format (GeneralizedTime, YYYYMMDDHHMMSSZ). */
function caDate(date) {
  return `${date.toISOString().replace(/[-:T]/g, '').slice(0, 14)}Z`;
}

/** A positive random serial in hex, so regenerated sets never reuse serials of an earlier set. */
function randomSerial() {
  const bytes = randomBytes(16);
  bytes[0] = (bytes[0] & 0x7f) | 0x10;
  return bytes.toString('hex').toUpperCase();
}

function generateInto(dir) {
  const db = join(dir, DB_DIR);
  mkdirSync(join(db, 'newcerts'), { recursive: true });
  writeFileSync(join(db, 'index.txt'), '');
  writeFileSync(join(db, 'serial'), `${randomSerial()}\n`);
  writeFileSync(join(db, 'crlnumber'), '1000\n');
  writeFileSync(join(dir, CONFIG), caConfig());

  selfSignedCa(dir, 'ca', '/O=webhook-fulfillment development/CN=webhook-fulfillment development root CA');
  selfSignedCa(dir, 'other-ca', '/O=untrusted development/CN=untrusted development CA');

  issue(dir, 'server', '/CN=localhost', 'server_ext');
  issue(dir, 'client', '/CN=dialogflow-prod', 'client_ext');
  issue(dir, 'client-other', '/CN=crm-bot', 'client_other_ext');

  const now = Date.now();
  issue(dir, 'client-expired', '/CN=dialogflow-prod', 'client_ext', [
    '-startdate',
    caDate(new Date(now - 31 * DAY_MS)),
    '-enddate',
    caDate(new Date(now - DAY_MS)),
  ]);

  issue(dir, 'client-revoked', '/CN=revoked-bot', 'client_revoked_ext');
  openssl(dir, ['ca', '-batch', '-config', CONFIG, '-revoke', 'client-revoked.crt', '-crl_reason', 'keyCompromise']);
  openssl(dir, ['ca', '-batch', '-config', CONFIG, '-gencrl', '-crldays', String(CRL_DAYS), '-out', 'ca.crl.pem']);

  // The untrusted CA keeps no database: openssl x509 -req is enough for its single certificate.
  const request = csr(dir, 'client-unknown', '/CN=unknown-bot');
  openssl(dir, [
    'x509',
    '-req',
    '-in',
    request,
    '-CA',
    'other-ca.crt',
    '-CAkey',
    'other-ca.key',
    '-set_serial',
    `0x${randomSerial()}`,
    '-days',
    String(LEAF_DAYS),
    '-sha256',
    '-extfile',
    CONFIG,
    '-extensions',
    'client_unknown_ext',
    '-out',
    'client-unknown.crt',
  ]);
  rmSync(join(dir, request));

  const pem = (name) => {
    const text = readFileSync(join(dir, name), 'utf8');
    return text.endsWith('\n') ? text : `${text}\n`;
  };
  writeFileSync(join(dir, 'ca-bundle.crt'), pem('ca.crt'));
  writeFileSync(join(dir, 'server-chain.crt'), pem('server.crt') + pem('ca.crt'));
}

/** Whether the certificate `args` names (`x509 -in <file>`) expires within a day (or has). */
function expiresWithinADay(dir, args) {
  try {
    openssl(dir, [...args, '-noout', '-checkend', String(DAY_MS / 1000)]);
    return false;
  } catch {
    return true;
  }
}

/** Whether the CRL's next update is within a day (or past): past it, OpenSSL refuses the CRL. */
function crlExpiresWithinADay(dir) {
  const text = String(openssl(dir, ['crl', '-in', 'ca.crl.pem', '-noout', '-nextupdate']));
  const nextUpdate = Date.parse(text.replace(/^nextUpdate=/, '').trim());
  return !Number.isFinite(nextUpdate) || nextUpdate - Date.now() < DAY_MS;
}

function isComplete(outDir) {
  return (
    CERT_FILES.every(([name]) => existsSync(join(outDir, name))) && existsSync(join(outDir, DB_DIR, 'openssl.cnf'))
  );
}

/**
 * Generates the complete set into `outDir` (created if missing). An existing complete set is kept unless `force`.
 * Generation happens in a staging folder inside `outDir`, so a failure never leaves a half-written or mixed set.
 * @returns {{ outDir: string, created: boolean, files: string[] }}
 */
export function generateCertificates(outDir = DEFAULT_OUT, { force = false } = {}) {
  const dir = resolve(outDir);
  const files = [...CERT_FILES.map(([name]) => name), `${DB_DIR}/`];
  if (!force && isComplete(dir)) {
    // A kept set must still work: the CRL lasts 30 days, and with TLS_CRL_FILE an expired one fails every client
    // certificate (OpenSSL's CRL_HAS_EXPIRED), the README's mTLS example included. It is issued again from the
    // set's own CA database; a certificate about to expire means a new set.
    if (
      expiresWithinADay(dir, ['x509', '-in', 'server.crt']) ||
      expiresWithinADay(dir, ['x509', '-in', 'client.crt'])
    ) {
      return { ...generateCertificates(dir, { force: true }), renewed: 'set' };
    }
    if (crlExpiresWithinADay(dir)) {
      const fresh = join(dir, DB_DIR, 'ca.crl.pem.new');
      openssl(dir, ['ca', '-batch', '-config', CONFIG, '-gencrl', '-crldays', String(CRL_DAYS), '-out', fresh]);
      renameSync(fresh, join(dir, 'ca.crl.pem'));
      return { outDir: dir, created: false, renewed: 'crl', files };
    }
    return { outDir: dir, created: false, files };
  }

  mkdirSync(dir, { recursive: true });
  const staging = mkdtempSync(join(dir, '.staging-'));
  try {
    generateInto(staging);
    rmSync(join(dir, DB_DIR), { recursive: true, force: true });
    renameSync(join(staging, DB_DIR), join(dir, DB_DIR));
    for (const [name] of CERT_FILES) renameSync(join(staging, name), join(dir, name));
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
  return { outDir: dir, created: true, files };
}

/** How to name `path` in a printed command: relative to the current directory when it is below it. */
function display(path) {
  const cwd = process.cwd();
  const rel = relative(cwd, path);
  return rel && cwd !== dirname(cwd) && !rel.startsWith('..') && !isAbsolute(rel) ? rel : path;
}

const USAGE = 'usage: node scripts/certs.mjs [--out <dir>] [--force]';

export function main(argv = process.argv.slice(2)) {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        out: { type: 'string', short: 'o' },
        force: { type: 'boolean', short: 'f', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
    }));
  } catch (error) {
    console.error(`${error.message}\n${USAGE}`);
    process.exitCode = 2;
    return;
  }
  if (values.help) {
    console.log(`${USAGE}\n  --out <dir>  output folder (default ${display(DEFAULT_OUT)})\n  --force      regenerate`);
    return;
  }

  const started = Date.now();
  let result;
  try {
    result = generateCertificates(values.out ?? DEFAULT_OUT, { force: values.force });
  } catch (error) {
    console.error(`certificate generation failed: ${error.message}`);
    process.exitCode = 1;
    return;
  }

  const shown = display(result.outDir);
  const curl = (name) => join(shown, name);
  const command = `curl --cacert ${curl('ca.crt')} --cert ${curl('client.crt')} --key ${curl('client.key')} https://localhost:8443/...`;
  if (result.renewed === 'crl') {
    console.log(
      `certificates already exist in ${shown}; their CRL was about to expire: issued ${curl('ca.crl.pem')} again`,
    );
    console.log(`mTLS call: ${command}`);
    return;
  }
  if (!result.created) {
    console.log(`certificates already exist in ${shown}; nothing written (use --force to regenerate)`);
    console.log(`mTLS call: ${command}`);
    return;
  }

  const width = Math.max(...CERT_FILES.map(([name]) => name.length));
  console.log(`certificates written to ${shown} in ${Date.now() - started} ms:`);
  for (const [name, description] of CERT_FILES) {
    const mode = (statSync(join(result.outDir, name)).mode & 0o777).toString(8);
    console.log(`  ${name.padEnd(width)}  ${mode}  ${description}`);
  }
  console.log(`  ${`${DB_DIR}/`.padEnd(width)}       openssl ca database and config (${CONFIG})`);
  console.log(`mTLS call: ${command}`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) main();
