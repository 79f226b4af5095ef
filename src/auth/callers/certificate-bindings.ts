import type { AppConfig } from '../../config';
import type { RegisteredCaller } from './caller';

/**
 * Why no client certificate ever reaches the service, or undefined when one can. The service reads a client
 * certificate from its own TLS handshake only (no proxy header carries one in), so it needs TLS of its own that asks
 * for one.
 */
export function whyNoClientCertificates(config: Pick<AppConfig, 'tls' | 'http'>): string | undefined {
  if (config.tls) return config.tls.clientAuth === 'off' ? 'TLS_CLIENT_AUTH is off' : undefined;
  if (config.http.tlsTerminatedByProxy) {
    return 'TLS_TERMINATED_BY_PROXY=true: TLS ends at the proxy, and no proxy passes a client certificate on to the service';
  }
  return 'TLS is off (no TLS_CERT_FILE and TLS_KEY_FILE)';
}

/**
 * Callers bound to a client certificate (`certificate:`, with `auth.mtls` or another method) when none can reach the
 * service: every request of theirs would be refused with a 401, the service otherwise healthy. One line naming them,
 * or undefined when there are none.
 */
export function unreachableCertificateBindings(
  callers: readonly RegisteredCaller[],
  config: Pick<AppConfig, 'tls' | 'http'>,
  source: string,
): string | undefined {
  const bound = callers.filter((caller) => caller.certificate).map((caller) => `"${caller.id}"`);
  const why = bound.length > 0 ? whyNoClientCertificates(config) : undefined;
  if (!why) return undefined;
  const who = bound.length === 1 ? `caller ${bound[0]} is` : `callers ${bound.join(', ')} are`;
  return (
    `CALLERS_FILE ${source}: ${who} bound to a client certificate (certificate:), which never reaches the service: ` +
    `${why}; each of their requests would be refused (401). Serve TLS with TLS_CERT_FILE, TLS_KEY_FILE, TLS_CA_FILE ` +
    'and TLS_CLIENT_AUTH=optional or require, or remove the certificate binding'
  );
}
