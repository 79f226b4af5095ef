import { Reflector } from '@nestjs/core';

/**
 * Marks a route (or controller) that also takes a caller's static bearer token as a query parameter, named here:
 * Rasa's `action_endpoint.token` arrives as `?token=…` and cannot be sent as a header. Only routes so marked
 * read the parameter; the access log and spans never carry query values.
 */
export const QueryTokenParameter = Reflector.createDecorator<string>();

/** Every value of the query parameter `name` in a request URL (`/path?a=1&token=x` → `['x']`). */
export function queryValues(url: string | undefined, name: string): string[] {
  const question = url?.indexOf('?') ?? -1;
  if (url === undefined || question === -1) return [];
  return new URLSearchParams(url.slice(question + 1)).getAll(name);
}
