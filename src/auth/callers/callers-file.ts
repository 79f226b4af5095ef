import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { load as parseYaml } from 'js-yaml';
import { secureEnough } from '../../common/net/secure-url';
import { ConfigError } from '../../config';
import { jwtAlgorithmProblem } from '../tokens/jwt-verifier';
import { passwordHashProblem } from '../passwords';
import {
  decodeStandardWebhookSecret,
  STANDARD_WEBHOOK_SECRET_MAX_BYTES,
  STANDARD_WEBHOOK_SECRET_MIN_BYTES,
} from '../hmac/standard-webhooks';
import {
  AUTH_METHODS,
  AuthMethod,
  CallbackTarget,
  CallerAuth,
  CallerRateLimit,
  CertificateBinding,
  JwtAuth,
  KubernetesTokenReview,
  RATE_LIMITED_ROUTES,
  RegisteredCaller,
} from './caller';
import type { RateLimit } from '../../common/caller';
import { PLATFORMS, Platform } from '../../common/platform';
import { CALLBACK_URL_MAX_LENGTH } from '../../common/limits';
import { IpRanges } from '../../common/net/client-address';

export class CallersFileError extends ConfigError {}

export const MIN_SECRET_LENGTH = 16;
const ID = /^[a-z0-9][a-z0-9._-]{0,63}$/i;
const SERVICE_ACCOUNT = /^system:serviceaccount:[a-z0-9-]{1,63}:[a-z0-9.-]{1,253}$/;
const PASSWORD_HASH = /^scrypt\$\d+\$\d+\$\d+\$[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+$/;
const HEADER_NAME = /^[a-z0-9-]{1,64}$/;
const FORBIDDEN_SIGNATURE_HEADERS = new Set(['authorization', 'content-type', 'content-length', 'host']);
const DEFAULT_ALGORITHMS = ['RS256', 'ES256', 'PS256', 'EdDSA'];
const GOOGLE_ISSUERS = ['https://accounts.google.com', 'accounts.google.com'];
const GOOGLE_JWKS_URI = 'https://www.googleapis.com/oauth2/v3/certs';
/** Bounds of `maxLifetimeSeconds` (1 minute to 30 days). */
const MIN_TOKEN_LIFETIME = 60;
const MAX_TOKEN_LIFETIME = 30 * 24 * 60 * 60;
const KUBERNETES_API = 'https://kubernetes.default.svc';
const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

export function digestToken(token: string): Buffer {
  return createHash('sha256').update(token, 'utf8').digest();
}

type Json = Record<string, unknown>;

/** Reads fields of one YAML object, collecting one problem per mistake with its full path. */
class FieldReader {
  constructor(
    private readonly problems: string[],
    private readonly object: Json,
    private readonly path: string,
  ) {}

  private problem(key: string, message: string): undefined {
    this.problems.push(`${this.path}.${key}: ${message}`);
    return undefined;
  }

  has(key: string): boolean {
    return this.object[key] !== undefined && this.object[key] !== null;
  }

  string(key: string, options: { optional?: boolean; pattern?: RegExp; hint?: string } = {}): string | undefined {
    const value = this.object[key];
    if (value === undefined || value === null) return options.optional ? undefined : this.problem(key, 'is required');
    if (typeof value !== 'string' || value.trim() === '') return this.problem(key, 'must be a non-empty string');
    if (options.pattern && !options.pattern.test(value))
      return this.problem(key, options.hint ?? 'has an invalid format');
    return value;
  }

  url(key: string, options: { optional?: boolean; secure?: boolean } = {}): string | undefined {
    const value = this.string(key, options);
    if (value === undefined) return undefined;
    let parsed: URL;
    try {
      parsed = new URL(value);
      if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') throw new TypeError('scheme');
    } catch {
      return this.problem(key, 'must be an http(s) URL');
    }
    // Where keys come from or tokens go: see secureEnough.
    if (options.secure && !secureEnough(parsed)) {
      return this.problem(
        key,
        'must be https (http only to a loopback address: keys and tokens would cross the network in clear)',
      );
    }
    return value;
  }

  strings(key: string, options: { optional?: boolean; min?: number; pattern?: RegExp; hint?: string } = {}): string[] {
    const value = this.object[key];
    if (value === undefined || value === null) {
      if (!options.optional) this.problem(key, 'is required');
      return [];
    }
    const min = options.min ?? 1;
    const ok =
      Array.isArray(value) &&
      value.length >= min &&
      value.every((item) => typeof item === 'string' && (!options.pattern || options.pattern.test(item)));
    if (!ok) {
      this.problem(key, options.hint ?? `must be a list of ${min === 0 ? 'zero' : 'one'} or more strings`);
      return [];
    }
    return value as string[];
  }

  /** One string or a list of them; absent is an empty list. */
  stringOrStrings(key: string): string[] {
    if (!this.has(key)) return [];
    if (typeof this.object[key] === 'string') return [this.string(key) ?? ''];
    return this.strings(key);
  }

  secrets(key: string): string[] {
    return this.strings(key, {
      pattern: new RegExp(`^.{${MIN_SECRET_LENGTH},}$`, 's'),
      hint: `must list one or more secrets of at least ${MIN_SECRET_LENGTH} characters (two during a rotation)`,
    });
  }

  integer(key: string, min: number, max: number): number | undefined {
    const value = this.object[key];
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
      return this.problem(key, `must be an integer from ${min} to ${max}`);
    }
    return value;
  }

  boolean(key: string, fallback: boolean): boolean {
    const value = this.object[key];
    if (value === undefined || value === null) return fallback;
    if (typeof value !== 'boolean') {
      this.problem(key, 'must be true or false');
      return fallback;
    }
    return value;
  }

  oneOf<T extends string>(key: string, allowed: readonly T[], fallback: T): T {
    const value = this.object[key];
    if (value === undefined || value === null) return fallback;
    if (typeof value !== 'string' || !allowed.includes(value as T)) {
      this.problem(key, `must be one of ${allowed.join(', ')}`);
      return fallback;
    }
    return value as T;
  }

  object_(key: string): FieldReader | undefined {
    const value = this.object[key];
    if (value === undefined || value === null) return undefined;
    if (typeof value !== 'object' || Array.isArray(value)) return this.problem(key, 'must be a mapping');
    return new FieldReader(this.problems, value as Json, `${this.path}.${key}`);
  }

  keys(): string[] {
    return Object.keys(this.object);
  }

  unknownKeys(known: readonly string[]): void {
    for (const key of this.keys()) if (!known.includes(key)) this.problem(key, 'is not a known setting');
  }
}

/**
 * Decodes `whsec_` secrets, refusing any whose key is not 24 to 64 bytes (the Standard Webhooks range): one
 * problem per bad secret, naming the caller and never echoing the secret.
 */
function standardWebhookKeys(
  encoded: readonly string[],
  problems: string[],
  where: string,
  caller: string | undefined,
): Buffer[] {
  const keys: Buffer[] = [];
  const who = caller ? `caller "${caller}": ` : '';
  encoded.forEach((secret, index) => {
    let key: Buffer;
    try {
      key = decodeStandardWebhookSecret(secret);
    } catch (error: unknown) {
      const reason = error instanceof Error ? error.message : String(error);
      problems.push(`${where}.secrets[${index}]: ${who}not a usable whsec_ secret (${reason})`);
      return;
    }
    if (key.length < STANDARD_WEBHOOK_SECRET_MIN_BYTES || key.length > STANDARD_WEBHOOK_SECRET_MAX_BYTES) {
      problems.push(
        `${where}.secrets[${index}]: ${who}the whsec_ secret decodes to ${key.length} bytes; Standard Webhooks ` +
          `secrets must be ${STANDARD_WEBHOOK_SECRET_MIN_BYTES} to ${STANDARD_WEBHOOK_SECRET_MAX_BYTES} bytes ` +
          '(e.g. whsec_ + base64 of 32 random bytes)',
      );
      return;
    }
    keys.push(key);
  });
  return keys;
}

function readAuth(
  auth: FieldReader,
  problems: string[],
  where: string,
  caller: string | undefined,
): CallerAuth | undefined {
  auth.unknownKeys(AUTH_METHODS);
  const result: { -readonly [K in AuthMethod]?: CallerAuth[K] } = {};
  const bearer = auth.object_('bearer');
  bearer?.unknownKeys(['tokens']);
  if (bearer) result.bearer = { tokenDigests: bearer.secrets('tokens').map(digestToken) };
  // The identity a certificate must have is the caller's `certificate`, not a setting of `mtls`.
  if (auth.has('mtls')) {
    auth.object_('mtls')?.unknownKeys([]);
    result.mtls = {};
  }
  const jwt = auth.object_('jwt');
  // A mistyped setting (`audiance`) was ignored without a word, and with it the check it named.
  jwt?.unknownKeys([
    'issuer',
    'audience',
    'jwksUri',
    'algorithms',
    'subjects',
    'requireAccessTokenType',
    'maxLifetimeSeconds',
  ]);
  if (jwt) {
    result.jwt = {
      issuer: jwt.string('issuer') ?? '',
      audience: jwt.string('audience') ?? '',
      jwksUri: jwt.url('jwksUri', { secure: true }) ?? '',
      algorithms: jwt.has('algorithms') ? jwt.strings('algorithms') : DEFAULT_ALGORITHMS,
      subjects: jwt.strings('subjects', { optional: true, min: 0 }),
      requireAccessTokenType: jwt.boolean('requireAccessTokenType', false),
      maxLifetimeSeconds: maxLifetime(jwt),
    };
    // At load, not at the first token: a name the verifier cannot use failed every request with a 401.
    for (const problem of new Set(result.jwt.algorithms.map(jwtAlgorithmProblem).filter((p) => p !== undefined))) {
      problems.push(`${where}.auth.jwt.algorithms: ${problem}`);
    }
  }
  const introspection = auth.object_('introspection');
  introspection?.unknownKeys(['endpoint', 'clientId', 'clientSecrets', 'audience', 'subjects', 'clientIds']);
  if (introspection) {
    result.introspection = {
      endpoint: introspection.url('endpoint', { secure: true }) ?? '',
      clientId: introspection.string('clientId') ?? '',
      clientSecrets: introspection.secrets('clientSecrets'),
      audience: introspection.string('audience', { optional: true }),
      subjects: introspection.strings('subjects', { optional: true, min: 0 }),
      clientIds: introspection.strings('clientIds', { optional: true, min: 0 }),
    };
    const { audience, subjects, clientIds } = result.introspection;
    // An authorisation server answers "active" for every token it issued, to any client for any API: unbound, the
    // token of any app of the bank's (or the first caller's, when two share a server) would be this caller.
    if (audience === undefined && subjects.length === 0 && clientIds.length === 0) {
      problems.push(
        `${where}.auth.introspection: needs an audience, subjects or clientIds: without one, any active token the ` +
          'authorisation server issued, to any client, would be taken as this caller',
      );
    }
  }
  const google = auth.object_('googleIdToken');
  google?.unknownKeys(['audience', 'emails', 'jwksUri', 'issuers', 'maxLifetimeSeconds']);
  if (google) {
    result.googleIdToken = {
      audience: google.string('audience') ?? '',
      emails: google.strings('emails'),
      jwksUri: google.url('jwksUri', { optional: true, secure: true }) ?? GOOGLE_JWKS_URI,
      issuers: google.has('issuers') ? google.strings('issuers') : GOOGLE_ISSUERS,
      maxLifetimeSeconds: maxLifetime(google),
    };
  }
  const kubernetes = auth.object_('kubernetes');
  kubernetes?.unknownKeys(['issuer', 'audience', 'serviceAccounts', 'jwksUri', 'maxLifetimeSeconds', 'tokenReview']);
  if (kubernetes) {
    result.kubernetes = {
      issuer: kubernetes.url('issuer', { secure: true }) ?? '',
      audience: kubernetes.string('audience') ?? '',
      serviceAccounts: kubernetes.strings('serviceAccounts', {
        pattern: SERVICE_ACCOUNT,
        hint: 'must list one or more system:serviceaccount:<namespace>:<name>',
      }),
      jwksUri: kubernetes.url('jwksUri', { optional: true, secure: true }),
      maxLifetimeSeconds: maxLifetime(kubernetes),
      tokenReview: readTokenReview(kubernetes.object_('tokenReview'), problems, `${where}.auth.kubernetes`),
    };
  }
  const standard = auth.object_('standardWebhooks');
  standard?.unknownKeys(['secrets']);
  if (standard) {
    const secrets = standardWebhookKeys(
      standard.strings('secrets'),
      problems,
      `${where}.auth.standardWebhooks`,
      caller,
    );
    result.standardWebhooks = { secrets };
  }
  const header = auth.object_('headerSignature');
  header?.unknownKeys(['header', 'algorithm', 'encoding', 'prefix', 'timestampHeader', 'secrets']);
  if (header) {
    const name = header.string('header', { pattern: HEADER_NAME, hint: 'must be a lower-case header name' }) ?? '';
    if (FORBIDDEN_SIGNATURE_HEADERS.has(name)) problems.push(`${where}.auth.headerSignature.header: cannot be ${name}`);
    result.headerSignature = {
      header: name,
      algorithm: header.oneOf('algorithm', ['sha256', 'sha512'] as const, 'sha256'),
      encoding: header.oneOf('encoding', ['hex', 'base64'] as const, 'hex'),
      prefix: header.has('prefix') ? (header.string('prefix') ?? '') : '',
      timestampHeader: header.string('timestampHeader', {
        optional: true,
        pattern: HEADER_NAME,
        hint: 'must be a lower-case header name',
      }),
      secrets: header.secrets('secrets').map((secret) => Buffer.from(secret, 'utf8')),
    };
  }
  const basic = auth.object_('basic');
  basic?.unknownKeys(['username', 'passwordHashes']);
  if (basic) {
    result.basic = {
      username: basic.string('username', { pattern: /^[^:\s]{1,128}$/, hint: 'must not contain ":" or spaces' }) ?? '',
      passwordHashes: basic.strings('passwordHashes', {
        pattern: PASSWORD_HASH,
        hint: 'must list scrypt hashes made with `npm run hash-password` (plain passwords are refused)',
      }),
    };
    // A hash whose cost the check cannot pay (or that has no 32-byte key) never matches: the caller was locked out
    // without a word.
    result.basic.passwordHashes.forEach((hash, index) => {
      const problem = passwordHashProblem(hash);
      if (problem) problems.push(`${where}.auth.basic.passwordHashes[${index}]: ${problem}`);
    });
  }
  if (Object.keys(result).length === 0) {
    problems.push(`${where}.auth: needs at least one method (${AUTH_METHODS.join(', ')})`);
    return undefined;
  }
  return result;
}

function maxLifetime(reader: FieldReader): number | undefined {
  return reader.has('maxLifetimeSeconds')
    ? reader.integer('maxLifetimeSeconds', MIN_TOKEN_LIFETIME, MAX_TOKEN_LIFETIME)
    : undefined;
}

/** `tokenReview: {}` uses the in-cluster API server and this pod's own service-account token and CA. */
function readTokenReview(
  reader: FieldReader | undefined,
  problems: string[],
  where: string,
): KubernetesTokenReview | undefined {
  if (!reader) return undefined;
  reader.unknownKeys(['url', 'tokenFile', 'caFile']);
  const url = reader.url('url', { optional: true }) ?? KUBERNETES_API;
  if (!url.startsWith('https://')) problems.push(`${where}.tokenReview.url: must be https`);
  return {
    url,
    tokenFile: reader.string('tokenFile', { optional: true }) ?? `${SERVICE_ACCOUNT_DIR}/token`,
    caFile: reader.string('caFile', { optional: true }) ?? `${SERVICE_ACCOUNT_DIR}/ca.crt`,
  };
}

function readCertificate(
  reader: FieldReader | undefined,
  problems: string[],
  where: string,
): CertificateBinding | undefined {
  if (!reader) return undefined;
  reader.unknownKeys(['subjectCN', 'dnsSAN', 'uriSAN']);
  const binding = {
    subjectCNs: reader.stringOrStrings('subjectCN'),
    dnsSANs: reader.stringOrStrings('dnsSAN'),
    uriSANs: reader.stringOrStrings('uriSAN'),
  };
  if (binding.subjectCNs.length + binding.dnsSANs.length + binding.uriSANs.length === 0) {
    problems.push(`${where}.certificate: name at least one of subjectCN, dnsSAN, uriSAN`);
  }
  return binding;
}

function readBudget(reader: FieldReader): RateLimit | undefined {
  const limit = reader.integer('requests', 1, 1_000_000);
  const ttlSeconds = reader.integer('perSeconds', 1, 86_400);
  return limit && ttlSeconds ? { limit, ttlSeconds } : undefined;
}

/**
 * `rateLimit: { requests, perSeconds, routes? }`: the caller's one budget for every route and gRPC method, and
 * `routes` (keys from RATE_LIMITED_ROUTES) that have a budget and counter of their own instead.
 */
function readRateLimit(
  reader: FieldReader | undefined,
  problems: string[],
  where: string,
  caller: string | undefined,
): CallerRateLimit | undefined {
  if (!reader) return undefined;
  reader.unknownKeys(['requests', 'perSeconds', 'routes']);
  const budget = readBudget(reader);
  const routesReader = reader.object_('routes');
  const routes = new Map<string, RateLimit>();
  for (const route of routesReader?.keys() ?? []) {
    if (!(RATE_LIMITED_ROUTES as readonly string[]).includes(route)) {
      problems.push(
        `${where}.rateLimit.routes: caller "${caller ?? '?'}": ${JSON.stringify(route)} is not a route with a rate ` +
          `limit; use one of ${RATE_LIMITED_ROUTES.map((known) => JSON.stringify(known)).join(', ')}`,
      );
      continue;
    }
    const routeReader = routesReader?.object_(route);
    if (!routeReader) continue;
    routeReader.unknownKeys(['requests', 'perSeconds']);
    const own = readBudget(routeReader);
    if (own) routes.set(route, own);
  }
  return budget ? { ...budget, ...(routes.size > 0 && { routes }) } : undefined;
}

/** `sourceRanges`: IPv4/IPv6 CIDR ranges the caller may call from; a bad entry names the caller and the entry. */
function readSourceRanges(reader: FieldReader, problems: string[], where: string, caller: string | undefined) {
  if (!reader.has('sourceRanges')) return undefined;
  const list = reader.strings('sourceRanges', { hint: 'must list one or more IPv4/IPv6 CIDR ranges, e.g. 10.0.0.0/8' });
  const { ranges, invalid } = IpRanges.parse(list);
  if (invalid.length > 0) {
    problems.push(
      `${where}.sourceRanges: caller "${caller ?? '?'}": not IPv4/IPv6 CIDR ranges: ${invalid
        .map((entry) => JSON.stringify(entry))
        .join(', ')}`,
    );
  }
  return list.length > 0 && invalid.length === 0 ? ranges : undefined;
}

function readCallback(
  reader: FieldReader | undefined,
  problems: string[],
  where: string,
  caller: string | undefined,
): CallbackTarget | undefined {
  if (!reader) return undefined;
  reader.unknownKeys(['url', 'secrets', 'allowPrivateNetwork']);
  const url = reader.url('url');
  const allowPrivateNetwork = reader.boolean('allowPrivateNetwork', false);
  if (url && !allowPrivateNetwork && new URL(url).protocol !== 'https:') {
    problems.push(`${where}.callback.url: must be https (http only together with allowPrivateNetwork: true)`);
  }
  if (url && url.length > CALLBACK_URL_MAX_LENGTH) {
    problems.push(`${where}.callback.url: must be at most ${CALLBACK_URL_MAX_LENGTH} characters`);
  }
  if (url) {
    const { username, password } = new URL(url);
    // The HTTP client drops user:password@ without a word: the receiver would get unauthenticated callbacks.
    if (username || password) {
      problems.push(`${where}.callback.url: must not hold credentials (user:password@); callbacks are signed`);
    }
  }
  const secrets = standardWebhookKeys(reader.strings('secrets'), problems, `${where}.callback`, caller);
  return url && secrets.length > 0 ? { url, secrets, allowPrivateNetwork } : undefined;
}

/**
 * Parses and validates a callers file, reporting every mistake with its path:
 *
 * ```yaml
 * callers:
 *   - id: dialogflow-prod
 *     platforms: [dialogflow-es]
 *     rateLimit:
 *       requests: 600
 *       perSeconds: 60
 *       routes: { 'POST /v1/webhooks/generic': { requests: 10, perSeconds: 60 } }
 *     certificate: { uriSAN: spiffe://bank.example/ns/bots/sa/dialogflow }
 *     callback: { url: https://bot.bank.example/results, secrets: [whsec_…] }
 *     sourceRanges: [203.0.113.0/24, 2001:db8:1::/48]
 *     auth:
 *       bearer: { tokens: [current-token, previous-token] }
 * ```
 */
export function parseCallers(yamlText: string, source: string): RegisteredCaller[] {
  let document: unknown;
  try {
    document = parseYaml(yamlText);
  } catch (error: unknown) {
    const reason = error instanceof Error ? error.message.split('\n')[0] : String(error);
    throw new CallersFileError([`CALLERS_FILE ${source}: not valid YAML (${reason})`]);
  }
  const list = (document as { callers?: unknown } | null)?.callers;
  if (!Array.isArray(list) || list.length === 0) {
    throw new CallersFileError([`CALLERS_FILE ${source}: needs a non-empty "callers" list`]);
  }
  const problems: string[] = [];
  const callers: RegisteredCaller[] = [];
  const ids = new Set<string>();
  const tokenOwners = new Map<string, number>();

  list.forEach((entry: unknown, index) => {
    const where = `CALLERS_FILE ${source}: callers[${index}]`;
    if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) {
      problems.push(`${where}: must be a mapping with id, platforms and auth`);
      return;
    }
    const before = problems.length;
    const reader = new FieldReader(problems, entry as Json, where);
    reader.unknownKeys(['id', 'platforms', 'auth', 'certificate', 'rateLimit', 'callback', 'sourceRanges']);
    const id = reader.string('id', { pattern: ID, hint: 'must be 1-64 letters, digits, ".", "_" or "-"' });
    if (id && ids.has(id.toLowerCase())) problems.push(`${where}.id: "${id}" is used twice`);
    if (id) ids.add(id.toLowerCase());
    const platforms = reader.strings('platforms', {
      pattern: new RegExp(`^(${PLATFORMS.join('|')})$`),
      hint: `must list one or more of ${PLATFORMS.join(', ')}`,
    }) as Platform[];
    const authReader = reader.object_('auth');
    if (!authReader && !reader.has('auth')) problems.push(`${where}.auth: is required`);
    const auth = authReader ? readAuth(authReader, problems, where, id) : undefined;
    const certificate = readCertificate(reader.object_('certificate'), problems, where);
    if (auth?.mtls && !certificate) {
      problems.push(`${where}.auth.mtls: needs a "certificate" naming the identity the client certificate must have`);
    }
    const rateLimit = readRateLimit(reader.object_('rateLimit'), problems, where, id);
    const callback = readCallback(reader.object_('callback'), problems, where, id);
    const sourceRanges = readSourceRanges(reader, problems, where, id);

    // A credential names one caller: shared, the first caller listed would take every request made with it (its
    // platforms, source ranges and certificate binding), and the second could never be reached.
    const claim = (kind: string, key: string, problem: (owner: number) => string): void => {
      const owner = tokenOwners.get(`${kind}\u0000${key}`);
      if (owner !== undefined && owner !== index) problems.push(problem(owner));
      else tokenOwners.set(`${kind}\u0000${key}`, index);
    };
    for (const digest of auth?.bearer?.tokenDigests ?? []) {
      claim(
        'bearer',
        digest.toString('hex'),
        (owner) => `${where}.auth.bearer.tokens: a token is also listed for callers[${owner}]`,
      );
    }
    for (const secret of auth?.standardWebhooks?.secrets ?? []) {
      claim(
        'standardWebhooks',
        secret.toString('hex'),
        (owner) => `${where}.auth.standardWebhooks.secrets: a secret is also listed for callers[${owner}]`,
      );
    }
    for (const secret of auth?.headerSignature?.secrets ?? []) {
      claim(
        'headerSignature',
        `${auth?.headerSignature?.header}\u0000${secret.toString('hex')}`,
        (owner) =>
          `${where}.auth.headerSignature.secrets: a secret is also listed for callers[${owner}] with the same header`,
      );
    }
    // A client certificate alone names one caller too: the first mtls caller listed that the certificate satisfies
    // would take every request made with it. Any one shared name (CN, DNS or URI SAN) is enough for that.
    if (auth?.mtls && certificate) {
      const names = [
        ['subjectCN', certificate.subjectCNs],
        ['dnsSAN', certificate.dnsSANs],
        ['uriSAN', certificate.uriSANs],
      ] as const;
      for (const [field, values] of names) {
        for (const value of values) {
          claim(
            `mtls-${field}`,
            value,
            (owner) =>
              `${where}.certificate.${field}: "${value}" also names the client certificate of callers[${owner}], ` +
              'and both authenticate by that certificate alone (auth.mtls)',
          );
        }
      }
    }
    if (auth?.basic?.username) {
      claim(
        'basic',
        auth.basic.username,
        (owner) => `${where}.auth.basic.username: "${auth.basic?.username}" is also the username of callers[${owner}]`,
      );
    }
    if (problems.length === before && id && auth) {
      callers.push({
        id,
        platforms,
        auth,
        ...(certificate && { certificate }),
        ...(rateLimit && { rateLimit }),
        ...(callback && { callback }),
        ...(sourceRanges && { sourceRanges }),
      });
    }
  });
  problems.push(...sharedJwtIdentities(callers, source));
  if (problems.length > 0) throw new CallersFileError(problems);
  return callers;
}

/**
 * JWT callers a token could name both of: one issuer and audience, subjects that overlap (none listed is any
 * subject), and not both bound to a client certificate (which tells them apart by the connection). The first listed
 * would take every such token, the second's included, with its own platforms, limits and callback.
 */
function sharedJwtIdentities(callers: readonly RegisteredCaller[], source: string): string[] {
  const problems: string[] = [];
  const withJwt = callers.filter((caller) => caller.auth.jwt);
  withJwt.forEach((first, index) => {
    for (const second of withJwt.slice(index + 1)) {
      const [a, b] = [first.auth.jwt, second.auth.jwt] as [JwtAuth, JwtAuth];
      if (a.issuer !== b.issuer || a.audience !== b.audience) continue;
      if (first.certificate && second.certificate) continue;
      const overlap =
        a.subjects.length === 0 || b.subjects.length === 0 || a.subjects.some((s) => b.subjects.includes(s));
      if (overlap) {
        problems.push(
          `CALLERS_FILE ${source}: callers "${first.id}" and "${second.id}" both take JWTs of ${a.issuer} for ` +
            `${a.audience} with the same subjects: give each its own subjects (or audience), or bind both to client certificates`,
        );
      }
    }
  });
  return problems;
}

export function loadCallersFile(path: string): RegisteredCaller[] {
  return readCallersFile(path).callers;
}

/** The callers of the file and the digest of the very text they came from (what the reload compares with). */
export function readCallersFile(path: string): { callers: RegisteredCaller[]; digest: string } {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error: unknown) {
    const code = (error as NodeJS.ErrnoException).code ?? 'unreadable';
    throw new CallersFileError([`CALLERS_FILE: cannot read ${path} (${code})`]);
  }
  return { callers: parseCallers(text, path), digest: callersFileDigest(text) };
}

export function callersFileDigest(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}
