import { Injectable } from '@nestjs/common';
import { AuthAttempt, AuthStrategy, failure, StrategyOutcome } from '../auth-attempt';
import { CallerRegistry } from '../callers/caller-registry';
import { TokenStrategies } from './token.strategies';

const BEARER = /^Bearer\s+([A-Za-z0-9\-._~+/]+=*)\s*$/i;
const JWT_SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;

/**
 * `Authorization: Bearer …`: a static token from the callers file, a signed JWT (OAuth2, Google ID token,
 * Kubernetes service-account token) or a token checked by RFC 7662 introspection: an opaque one, or a JWT whose
 * issuer no caller verifies itself.
 */
@Injectable()
export class BearerStrategy implements AuthStrategy {
  readonly method = 'bearer' as const;

  constructor(
    private readonly callers: CallerRegistry,
    private readonly tokens: TokenStrategies,
  ) {}

  applies(attempt: AuthAttempt): boolean {
    return /^Bearer\s/i.test(attempt.headers.authorization ?? '');
  }

  async authenticate(attempt: AuthAttempt): Promise<StrategyOutcome> {
    const token = BEARER.exec(attempt.headers.authorization ?? '')?.[1];
    if (!token) return failure('unknown-token', 'malformed bearer header');
    const caller = this.callers.findByBearerToken(token);
    if (caller) return { ok: true, caller };
    if (!JWT_SHAPE.test(token)) return this.tokens.introspect(token, attempt.connection);
    const verified = await this.tokens.verifyJwt(token, attempt.connection);
    // A JWT no caller verifies by its issuer may still be an access token an authorization server introspects
    // (Keycloak, Okta and Entra ID issue JWTs): its introspection callers decide.
    if (!verified.ok && verified.reason === 'unknown-token') return this.tokens.introspect(token, attempt.connection);
    return verified;
  }
}
