/**
 * One authenticator per deployment, chosen by PYGEOAPI_K8S_MANAGER_AUTH_MODE:
 * who the caller of a request is, and what it may do for an action.
 */
import type { KubeAccess } from '../../lib/kube/kube-access.js';
import type { AuthMode, StaticToken } from '../../lib/config/auth-settings.js';
import type { AuthSettings } from '../../lib/config/types.js';
import { OPERATOR_CHECK, rbacCheckFor, roleGrant, type Action, type Grant, type Principal } from './access.js';
import { KubeHttp } from '../../lib/kube/http.js';
import { bearerToken, matchStaticToken } from './bearer.js';
import { KubernetesReviews, type ReviewClient } from './kubernetes-reviews.js';
import { OidcVerifier } from './oidc.js';

/** Who called: a principal, or nobody (with `invalid` when credentials were sent but refused, and why, for the log). */
export type Identification = { principal: Principal } | { principal?: undefined; invalid: boolean; problem: string };

export interface Authenticator {
  readonly mode: AuthMode;
  readonly publicDiscovery: boolean;
  identify(authorization: string | string[] | undefined): Promise<Identification>;
  grant(principal: Principal, action: Action): Promise<Grant>;
  /** The owner recorded on jobs this principal executes; undefined in `none` mode. */
  ownerOf(principal: Principal): string | undefined;
}

/** `none` mode's single caller. */
export const ANONYMOUS: Principal = Object.freeze({ subject: 'anonymous' });

export interface AuthenticatorOptions {
  settings: AuthSettings;
  tokens?: readonly StaticToken[];
  kubeConfig: KubeAccess;
  /** The part's shared client for the API server's reviews; default: one of its own on kubeConfig. */
  http?: KubeHttp;
  namespace: string;
  /** `oidc` mode: least time between two fetches of the keys for unknown kids (default 30 s; tests shorten it). */
  oidcKeyCooldownMs?: number;
  /** Replaces the API server's reviews (benchmarks count calls through it); defaults to KubernetesReviews. */
  reviews?: ReviewClient;
}

export function createAuthenticator(options: AuthenticatorOptions): Authenticator {
  const { settings } = options;
  const base = { mode: settings.mode, publicDiscovery: settings.publicDiscovery, ownerOf: (p: Principal) => p.subject };
  const missing = { invalid: false, problem: 'no bearer token' } as const;
  const malformed = { invalid: true, problem: 'the Authorization header is not a bearer token' } as const;
  /** What every bearer mode does first: no header → missing, another scheme → malformed, else `check` decides. */
  const fromBearer =
    (check: (token: string) => Promise<Identification>) =>
    async (header: string | string[] | undefined): Promise<Identification> => {
      const token = bearerToken(header);
      if (token === undefined) return missing;
      if (token === null) return malformed;
      return check(token);
    };

  switch (settings.mode) {
    case 'none':
      return {
        ...base,
        identify: async () => ({ principal: ANONYMOUS }),
        grant: async () => ({ mayDo: true, seesAll: true }),
        ownerOf: () => undefined,
      };
    case 'token': {
      const tokens = options.tokens ?? [];
      return {
        ...base,
        identify: fromBearer(async (token) => {
          const entry = matchStaticToken(tokens, token);
          return entry ? { principal: { subject: entry.name, role: entry.role } } : { invalid: true, problem: 'unknown token' };
        }),
        grant: async (principal, action) => roleGrant(principal.role ?? 'user', action),
      };
    }
    case 'oidc': {
      const verifier = new OidcVerifier(settings.oidc, options.oidcKeyCooldownMs);
      return {
        ...base,
        identify: fromBearer(async (token) => {
          const verdict = await verifier.verify(token);
          return 'principal' in verdict ? verdict : { invalid: true, problem: verdict.problem };
        }),
        // A valid token whose roles claim maps to no role may do nothing (403).
        grant: async (principal, action) => (principal.role ? roleGrant(principal.role, action) : { mayDo: false, seesAll: false }),
      };
    }
    case 'kubernetes': {
      const reviews = options.reviews ?? new KubernetesReviews(options.http ?? new KubeHttp(options.kubeConfig), options.namespace, settings.cacheSeconds);
      return {
        ...base,
        identify: fromBearer(async (token) => {
          const principal = await reviews.authenticate(token);
          return principal ? { principal } : { invalid: true, problem: 'the API server did not authenticate the token' };
        }),
        grant: async (principal, action) => {
          const [mayDo, operator] = await Promise.all([
            reviews.allowed(principal, rbacCheckFor(action)),
            settings.ownerCheck ? reviews.allowed(principal, OPERATOR_CHECK) : Promise.resolve(true),
          ]);
          return { mayDo, seesAll: operator };
        },
      };
    }
  }
}
