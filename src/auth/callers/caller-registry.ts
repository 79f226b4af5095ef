import { timingSafeEqual } from 'node:crypto';
import type { AuthMethod, CallerAuth, CertificateBinding, RegisteredCaller } from './caller';
import { digestToken } from './callers-file';
import { PLATFORMS } from '../../common/platform';

export const LOCAL_DEV_CALLER_ID = 'local-dev';
export const LOCAL_DEV_TOKEN = 'local-dev-token';

/** What the TLS layer proved about the client certificate. */
export interface PeerIdentity {
  readonly subjectCN?: string;
  readonly dnsSANs: readonly string[];
  readonly uriSANs: readonly string[];
}

export function certificateMatches(binding: CertificateBinding, peer: PeerIdentity): boolean {
  return (
    (peer.subjectCN !== undefined && binding.subjectCNs.includes(peer.subjectCN)) ||
    peer.dnsSANs.some((name) => binding.dnsSANs.includes(name)) ||
    peer.uriSANs.some((uri) => binding.uriSANs.includes(uri))
  );
}

/**
 * The caller used when there is no callers file (development only): a well-known token, so it is accepted
 * from loopback addresses only, whatever address the server binds.
 */
export function localDevCallers(): RegisteredCaller[] {
  return [
    {
      id: LOCAL_DEV_CALLER_ID,
      platforms: [...PLATFORMS],
      auth: { bearer: { tokenDigests: [digestToken(LOCAL_DEV_TOKEN)] } },
      loopbackOnly: true,
    },
  ];
}

type MethodEntry<M extends AuthMethod> = { caller: RegisteredCaller; settings: NonNullable<CallerAuth[M]> };

/** The callers currently configured; replaced as a whole when the callers file changes. */
export class CallerRegistry {
  private callers: readonly RegisteredCaller[] = [];
  // Indexes rebuilt on every replace(), so the per-request lookups allocate nothing.
  private byMethod = new Map<AuthMethod, MethodEntry<AuthMethod>[]>();
  private signatureHeaderNames: ReadonlySet<string> = new Set();

  /**
   * `source` is the callers file, or undefined for the built-in local development caller; `sourceDigest` the digest of
   * the file's text the callers came from (`readCallersFile`), which a reload compares the file with.
   */
  constructor(
    callers: readonly RegisteredCaller[],
    readonly source?: string,
    public sourceDigest?: string,
  ) {
    this.replace(callers);
  }

  replace(callers: readonly RegisteredCaller[], sourceDigest?: string): void {
    if (sourceDigest !== undefined) this.sourceDigest = sourceDigest;
    const byMethod = new Map<AuthMethod, MethodEntry<AuthMethod>[]>();
    const headers = new Set<string>();
    for (const caller of callers) {
      for (const [method, settings] of Object.entries(caller.auth) as [AuthMethod, CallerAuth[AuthMethod]][]) {
        if (!settings) continue;
        const list = byMethod.get(method) ?? [];
        list.push({ caller, settings });
        byMethod.set(method, list);
      }
      const signature = caller.auth.headerSignature;
      if (signature) {
        headers.add(signature.header);
        if (signature.timestampHeader) headers.add(signature.timestampHeader);
      }
    }
    this.callers = callers;
    this.byMethod = byMethod;
    this.signatureHeaderNames = headers;
  }

  get size(): number {
    return this.callers.length;
  }

  get isLocalDevelopment(): boolean {
    return this.source === undefined;
  }

  all(): readonly RegisteredCaller[] {
    return this.callers;
  }

  /** The caller with this id in the current version of the file. */
  byId(id: string): RegisteredCaller | undefined {
    return this.callers.find((caller) => caller.id === id);
  }

  /** Header names of the callers' signature schemes (each must appear at most once in a request). */
  signatureHeaders(): ReadonlySet<string> {
    return this.signatureHeaderNames;
  }

  /** Callers that accept a method, with that method's settings. */
  /**
   * The introspection endpoints (origins) of callers not bound to a client certificate: an opaque token is sent to
   * each in turn until one knows it, so more than one means a token can reach another caller's server.
   */
  unboundIntrospectionOrigins(): string[] {
    const origins = this.withMethod('introspection')
      .filter(({ caller }) => !caller.certificate)
      .map(({ settings }) => new URL(settings.endpoint).origin);
    return [...new Set(origins)];
  }

  withMethod<M extends AuthMethod>(method: M): readonly MethodEntry<M>[] {
    return (this.byMethod.get(method) ?? []) as unknown as readonly MethodEntry<M>[];
  }

  /** The caller owning a static bearer token, comparing every digest in constant time. */
  findByBearerToken(token: string): RegisteredCaller | undefined {
    const presented = digestToken(token);
    let match: RegisteredCaller | undefined;
    for (const { caller, settings } of this.withMethod('bearer')) {
      for (const digest of settings.tokenDigests) {
        if (timingSafeEqual(digest, presented) && !match) match = caller;
      }
    }
    return match;
  }

  /** The caller whose certificate binding the peer certificate satisfies, for mTLS-only authentication. */
  findByCertificate(peer: PeerIdentity): RegisteredCaller | undefined {
    return this.withMethod('mtls').find(
      ({ caller }) => caller.certificate !== undefined && certificateMatches(caller.certificate, peer),
    )?.caller;
  }
}
