/** `oidc` mode's mapping of a verified token's claims to a principal. Pure. */
import type { JWTPayload } from 'jose';
import type { AuthSettings } from '../../lib/config/types.js';
import type { Principal } from './access.js';

export type ClaimMapping = Pick<AuthSettings['oidc'], 'usernameClaim' | 'rolesClaim' | 'operatorRoles' | 'userRoles'>;

/** The values of the roles claim: a list of strings, or one string (space or comma separated, as some issuers write scopes). */
function claimValues(value: unknown): string[] {
  if (Array.isArray(value)) return value.filter((v): v is string => typeof v === 'string');
  if (typeof value === 'string') return value.split(/[\s,]+/).filter((v) => v !== '');
  return [];
}

/** A dotted claim name reaches into objects (Keycloak's `realm_access.roles`). */
function claim(payload: JWTPayload, name: string): unknown {
  let value: unknown = payload;
  for (const part of name.split('.')) {
    if (typeof value !== 'object' || value === null) return undefined;
    value = (value as Record<string, unknown>)[part];
  }
  return value;
}

export type ClaimVerdict = { principal: Principal } | { problem: string };

export function principalFromClaims(payload: JWTPayload, mapping: ClaimMapping): ClaimVerdict {
  const subject = claim(payload, mapping.usernameClaim);
  if (typeof subject !== 'string' || subject === '') return { problem: `the token has no ${mapping.usernameClaim} claim` };
  const roles = claimValues(claim(payload, mapping.rolesClaim));
  if (roles.some((r) => mapping.operatorRoles.includes(r))) return { principal: { subject, role: 'operator' } };
  if (mapping.userRoles.length === 0 || roles.some((r) => mapping.userRoles.includes(r))) return { principal: { subject, role: 'user' } };
  // Known, but with no role: every action answers 403.
  return { principal: { subject } };
}
