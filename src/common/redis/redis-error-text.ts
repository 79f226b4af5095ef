import { isUntrustedCertificate } from '../net/tls-errors';

/** A cluster node's redirection: what a node of a Redis Cluster answers a client that takes it for a lone server. */
const CLUSTER_REDIRECTION = /^(?:ReplyError: )?(?:MOVED|ASK) \d+ /;

/**
 * A Redis connection's error for the log, and what to do about it when that is clear: Redis's TLS certificate
 * (`rediss://`) that Node does not trust, or a Redis Cluster reached as a single server (its nodes answer MOVED for
 * the keys the others hold, so most commands fail).
 */
export function redisErrorText(error: unknown): string {
  const text = String(error);
  if (isUntrustedCertificate(error)) {
    return `${text} (Redis's TLS certificate is not trusted: add the CA that signed it with NODE_EXTRA_CA_CERTS)`;
  }
  if (CLUSTER_REDIRECTION.test(text)) {
    return `${text} (REDIS_URL is a node of a Redis Cluster: set REDIS_CLUSTER=true)`;
  }
  return text;
}
