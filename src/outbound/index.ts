export { OutboundHttpClient, OutboundHttpOptions, OutboundResponse } from './outbound-http.client';
export type { OutboundHeaders, OutboundRequest } from './outbound-http.client';
export { consecutiveFailuresCircuit, throughCircuit } from './circuit';
export type { CircuitSettings } from './circuit';
export { OutboundModule } from './outbound.module';
export {
  CircuitOpenError,
  ForbiddenAddressError,
  ForbiddenUrlError,
  OutboundError,
  OutboundNetworkError,
  OutboundResponseTooLargeError,
  OutboundTimeoutError,
} from './outbound.errors';
export type { OutboundErrorCode } from './outbound.errors';
export { parseRetryAfter } from './retry-after';
export { assertUrlAllowed, createGuardedAgent, createGuardedLookup, isForbiddenAddress } from './ssrf';
export type { GuardedAgentOptions, HostResolver } from './ssrf';
export { underBase } from './under-base';
