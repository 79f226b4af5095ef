import type { IncomingHttpHeaders } from 'node:http';
import type { AuthMethod, RegisteredCaller } from './callers/caller';
import type { PeerIdentity } from './callers/caller-registry';

/** What the TLS layer says about the connection a request arrived on. */
export interface ConnectionSecurity {
  readonly encrypted: boolean;
  /** A client certificate was presented and verified against our CA bundle (and CRL). */
  readonly clientCertificateVerified: boolean;
  /** Why a presented client certificate failed verification (OpenSSL code, e.g. CERT_HAS_EXPIRED). */
  readonly clientCertificateError?: string;
  readonly peer?: PeerIdentity;
  /**
   * When the client certificate expires (ms since the epoch). The handshake checked it once; a kept-alive connection
   * (an HTTP/1.1 pool, a gRPC channel for up to GRPC_MAX_CONNECTION_AGE_MS) outlives it, and each request checks it.
   */
  readonly certificateValidUntil?: number;
}

/** Everything a strategy may look at; built once per request by the guard. */
export interface AuthAttempt {
  readonly headers: IncomingHttpHeaders;
  /** The body exactly as received; signatures are checked over these bytes. */
  readonly rawBody: Buffer;
  readonly connection: ConnectionSecurity;
  /** The request came from a loopback address. */
  readonly local: boolean;
  /** Every value of the route's token query parameter, on a route that takes one (`QueryTokenParameter`). */
  readonly queryTokens?: readonly string[];
  readonly nowSeconds: number;
  /** What was called (`GET /v1/fulfillments/…`, the gRPC method path): what a signature over no body leaves open. */
  readonly route?: string;
}

/** Stable reason codes for audit rows and logs; never shown to the caller. */
export type AuthFailureReason =
  | 'no-credentials'
  | 'unknown-token'
  | 'token-rejected'
  | 'identity-not-allowed'
  | 'loopback-only'
  | 'bad-signature'
  | 'malformed-signature'
  | 'timestamp-out-of-window'
  | 'replay'
  | 'bad-password'
  | 'too-many-failures'
  | 'basic-without-tls'
  | 'certificate-required'
  | 'certificate-untrusted'
  | 'certificate-expired'
  | 'certificate-revoked'
  | 'crl-expired'
  | 'crl-not-yet-valid'
  | 'certificate-invalid'
  | 'certificate-mismatch'
  | 'verifier-unavailable';

export type StrategyOutcome =
  | {
      readonly ok: true;
      readonly caller: RegisteredCaller;
      readonly detail?: string;
      /**
       * What the credential still binds once the call is admitted (a Standard Webhooks id to its body): run after
       * every check of the caller, so a refused call leaves nothing behind.
       */
      readonly onAdmitted?: () => Promise<void>;
    }
  | {
      readonly ok: false;
      readonly reason: AuthFailureReason;
      readonly detail?: string;
      /** Set when the credential identified a caller but still failed (a replay by a known signer). */
      readonly callerId?: string;
    };

/** One way of proving who is calling. Strategies never throw for bad credentials; they return a reason. */
export interface AuthStrategy {
  readonly method: AuthMethod;
  /** Whether the request carries this strategy's kind of credential. */
  applies(attempt: AuthAttempt): boolean;
  authenticate(attempt: AuthAttempt): Promise<StrategyOutcome>;
}

export function failure(reason: AuthFailureReason, detail?: string): StrategyOutcome {
  return { ok: false, reason, ...(detail !== undefined && { detail }) };
}
