/**
 * `kubernetes` mode's I/O edge: TokenReview (who is this token?) and
 * SubjectAccessReview (may this user do that in the jobs namespace?) against
 * the API server, each answer reused for a few seconds.
 *
 * Caches are keyed by the SHA-256 of the token (never the token in clear),
 * and SAR answers by the user and the check. Concurrent requests with the same
 * key share one review in flight.
 */
import type { V1SubjectAccessReview, V1TokenReview } from '@kubernetes/client-node';
import { isApiError, type KubeHttp } from '../../lib/kube/http.js';
import { unavailable } from '../ogc/exceptions.js';
import type { Principal, ResourceCheck } from './access.js';
import { credentialKey } from './bearer.js';
import { TtlCache } from './ttl-cache.js';

/** Bound of each cache: enough for every active caller of a busy deployment; least recently used go first. */
const MAX_CACHED = 10_000;

export interface ReviewClient {
  /** The principal the token belongs to; undefined when the API server says it is not valid. */
  authenticate(token: string): Promise<Principal | undefined>;
  /** Whether RBAC allows the check for the principal in the namespace. */
  allowed(principal: Principal, check: ResourceCheck): Promise<boolean>;
}

export class KubernetesReviews implements ReviewClient {
  // Both bounded by MAX_CACHED (LRU) and expiring after cacheSeconds.
  private readonly tokens: TtlCache<Principal | null>;
  private readonly decisions: TtlCache<boolean>;
  // In flight only: an entry lives until its review answers.
  private readonly pending = new Map<string, Promise<unknown>>();
  /** Reviews sent to the API server so far (cache misses). */
  sent = 0;

  constructor(
    private readonly http: KubeHttp,
    private readonly namespace: string,
    cacheSeconds: number,
  ) {
    this.tokens = new TtlCache(MAX_CACHED, cacheSeconds * 1000);
    this.decisions = new TtlCache(MAX_CACHED, cacheSeconds * 1000);
  }

  async authenticate(token: string): Promise<Principal | undefined> {
    const key = `t:${credentialKey(token)}`;
    const cached = this.tokens.get(key);
    if (cached !== undefined) return cached ?? undefined;
    const principal = await this.once(key, async () => {
      const body: V1TokenReview = { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenReview', spec: { token } };
      const review = await this.call<V1TokenReview>('reviewing a token', () => this.http.request({ method: 'POST', path: '/apis/authentication.k8s.io/v1/tokenreviews', body }));
      const status = review.status;
      const user = status?.user;
      const found: Principal | null =
        status?.authenticated === true && user?.username
          ? {
              subject: user.username,
              groups: user.groups ?? [],
              ...(user.uid ? { uid: user.uid } : {}),
              ...(user.extra ? { extra: user.extra } : {}),
            }
          : null;
      this.tokens.set(key, found);
      return found;
    });
    return principal ?? undefined;
  }

  async allowed(principal: Principal, check: ResourceCheck): Promise<boolean> {
    const key = `a:${credentialKey(JSON.stringify([principal.subject, principal.uid, principal.groups, principal.extra, check]))}`;
    const cached = this.decisions.get(key);
    if (cached !== undefined) return cached;
    return this.once(key, async () => {
      const body: V1SubjectAccessReview = {
        apiVersion: 'authorization.k8s.io/v1',
        kind: 'SubjectAccessReview',
        spec: {
          user: principal.subject,
          groups: principal.groups ?? [],
          ...(principal.uid ? { uid: principal.uid } : {}),
          ...(principal.extra ? { extra: principal.extra } : {}),
          resourceAttributes: {
            namespace: this.namespace,
            verb: check.verb,
            group: check.group,
            resource: check.resource,
            ...(check.subresource ? { subresource: check.subresource } : {}),
          },
        },
      };
      const review = await this.call<V1SubjectAccessReview>('checking a right', () =>
        this.http.request({ method: 'POST', path: '/apis/authorization.k8s.io/v1/subjectaccessreviews', body }),
      );
      const allowed = review.status?.allowed === true && review.status.denied !== true;
      this.decisions.set(key, allowed);
      return allowed;
    });
  }

  private once<T>(key: string, work: () => Promise<T>): Promise<T> {
    const running = this.pending.get(key);
    if (running) return running as Promise<T>;
    const started = work().finally(() => this.pending.delete(key));
    this.pending.set(key, started);
    return started;
  }

  /** A review the API server cannot answer is the server's problem, not the caller's: 503, never a 500 or a 401. */
  private async call<T>(doing: string, request: () => Promise<T>): Promise<T> {
    this.sent += 1;
    try {
      return await request();
    } catch (error) {
      throw unavailable(`Kubernetes API could not answer while ${doing}${isApiError(error) ? ` (HTTP ${error.code})` : ''}`);
    }
  }
}
