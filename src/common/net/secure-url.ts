const LOOPBACK_HOSTS: ReadonlySet<string> = new Set(['localhost', '[::1]']);

/**
 * Whether a URL may carry secrets or decide who is who: https, or plain http to a loopback address only (a sidecar
 * on the pod, a local test server). Over plain http anyone on the path could read what is sent or answer instead.
 */
export function secureEnough(url: URL): boolean {
  return url.protocol === 'https:' || LOOPBACK_HOSTS.has(url.hostname) || /^127(\.\d{1,3}){3}$/.test(url.hostname);
}
