import type { Request } from 'express';

export const ADMIN_ROLES = ['viewer', 'operator'] as const;
export type AdminRole = (typeof ADMIN_ROLES)[number];

/** Who is using the console: a person from the identity provider, or the local operator in development. */
export interface AdminPrincipal {
  /** The identity provider's subject (`sub`), or `local-operator`. */
  readonly subject: string;
  readonly name: string;
  readonly roles: readonly AdminRole[];
  readonly via: 'oidc' | 'local';
  /** What the CSRF token is bound to: the session's id. */
  readonly sessionId: string;
  /** When a signed-in person's session cookie expires (ms); none for the local operator. */
  readonly expiresAt?: number;
  /** When the person signed in (ms); none for the local operator, nor for a cookie sealed before it was recorded. */
  readonly signedInAt?: number;
}

export type AdminRequest = Request & { principal?: AdminPrincipal };

/** `operator` may do everything a `viewer` may. */
export function hasRole(principal: AdminPrincipal, role: AdminRole): boolean {
  return principal.roles.includes(role) || (role === 'viewer' && principal.roles.includes('operator'));
}
