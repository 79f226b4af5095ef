import { Transform } from 'class-transformer';
import { IsBoolean, IsInt, IsOptional, IsString, Matches, Max, MaxLength, Min, MinLength } from 'class-validator';
import { createHmac, randomBytes } from 'node:crypto';
import { type ConfigSection, emptyToUndefined, toBool, toInt, VariableProblem } from '../config';

/** Sign-in to the console through the bank's identity provider (authorization code with PKCE). */
export interface ConsoleOidc {
  readonly issuer: string;
  readonly clientId: string;
  readonly clientSecret: string;
  readonly scopes: string;
  /** The ID token claim that lists the person's roles (a string or an array of strings). */
  readonly rolesClaim: string;
  /** The claim's values that make a person an `operator` or a `viewer`. */
  readonly operatorRole: string;
  readonly viewerRole: string;
  /** Where the identity provider sends the browser back: `<ADMIN_PUBLIC_URL>/callback`. */
  readonly redirectUri: string;
}

/** The operator console's settings (the admin listener itself is ADMIN_* in the service's configuration). */
export abstract class ConsoleOptions {
  abstract readonly turnLog: {
    /** Keep a row per finished turn for the console (TURN_LOG_ENABLED). */
    readonly enabled: boolean;
    readonly retentionHours: number;
    /** How often buffered turns are written (one INSERT per batch). */
    readonly flushMs: number;
    /** Turns held while PostgreSQL cannot take them; beyond this, new ones are dropped and counted. */
    readonly maxBuffered: number;
  };
  abstract readonly oidc?: ConsoleOidc;
  /** Signs session cookies and CSRF tokens: the same on every replica (ADMIN_SESSION_SECRET), else per process. */
  abstract readonly sessionSecret: Buffer;
  /**
   * Keys the digest that stands for a masked callback URL's path and query: derived from ADMIN_SESSION_SECRET (the
   * same on every replica, and never the cookies' key itself); without one, none, and a key per process is used.
   */
  abstract readonly urlDigestKey?: Buffer;
  abstract readonly sessionTtlMs: number;
  /** Cookies only over HTTPS: the console's public URL is https. */
  abstract readonly secureCookies: boolean;
  /**
   * The console's origin as browsers see it (ADMIN_PUBLIC_URL's): behind an ingress that ends TLS, the listener
   * itself only sees http, so a browser's `Origin: https://…` is checked against this.
   */
  abstract readonly publicOrigin: string;
  /** A trace's page in the tracing back end, `{traceId}` standing for its id (ADMIN_TRACE_URL); none: no links. */
  abstract readonly traceUrl?: string;
}

const URL_DIGEST_KEY_LABEL = 'webhook-fulfillment console masked-url digest';

class ConsoleVariables {
  /** Keep a row per finished turn (platform, intent, caller, outcome, duration; never bodies) for the console. */
  @Transform(toBool)
  @IsBoolean()
  TURN_LOG_ENABLED = true;

  /** Hours a turn stays in the turn log. */
  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(24 * 90)
  TURN_LOG_RETENTION_HOURS = 72;

  /** Milliseconds between the turn log's batched writes. */
  @Transform(toInt)
  @IsInt()
  @Min(50)
  @Max(60_000)
  TURN_LOG_FLUSH_MS = 500;

  /** Turns buffered while PostgreSQL is unavailable; beyond this, new ones are dropped (and counted). */
  @Transform(toInt)
  @IsInt()
  @Min(100)
  @Max(1_000_000)
  TURN_LOG_MAX_BUFFERED = 20_000;

  /** The identity provider's issuer URL (its discovery document is read from it); unset: no sign-in. */
  @IsOptional()
  @Transform(emptyToUndefined)
  @Matches(/^https?:\/\/[^\s]+$/, { message: 'must be an http(s) URL' })
  ADMIN_OIDC_ISSUER?: string;

  @IsOptional()
  @Transform(emptyToUndefined)
  @IsString()
  @MaxLength(256)
  ADMIN_OIDC_CLIENT_ID?: string;

  @IsOptional()
  @Transform(emptyToUndefined)
  @IsString()
  @MaxLength(1024)
  ADMIN_OIDC_CLIENT_SECRET?: string;

  @Matches(/^openid( [\w:.-]+)*$/, { message: 'must be space-separated scopes starting with openid' })
  ADMIN_OIDC_SCOPES = 'openid profile';

  @Matches(/^[\w:./-]{1,100}$/, { message: 'must be a claim name' })
  ADMIN_ROLES_CLAIM = 'roles';

  @IsString()
  @MinLength(1)
  @MaxLength(200)
  ADMIN_OPERATOR_ROLE = 'operator';

  @IsString()
  @MinLength(1)
  @MaxLength(200)
  ADMIN_VIEWER_ROLE = 'viewer';

  /** The console's URL as browsers reach it (the sign-in's redirect URI is `<this>/callback`). */
  @IsOptional()
  @Transform(emptyToUndefined)
  @Matches(/^https?:\/\/[^\s/]+(\/[^\s]*)?$/, { message: 'must be an http(s) URL' })
  ADMIN_PUBLIC_URL?: string;

  /** A trace's page in the tracing back end (Jaeger, Tempo in Grafana…), with `{traceId}` where its id goes. */
  @IsOptional()
  @Transform(emptyToUndefined)
  @Matches(/^https?:\/\/[^\s]*\{traceId\}[^\s]*$/, { message: 'must be an http(s) URL containing {traceId}' })
  ADMIN_TRACE_URL?: string;

  /** Signs console sessions; at least 32 characters, the same on every replica. */
  @IsOptional()
  @Transform(emptyToUndefined)
  @IsString()
  @MinLength(32)
  ADMIN_SESSION_SECRET?: string;

  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(7 * 24)
  ADMIN_SESSION_HOURS = 8;
}

export const CONSOLE_OPTIONS: ConfigSection<ConsoleOptions, ConsoleVariables> = {
  provide: ConsoleOptions,
  variables: ConsoleVariables,
  build: (variables, config) => {
    const publicUrl = (
      variables.ADMIN_PUBLIC_URL ?? `http://${hostForUrl(config.admin.host)}:${config.admin.port}`
    ).replace(/\/+$/, '');
    const oidc = oidcOf(variables, publicUrl);
    if (config.isProduction && config.admin.enabled) {
      if (!oidc) {
        throw new VariableProblem(
          'ADMIN_OIDC_ISSUER',
          'the console needs sign-in through OpenID Connect in production (there is no local operator there)',
        );
      }
      if (!variables.ADMIN_SESSION_SECRET) {
        throw new VariableProblem('ADMIN_SESSION_SECRET', 'is required for the console in production');
      }
      if (!publicUrl.startsWith('https://')) {
        throw new VariableProblem(
          'ADMIN_PUBLIC_URL',
          'must be an https URL in production (session cookies are Secure)',
        );
      }
    }
    return {
      turnLog: {
        enabled: variables.TURN_LOG_ENABLED,
        retentionHours: variables.TURN_LOG_RETENTION_HOURS,
        flushMs: variables.TURN_LOG_FLUSH_MS,
        maxBuffered: variables.TURN_LOG_MAX_BUFFERED,
      },
      oidc,
      sessionSecret: variables.ADMIN_SESSION_SECRET
        ? Buffer.from(variables.ADMIN_SESSION_SECRET, 'utf8')
        : randomBytes(32),
      urlDigestKey: variables.ADMIN_SESSION_SECRET
        ? createHmac('sha256', variables.ADMIN_SESSION_SECRET).update(URL_DIGEST_KEY_LABEL).digest()
        : undefined,
      sessionTtlMs: variables.ADMIN_SESSION_HOURS * 3_600_000,
      secureCookies: publicUrl.startsWith('https://'),
      publicOrigin: new URL(publicUrl).origin,
      traceUrl: variables.ADMIN_TRACE_URL,
    };
  },
};

function hostForUrl(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}

function oidcOf(variables: ConsoleVariables, publicUrl: string): ConsoleOidc | undefined {
  const { ADMIN_OIDC_ISSUER: issuer, ADMIN_OIDC_CLIENT_ID: clientId, ADMIN_OIDC_CLIENT_SECRET: secret } = variables;
  if (!issuer && !clientId && !secret) return undefined;
  if (!issuer) throw new VariableProblem('ADMIN_OIDC_ISSUER', 'is required with ADMIN_OIDC_CLIENT_ID');
  if (!clientId) throw new VariableProblem('ADMIN_OIDC_CLIENT_ID', 'is required with ADMIN_OIDC_ISSUER');
  if (!secret) throw new VariableProblem('ADMIN_OIDC_CLIENT_SECRET', 'is required with ADMIN_OIDC_ISSUER');
  return {
    issuer,
    clientId,
    clientSecret: secret,
    scopes: variables.ADMIN_OIDC_SCOPES,
    rolesClaim: variables.ADMIN_ROLES_CLAIM,
    operatorRole: variables.ADMIN_OPERATOR_ROLE,
    viewerRole: variables.ADMIN_VIEWER_ROLE,
    redirectUri: `${publicUrl}/callback`,
  };
}
