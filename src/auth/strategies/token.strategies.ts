import { readFile } from 'node:fs/promises';
import { Injectable } from '@nestjs/common';
import { Agent, fetch as undiciFetch, type RequestInit as UndiciRequestInit } from 'undici';
import { type ConnectionSecurity, failure, StrategyOutcome } from '../auth-attempt';
import type { CertificateBinding, KubernetesAuth, KubernetesTokenReview, RegisteredCaller } from '../callers/caller';
import { CallerRegistry, certificateMatches } from '../callers/caller-registry';
import type { FetchLike } from '../tokens/http';
import { checkGoogleIdentity, checkKubernetesIdentity } from '../tokens/identity-tokens';
import { TokenIntrospector } from '../tokens/introspection';
import { JwtVerifier } from '../tokens/jwt-verifier';
import { OidcDiscovery } from '../tokens/oidc-discovery';
import { DEFAULT_REVIEWER_CA_FILE, DEFAULT_REVIEWER_TOKEN_FILE, TokenReviewer } from '../tokens/token-review';

const MAX_CLOCK_SKEW_SECONDS = 60;

/** The in-cluster names of the Kubernetes API server (`kubernetes.default.svc`, `….svc.cluster.local`). */
const IN_CLUSTER_API_SERVER = /^kubernetes\.default\.svc(\.[a-z0-9-]+)*$/i;

/** This pod's own service-account token and the cluster CA, as the API server wants them. */
interface ApiServerCredentials {
  readonly tokenFile: string;
  readonly caFile: string;
}

/**
 * The credentials for a `kubernetes` caller whose issuer is the cluster's API server (named by its in-cluster name,
 * or at the address of the caller's `tokenReview.url`): it serves discovery and JWKS only to authenticated service
 * accounts, over a certificate of the cluster CA. `tokenReview`'s files, else where `tokenReview: {}` reads them.
 * Any other issuer (a public one: EKS, GKE, AKS) gets plain requests, without our token.
 */
function apiServerCredentials(settings: KubernetesAuth): ApiServerCredentials | undefined {
  const issuer = new URL(settings.issuer);
  const review = settings.tokenReview;
  const atReviewedServer = review !== undefined && new URL(review.url).origin === issuer.origin;
  if (!atReviewedServer && !IN_CLUSTER_API_SERVER.test(issuer.hostname)) return undefined;
  return {
    tokenFile: review?.tokenFile ?? DEFAULT_REVIEWER_TOKEN_FILE,
    caFile: review?.caFile ?? DEFAULT_REVIEWER_CA_FILE,
  };
}

/**
 * Discovery and JWKS requests to the API server. The cluster CA is the only CA trusted, so the token reaches the API
 * server and nothing else (also at the jwks_uri it names, usually its own address on 6443); the token file is re-read
 * for every request (the kubelet rotates it). Neither caller follows redirects.
 */
function apiServerFetch({ tokenFile, caFile }: ApiServerCredentials): FetchLike {
  let dispatcher: Promise<Agent> | undefined;
  return async (url, init) => {
    if (!url.startsWith('https://')) throw new Error(`${url}: this pod's service-account token goes over https only`);
    dispatcher ??= readFile(caFile).then(
      (ca) => new Agent({ connect: { ca } }),
      (error: unknown) => {
        dispatcher = undefined;
        throw error;
      },
    );
    // The CA first, then the token: with both files missing (not in a pod) the error always names the CA file, where
    // reading them at once named whichever read failed first. The agent is kept, so only the first request waits.
    const agent = await dispatcher;
    const token = await readFile(tokenFile, 'utf8');
    const headers: Record<string, string> = {};
    new Headers(init.headers).forEach((value, name) => (headers[name] = value));
    headers.authorization = `Bearer ${token.trim()}`;
    const request = { ...init, headers, dispatcher: agent } as UndiciRequestInit;
    return (await undiciFetch(url, request)) as unknown as Response;
  };
}

/**
 * Of two candidates' refusals, the one to answer with: "could not be checked" (503, retried) stands over a later
 * candidate's refusal, which says nothing of the token the unreachable one might have taken.
 */
function worst(outcome: StrategyOutcome, next: StrategyOutcome): StrategyOutcome {
  return !outcome.ok && outcome.reason === 'verifier-unavailable' ? outcome : next;
}

interface JwtCandidate {
  caller: RegisteredCaller;
  verifierKey: string;
  makeVerifier(): JwtVerifier | Promise<JwtVerifier>;
  /** Checks the verified claims against the caller's allowlist. */
  allows(claims: Record<string, unknown>): boolean;
  /** A last check with the issuer (Kubernetes TokenReview); a failure outcome refuses the token. */
  confirm?(token: string, claims: Record<string, unknown>): Promise<StrategyOutcome | undefined>;
}

/** The issuer a JWT claims, read without verification and only to pick which verifier to run. */
function claimedIssuer(token: string): string | undefined {
  try {
    const payload = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8')) as unknown;
    const iss = (payload as { iss?: unknown } | null)?.iss;
    return typeof iss === 'string' ? iss : undefined;
  } catch {
    return undefined;
  }
}

/** Whether the connection presented a verified client certificate that satisfies the binding. */
function presents(connection: ConnectionSecurity | undefined, binding: CertificateBinding): boolean {
  return (
    connection?.clientCertificateVerified === true &&
    connection.peer !== undefined &&
    certificateMatches(binding, connection.peer)
  );
}

/** Verifies bearer JWTs and opaque tokens for the callers that accept them; verifiers are cached per setting. */
@Injectable()
export class TokenStrategies {
  private readonly verifiers = new Map<string, Promise<JwtVerifier>>();
  private readonly introspectors = new Map<string, TokenIntrospector>();
  private readonly reviewers = new Map<string, TokenReviewer>();
  /** Discovery with this pod's credentials, per token and CA file (issuers served by the API server). */
  private readonly apiServerDiscoveries = new Map<string, { discovery: OidcDiscovery; fetchImpl: FetchLike }>();

  constructor(
    private readonly callers: CallerRegistry,
    private readonly discovery: OidcDiscovery,
  ) {}

  /**
   * Tries the callers that trust the token's issuer, in the file's order. A caller bound to a client certificate
   * the connection did not present is skipped: taken first, it was refused as a certificate mismatch and the caller
   * the certificate does belong to was never tried (or, unbound, it took a token meant for a bound caller).
   */
  async verifyJwt(token: string, connection?: ConnectionSecurity): Promise<StrategyOutcome> {
    const issuer = claimedIssuer(token);
    const trusting = issuer ? this.candidates(issuer) : [];
    if (trusting.length === 0) return failure('unknown-token', 'no caller trusts this issuer');
    const candidates = trusting.filter(({ caller }) => !caller.certificate || presents(connection, caller.certificate));
    if (candidates.length === 0) return failure('certificate-mismatch', trusting[0].caller.id);
    let outcome: StrategyOutcome = failure('identity-not-allowed');
    for (const candidate of candidates) {
      let verifier: JwtVerifier;
      try {
        verifier = await this.verifier(candidate);
      } catch (error: unknown) {
        outcome = worst(outcome, failure('verifier-unavailable', String(error)));
        continue;
      }
      const result = await verifier.verify(token);
      if (!result.ok) {
        outcome = worst(
          outcome,
          failure(result.reason === 'jwks-unavailable' ? 'verifier-unavailable' : 'token-rejected', result.reason),
        );
        continue;
      }
      if (!candidate.allows(result.claims)) {
        outcome = worst(
          outcome,
          failure('identity-not-allowed', typeof result.claims.sub === 'string' ? result.claims.sub : undefined),
        );
        continue;
      }
      const refused = await candidate.confirm?.(token, result.claims);
      if (refused) {
        outcome = worst(outcome, refused);
        continue;
      }
      return { ok: true, caller: candidate.caller };
    }
    return outcome;
  }

  /**
   * Asks the introspection endpoints of the callers that accept opaque tokens, in the file's order, until one
   * knows the token. A caller bound to a client certificate the connection did not present is skipped: it would be
   * refused anyway, and its authorization server would have been sent another caller's token.
   */
  async introspect(token: string, connection?: ConnectionSecurity): Promise<StrategyOutcome> {
    const candidates = this.callers
      .withMethod('introspection')
      .filter(({ caller }) => !caller.certificate || presents(connection, caller.certificate));
    if (candidates.length === 0) return failure('unknown-token');
    let outcome: StrategyOutcome = failure('unknown-token');
    for (const { caller, settings } of candidates) {
      // One introspector per client and audience: it checks every answer against the audience it was made with.
      const key = JSON.stringify([settings.endpoint, settings.clientId, settings.clientSecrets[0], settings.audience]);
      let introspector = this.introspectors.get(key);
      if (!introspector) {
        introspector = new TokenIntrospector({
          endpoint: settings.endpoint,
          clientId: settings.clientId,
          clientSecret: settings.clientSecrets[0],
          cacheSeconds: 30,
          timeoutMs: 2000,
          expectedAudience: settings.audience,
        });
        this.introspectors.set(key, introspector);
      }
      const result = await introspector.introspect(token);
      if (!result.ok) {
        outcome = worst(
          outcome,
          result.reason === 'introspection-unavailable'
            ? failure('verifier-unavailable', 'introspection-unavailable')
            : failure('token-rejected'),
        );
        continue;
      }
      const subject = typeof result.claims.sub === 'string' ? result.claims.sub : undefined;
      const client = result.claims.client_id;
      const subjectAllowed = settings.subjects.length === 0 || (subject && settings.subjects.includes(subject));
      const clientAllowed = settings.clientIds.length === 0 || (client && settings.clientIds.includes(client));
      if (subjectAllowed && clientAllowed) return { ok: true, caller };
      outcome = worst(
        outcome,
        failure('identity-not-allowed', subjectAllowed ? `client_id ${client ?? '(none)'}` : subject),
      );
    }
    return outcome;
  }

  private candidates(issuer: string): JwtCandidate[] {
    const found: JwtCandidate[] = [];
    for (const { caller, settings } of this.callers.withMethod('jwt')) {
      if (settings.issuer !== issuer) continue;
      found.push({
        caller,
        verifierKey: JSON.stringify([
          'jwt',
          settings.issuer,
          settings.audience,
          settings.jwksUri,
          settings.algorithms,
          settings.requireAccessTokenType,
          settings.maxLifetimeSeconds,
        ]),
        makeVerifier: () =>
          new JwtVerifier({
            issuer: settings.issuer,
            audience: settings.audience,
            jwksUri: settings.jwksUri,
            algorithms: [...settings.algorithms],
            clockToleranceSeconds: MAX_CLOCK_SKEW_SECONDS,
            expectedKind: settings.requireAccessTokenType ? 'rfc9068-access' : 'access',
            maxLifetimeSeconds: settings.maxLifetimeSeconds,
          }),
        allows: (claims) =>
          settings.subjects.length === 0 || (typeof claims.sub === 'string' && settings.subjects.includes(claims.sub)),
      });
    }
    for (const { caller, settings } of this.callers.withMethod('googleIdToken')) {
      if (!settings.issuers.includes(issuer)) continue;
      found.push({
        caller,
        verifierKey: JSON.stringify([
          'google',
          settings.issuers,
          settings.audience,
          settings.jwksUri,
          settings.maxLifetimeSeconds,
        ]),
        makeVerifier: () =>
          new JwtVerifier({
            issuer: [...settings.issuers],
            audience: settings.audience,
            jwksUri: settings.jwksUri,
            algorithms: ['RS256'],
            clockToleranceSeconds: MAX_CLOCK_SKEW_SECONDS,
            expectedKind: 'identity',
            maxLifetimeSeconds: settings.maxLifetimeSeconds,
          }),
        allows: (claims) => checkGoogleIdentity(claims, settings.emails).ok,
      });
    }
    for (const { caller, settings } of this.callers.withMethod('kubernetes')) {
      if (settings.issuer !== issuer) continue;
      const { tokenReview } = settings;
      const credentials = apiServerCredentials(settings);
      found.push({
        caller,
        verifierKey: JSON.stringify([
          'kubernetes',
          settings.issuer,
          settings.audience,
          settings.jwksUri,
          settings.maxLifetimeSeconds,
          credentials ?? null,
        ]),
        makeVerifier: async () => {
          const apiServer = credentials && this.apiServerDiscovery(credentials);
          return new JwtVerifier({
            issuer: settings.issuer,
            audience: settings.audience,
            jwksUri: settings.jwksUri ?? (await (apiServer?.discovery ?? this.discovery).jwksUri(settings.issuer)),
            algorithms: ['RS256', 'ES256'],
            clockToleranceSeconds: MAX_CLOCK_SKEW_SECONDS,
            expectedKind: 'identity',
            maxLifetimeSeconds: settings.maxLifetimeSeconds,
            fetchImpl: apiServer?.fetchImpl,
          });
        },
        allows: (claims) => checkKubernetesIdentity(claims, settings.serviceAccounts).ok,
        ...(tokenReview && {
          confirm: (token, claims) => this.review(tokenReview, token, settings.audience, claims),
        }),
      });
    }
    return found;
  }

  private apiServerDiscovery(credentials: ApiServerCredentials): { discovery: OidcDiscovery; fetchImpl: FetchLike } {
    const key = JSON.stringify([credentials.tokenFile, credentials.caFile]);
    let found = this.apiServerDiscoveries.get(key);
    if (!found) {
      const fetchImpl = apiServerFetch(credentials);
      found = { discovery: new OidcDiscovery({ fetchImpl }), fetchImpl };
      this.apiServerDiscoveries.set(key, found);
    }
    return found;
  }

  /** TokenReview of a token that already passed local verification and the service-account allowlist. */
  private async review(
    settings: KubernetesTokenReview,
    token: string,
    audience: string,
    claims: Record<string, unknown>,
  ): Promise<StrategyOutcome | undefined> {
    const key = JSON.stringify([settings.url, settings.tokenFile, settings.caFile]);
    let reviewer = this.reviewers.get(key);
    if (!reviewer) {
      reviewer = new TokenReviewer(settings);
      this.reviewers.set(key, reviewer);
    }
    const subject = String(claims.sub);
    const result = await reviewer.review(token, audience, subject, Number(claims.exp));
    if (result.ok) return undefined;
    return result.reason === 'review-unavailable'
      ? failure('verifier-unavailable', 'token-review-unavailable')
      : failure('token-rejected', `token-review-${result.reason}`);
  }

  private verifier(candidate: JwtCandidate): Promise<JwtVerifier> {
    let verifier = this.verifiers.get(candidate.verifierKey);
    if (!verifier) {
      // A constructor that refuses its settings becomes a rejected promise, not a thrown error.
      verifier = Promise.resolve().then(() => candidate.makeVerifier());
      // A failed discovery must be retried on the next request, not cached.
      verifier.catch(() => this.verifiers.delete(candidate.verifierKey));
      this.verifiers.set(candidate.verifierKey, verifier);
    }
    return verifier;
  }
}
