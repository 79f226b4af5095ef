const CONNECT_REASONS: Record<string, string> = {
  ECONNREFUSED: 'connection refused (is the service running? npm start)',
  ECONNRESET: 'the connection was reset (plain HTTP to an HTTPS port, or the other way round?)',
  ENOTFOUND: 'the host name does not resolve',
  EAI_AGAIN: 'the host name could not be looked up (DNS)',
  ETIMEDOUT: 'the connection timed out',
  EHOSTUNREACH: 'the host is unreachable',
  UND_ERR_CONNECT_TIMEOUT: 'the connection timed out',
  UND_ERR_SOCKET: 'the connection closed unexpectedly (plain HTTP to an HTTPS port, or a client certificate refused?)',
};

const TLS_REASONS: Record<string, string> = {
  DEPTH_ZERO_SELF_SIGNED_CERT: "the server's certificate is self-signed: pass its CA with --ca",
  SELF_SIGNED_CERT_IN_CHAIN: "the server's certificate chains to a CA we do not trust: pass that CA with --ca",
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: "the server's certificate cannot be verified: pass its CA with --ca",
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: "the server's certificate cannot be verified: pass its CA with --ca",
  CERT_HAS_EXPIRED: "the server's certificate has expired",
  ERR_TLS_CERT_ALTNAME_INVALID: "the server's certificate is not valid for this host name",
  ERR_SSL_WRONG_VERSION_NUMBER: 'TLS to a plain HTTP port (use http://)',
  ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED: 'the server requires a client certificate: pass --cert and --key',
  ERR_SSL_SSLV3_ALERT_BAD_CERTIFICATE: 'the server refused our client certificate',
  ERR_SSL_TLSV1_ALERT_UNKNOWN_CA: 'the server does not trust the CA of our client certificate',
};

/**
 * The innermost error with a code, else the innermost message: fetch wraps the socket's error as `cause`,
 * sometimes twice, and says only "fetch failed" itself.
 */
function rootCause(error: unknown): { code?: string; message: string } {
  let withCode: { code: string; message: string } | undefined;
  let innermost = error instanceof Error ? error.message : String(error);
  let current: unknown = error;
  for (let depth = 0; current && depth < 5; depth += 1) {
    const { code, message, cause } = current as { code?: unknown; message?: unknown; cause?: unknown };
    if (typeof message === 'string' && message) innermost = message;
    if (typeof code === 'string') withCode = { code, message: typeof message === 'string' ? message : code };
    current = cause;
  }
  return withCode ?? { message: innermost };
}

/** "fetch failed" in words: which URL, and what went wrong on the way there. */
export function describeFetchFailure(url: string, error: unknown): string {
  const { code, message } = rootCause(error);
  const tls = code ? TLS_REASONS[code] : undefined;
  if (tls) return `TLS error talking to ${url}: ${tls} (${code})`;
  const connect = code ? CONNECT_REASONS[code] : undefined;
  if (connect) return `could not reach ${url}: ${connect}`;
  return `request to ${url} failed: ${code ? `${code}: ` : ''}${message}`;
}
