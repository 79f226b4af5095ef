import { Reflector } from '@nestjs/core';
import type { Platform } from './platform';

/** Who is calling, as proven by the authentication guard. */
export interface Caller {
  readonly id: string;
  readonly platforms: readonly Platform[];
}

/** A request budget: at most `limit` requests per `ttlSeconds`. */
export interface RateLimit {
  readonly limit: number;
  readonly ttlSeconds: number;
}

/**
 * Marks a route that only a proven caller may use (set with the caller guard, see auth's `UseCallerAuth`), so
 * that what describes routes (the OpenAPI document) can tell without knowing the guard.
 */
export const CallerRequired = Reflector.createDecorator<boolean>();

/**
 * Marks a route (or controller) that also takes a caller's static bearer token as a query parameter, named here:
 * Rasa's `action_endpoint.token` arrives as `?token=…` and cannot be sent as a header. Only routes so marked
 * read the parameter (the caller guard), and the OpenAPI document lists it; the access log and spans never
 * carry query values.
 */
export const QueryTokenParameter = Reflector.createDecorator<string>();
