import { Injectable } from '@nestjs/common';
import { type ConnectionSecurity, failure, StrategyOutcome } from '../auth-attempt';
import type { CertificateBinding, KubernetesTokenReview, RegisteredCaller } from '../callers/caller';
import { CallerRegistry, certificateMatches } from '../callers/caller-registry';
import { checkGoogleIdentity, checkKubernetesIdentity } from '../tokens/identity-tokens';
import { TokenIntrospector } from '../tokens/introspection';
import { JwtVerifier } from '../tokens/jwt-verifier';
import { OidcDiscovery } from '../tokens/oidc-discovery';
import { TokenReviewer } from '../tokens/token-review';

const MAX_CLOCK_SKEW_SECONDS = 60;

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
        outcome = failure('verifier-unavailable', String(error));
        continue;
      }
      const result = await verifier.verify(token);
      if (!result.ok) {
        outcome = failure(
          result.reason === 'jwks-unavailable' ? 'verifier-unavailable' : 'token-rejected',
          result.reason,
        );
        continue;
      }
      if (!candidate.allows(result.claims)) {
        outcome = failure(
          'identity-not-allowed',
          typeof result.claims.sub === 'string' ? result.claims.sub : undefined,
        );
        continue;
      }
      const refused = await candidate.confirm?.(token, result.claims);
      if (refused) {
        outcome = refused;
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
        outcome = failure(result.reason === 'introspection-unavailable' ? 'verifier-unavailable' : 'token-rejected');
        continue;
      }
      const subject = typeof result.claims.sub === 'string' ? result.claims.sub : undefined;
      const client = result.claims.client_id;
      const subjectAllowed = settings.subjects.length === 0 || (subject && settings.subjects.includes(subject));
      const clientAllowed = settings.clientIds.length === 0 || (client && settings.clientIds.includes(client));
      if (subjectAllowed && clientAllowed) return { ok: true, caller };
      outcome = failure('identity-not-allowed', subjectAllowed ? `client_id ${client ?? '(none)'}` : subject);
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
      found.push({
        caller,
        verifierKey: JSON.stringify([
          'kubernetes',
          settings.issuer,
          settings.audience,
          settings.jwksUri,
          settings.maxLifetimeSeconds,
        ]),
        makeVerifier: async () =>
          new JwtVerifier({
            issuer: settings.issuer,
            audience: settings.audience,
            jwksUri: settings.jwksUri ?? (await this.discovery.jwksUri(settings.issuer)),
            algorithms: ['RS256', 'ES256'],
            clockToleranceSeconds: MAX_CLOCK_SKEW_SECONDS,
            expectedKind: 'identity',
            maxLifetimeSeconds: settings.maxLifetimeSeconds,
          }),
        allows: (claims) => checkKubernetesIdentity(claims, settings.serviceAccounts).ok,
        ...(tokenReview && {
          confirm: (token, claims) => this.review(tokenReview, token, settings.audience, claims),
        }),
      });
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
