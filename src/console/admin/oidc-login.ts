import { Injectable, Logger } from '@nestjs/common';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { isRecord } from '../../auth/tokens/http';
import { JwksCache } from '../../auth/tokens/jwks-cache';
import { loadJose } from '../../auth/tokens/jose';
import { discoverEndpoints } from '../../auth/tokens/oidc-discovery';
import { AppError } from '../../common/errors/app-error';
import { readJsonUpTo, ResponseTooLargeError } from '../../common/http/capped-response-body';
import { type ConsoleOidc, ConsoleOptions } from '../console.options';
import { SessionRevocations } from '../sessions/session-revocations';
import type { AdminPrincipal, AdminRole } from './admin-principal';
import { seal, unseal } from './sealed-cookie';

const LOGIN_PURPOSE = 'console-login';
const LOGIN_TTL_MS = 10 * 60_000;
/** A used state is remembered this much longer than its cookie lives: a replica's clock may run behind. */
const USED_STATE_MARGIN_MS = 5 * 60_000;
const PROVIDER_TIMEOUT_MS = 5_000;
const MAX_SUBJECT_LENGTH = 255;
/** A token answer holds a few tokens; a longer one is refused unread rather than held in memory. */
export const MAX_TOKEN_ANSWER_BYTES = 1024 * 1024;
/** The provider's keys are kept as jose's remote key set kept them: 10 minutes, refetched for an unknown key. */
const KEYS_MAX_AGE_MS = 10 * 60_000;
const logger = new Logger('ConsoleSignIn');

interface ProviderMetadata {
  readonly authorizationEndpoint: string;
  readonly tokenEndpoint: string;
  readonly jwksUri: string;
}

interface TokenAnswer {
  readonly id_token?: unknown;
  readonly error?: unknown;
}

interface LoginState {
  readonly state: string;
  readonly nonce: string;
  readonly verifier: string;
}

/** Why a sign-in did not complete: said to the person, audited with its reason. */
export class LoginFailed extends Error {
  constructor(
    readonly reason: string,
    message: string,
  ) {
    super(message);
    this.name = 'LoginFailed';
  }
}

/**
 * Sign-in to the console through the bank's identity provider: OpenID Connect authorization code flow with PKCE
 * (S256), state and nonce kept in a sealed, short-lived cookie; the code is exchanged with the client secret
 * (client_secret_basic) and the ID token verified against the provider's keys (issuer, audience, expiry, nonce).
 * Roles come from one claim of the ID token.
 */
@Injectable()
export class OidcLogin {
  private metadata?: Promise<ProviderMetadata>;
  private keys?: JwksCache;

  constructor(
    private readonly options: ConsoleOptions,
    /** Where the states of sign-ins that reached their code exchange are kept, for every replica to see. */
    private readonly usedStates: SessionRevocations,
  ) {}

  get configured(): boolean {
    return this.options.oidc !== undefined;
  }

  /** Where to send the browser, and the sealed state cookie's value. */
  async begin(): Promise<{ location: string; state: string }> {
    const oidc = this.oidc();
    const provider = await this.provider(oidc);
    const login: LoginState = {
      state: randomBytes(24).toString('base64url'),
      nonce: randomBytes(24).toString('base64url'),
      verifier: randomBytes(48).toString('base64url'),
    };
    const location = new URL(provider.authorizationEndpoint);
    location.search = new URLSearchParams({
      response_type: 'code',
      client_id: oidc.clientId,
      redirect_uri: oidc.redirectUri,
      scope: oidc.scopes,
      state: login.state,
      nonce: login.nonce,
      code_challenge: createHash('sha256').update(login.verifier).digest('base64url'),
      code_challenge_method: 'S256',
    }).toString();
    return {
      location: location.toString(),
      state: seal(LOGIN_PURPOSE, login, Date.now() + LOGIN_TTL_MS, this.options.sessionSecret),
    };
  }

  /** The person signed in, from the provider's answer and the state cookie; throws `LoginFailed`. */
  async complete(query: Record<string, unknown>, stateCookie: string | undefined): Promise<AdminPrincipal> {
    const oidc = this.oidc();
    const login = unseal<LoginState & { exp: number }>(LOGIN_PURPOSE, stateCookie, this.options.sessionSecret);
    if (!login) throw new LoginFailed('login_state', 'The sign-in took too long or was not started here; start again.');
    if (typeof query.error === 'string') {
      throw new LoginFailed(
        'provider_refused',
        `The identity provider refused the sign-in (${query.error.slice(0, 64)}).`,
      );
    }
    if (query.state !== login.state)
      throw new LoginFailed('state_mismatch', 'The sign-in answer does not match; start again.');
    // One code exchange per sign-in, on whichever replica: a kept state cookie replayed against /callback would
    // have the console post its client secret to the provider's token endpoint at will (and a provider's lockout
    // would stop everyone).
    if (!(await this.usedStates.claimLoginState(login.state, new Date(login.exp + USED_STATE_MARGIN_MS)))) {
      throw new LoginFailed('state_reused', 'This sign-in was already completed or tried; start again.');
    }
    if (typeof query.code !== 'string' || query.code.length === 0 || query.code.length > 2048) {
      throw new LoginFailed('no_code', 'The identity provider sent no authorization code.');
    }
    const provider = await this.provider(oidc);
    const idToken = await this.exchange(oidc, provider, query.code, login.verifier);
    const jose = await loadJose();
    // Our own key set rather than jose's remote one: it reads the provider's answer with a size limit.
    this.keys ??= new JwksCache({
      uri: provider.jwksUri,
      cooldownDurationMs: 30_000,
      defaultMaxAgeMs: KEYS_MAX_AGE_MS,
      minMaxAgeMs: 60_000,
      maxMaxAgeMs: KEYS_MAX_AGE_MS,
      timeoutMs: PROVIDER_TIMEOUT_MS,
    });
    let claims: Record<string, unknown>;
    try {
      ({ payload: claims } = await jose.jwtVerify(idToken, this.keys.getKey, {
        issuer: oidc.issuer,
        audience: oidc.clientId,
        clockTolerance: 30,
      }));
    } catch (error: unknown) {
      throw new LoginFailed(
        'id_token_invalid',
        `The identity provider's ID token did not verify: ${(error as Error).message}`,
      );
    }
    if (claims.nonce !== login.nonce)
      throw new LoginFailed('nonce_mismatch', 'The ID token was not issued for this sign-in.');
    const roles = rolesOf(claims[oidc.rolesClaim], oidc);
    if (roles.length === 0) {
      throw new LoginFailed(
        'no_role',
        `Your account has no console role (${oidc.viewerRole} or ${oidc.operatorRole}).`,
      );
    }
    const subject = typeof claims.sub === 'string' ? claims.sub : '';
    if (!subject) throw new LoginFailed('id_token_invalid', 'The ID token names nobody (no sub).');
    // OpenID Connect Core 2: at most 255 ASCII characters; the console's records hold no more.
    if (subject.length > MAX_SUBJECT_LENGTH) {
      throw new LoginFailed('id_token_invalid', `The ID token's sub is longer than ${MAX_SUBJECT_LENGTH} characters.`);
    }
    const name = [claims.name, claims.preferred_username, claims.email].find((value) => typeof value === 'string');
    return { subject, name: name ?? subject, roles, via: 'oidc', sessionId: randomUUID(), signedInAt: Date.now() };
  }

  private oidc(): ConsoleOidc {
    if (!this.options.oidc) throw new AppError('NOT_FOUND', 'Sign-in is not configured (ADMIN_OIDC_ISSUER).');
    return this.options.oidc;
  }

  /** The provider's discovery document, read once (again after a failure). */
  private provider(oidc: ConsoleOidc): Promise<ProviderMetadata> {
    this.metadata ??= discover(oidc.issuer).catch((error: unknown) => {
      this.metadata = undefined;
      throw error;
    });
    return this.metadata;
  }

  private async exchange(oidc: ConsoleOidc, provider: ProviderMetadata, code: string, verifier: string) {
    const credentials = `${encodeURIComponent(oidc.clientId)}:${encodeURIComponent(oidc.clientSecret)}`;
    let response: Response;
    try {
      response = await fetch(provider.tokenEndpoint, {
        method: 'POST',
        headers: {
          Authorization: `Basic ${Buffer.from(credentials).toString('base64')}`,
          'Content-Type': 'application/x-www-form-urlencoded',
          Accept: 'application/json',
        },
        body: new URLSearchParams({
          grant_type: 'authorization_code',
          code,
          redirect_uri: oidc.redirectUri,
          code_verifier: verifier,
        }).toString(),
        redirect: 'error',
        signal: AbortSignal.timeout(PROVIDER_TIMEOUT_MS),
      });
    } catch (error: unknown) {
      throw new LoginFailed(
        'provider_unreachable',
        `The identity provider could not be reached: ${(error as Error).message}`,
      );
    }
    const body = await tokenAnswer(response, provider.tokenEndpoint);
    if (!response.ok || typeof body?.id_token !== 'string') {
      const why = typeof body?.error === 'string' ? body.error.slice(0, 64) : `HTTP ${response.status}`;
      throw new LoginFailed('code_exchange', `The identity provider did not exchange the code (${why}).`);
    }
    return body.id_token;
  }
}

/** The token endpoint's JSON object (undefined when it is none); throws `LoginFailed` when it is too long. */
async function tokenAnswer(response: Response, endpoint: string): Promise<TokenAnswer | undefined> {
  try {
    const answer = await readJsonUpTo(response, MAX_TOKEN_ANSWER_BYTES);
    return isRecord(answer) ? answer : undefined;
  } catch (error: unknown) {
    if (!(error instanceof ResponseTooLargeError)) return undefined;
    const { origin, pathname } = new URL(endpoint);
    logger.warn(
      `Refused the answer of the token endpoint ${origin}${pathname}: ${error.message}; it was not read further`,
    );
    throw new LoginFailed('code_exchange', `The identity provider did not exchange the code (${error.message}).`);
  }
}

function rolesOf(claim: unknown, oidc: ConsoleOidc): AdminRole[] {
  const values = typeof claim === 'string' ? claim.split(/[\s,]+/) : Array.isArray(claim) ? claim : [];
  const roles: AdminRole[] = [];
  if (values.includes(oidc.operatorRole)) roles.push('operator');
  if (values.includes(oidc.viewerRole)) roles.push('viewer');
  return roles;
}

async function discover(issuer: string): Promise<ProviderMetadata> {
  try {
    const found = await discoverEndpoints(issuer, ['authorization_endpoint', 'token_endpoint'], fetch, {
      timeoutMs: PROVIDER_TIMEOUT_MS,
    });
    return {
      authorizationEndpoint: found.authorization_endpoint,
      tokenEndpoint: found.token_endpoint,
      jwksUri: found.jwks_uri,
    };
  } catch (error: unknown) {
    throw new AppError('UNAVAILABLE', `The identity provider could not be used (${(error as Error).message}).`);
  }
}
