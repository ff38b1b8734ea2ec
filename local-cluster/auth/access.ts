/**
 * Who is asking and whether they may: the authentication and authorization
 * steps of the real server's handler chain. Bearer tokens (the admin token of
 * the kubeconfig, ServiceAccount tokens) identify users; requests without
 * one are `system:anonymous`; a token that does not check out is a 401.
 * Impersonation headers (`kubectl --as`) switch the user after an
 * `impersonate` check. With enforcement on, RBAC decides every request; with
 * it off (the default, for quick experiments) every request is allowed, as
 * with the AlwaysAllow authorizer — reviews (`kubectl auth can-i`,
 * SubjectAccessReview) answer by RBAC either way.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { ApiError } from '../api-server/errors.js';
import type { ObjectStore } from '../api-server/store.js';
import { CLUSTER_ROLE, CLUSTER_ROLE_BINDING, ROLE, ROLE_BINDING } from '../api-server/resources.js';
import { authorize, forbiddenMessage, type Attributes, type Decision, type RbacPolicy, type UserInfo } from './rbac.js';
import { serviceAccountGroups, type TokenAuthority } from './tokens.js';

/** Receives each request's attributes and RBAC's decision, whether or not it is enforced. */
export type AuditObserver = (attributes: Attributes, decision: Decision) => void;

export const ANONYMOUS: UserInfo = { username: 'system:anonymous', groups: ['system:unauthenticated'] };

export const unauthorized = (): ApiError => new ApiError(401, 'Unauthorized', 'Unauthorized');

function forbiddenError(attributes: Attributes): ApiError {
  const message = forbiddenMessage(attributes);
  if (!attributes.resourceRequest) return new ApiError(403, 'Forbidden', `forbidden: ${message}`, {});
  const qualified = attributes.apiGroup ? `${attributes.resource}.${attributes.apiGroup}` : attributes.resource;
  const subject = attributes.name ? `${qualified} "${attributes.name}"` : qualified;
  return new ApiError(403, 'Forbidden', `${subject} is forbidden: ${message}`, {
    ...(attributes.name ? { name: attributes.name } : {}),
    group: attributes.apiGroup,
    kind: attributes.resource,
  });
}

function headerValues(headers: IncomingHttpHeaders, name: string): string[] {
  const value = headers[name];
  if (value === undefined) return [];
  return (Array.isArray(value) ? value : value.split(',')).map((v) => v.trim()).filter(Boolean);
}

export class AccessControl {
  /** The policy as of one store revision; rebuilt after any write (bound: one snapshot). */
  private cached: { revision: number; policy: RbacPolicy } | undefined;

  constructor(
    private readonly store: ObjectStore,
    readonly tokens: TokenAuthority,
    readonly enforce: boolean,
    /** Told every authorization decision (the audit log's view: who asked for what, and RBAC's answer). */
    private readonly audit?: AuditObserver,
  ) {}

  policy(): RbacPolicy {
    const revision = this.store.currentRevision;
    if (this.cached?.revision !== revision) {
      this.cached = {
        revision,
        policy: {
          roles: this.store.list(ROLE),
          clusterRoles: this.store.list(CLUSTER_ROLE),
          roleBindings: this.store.list(ROLE_BINDING),
          clusterRoleBindings: this.store.list(CLUSTER_ROLE_BINDING),
        },
      };
    }
    return this.cached.policy;
  }

  /** RBAC's answer, whether or not it is enforced. */
  decide(attributes: Attributes): Decision {
    return authorize(this.policy(), attributes);
  }

  /** Throws 403 when enforcement is on and RBAC does not allow the request. */
  check(attributes: Attributes): void {
    if (!this.enforce && !this.audit) return;
    const decision = this.decide(attributes);
    this.audit?.(attributes, decision);
    if (this.enforce && !decision.allowed) throw forbiddenError(attributes);
  }

  /** The request's user: from its bearer token, else anonymous; then impersonation. */
  async authenticate(headers: IncomingHttpHeaders): Promise<UserInfo> {
    const header = headers.authorization;
    let user = ANONYMOUS;
    if (header !== undefined) {
      const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
      if (!match) throw unauthorized();
      const result = await this.tokens.authenticate(match[1]!);
      if ('error' in result) throw unauthorized();
      user = result.user;
    }
    return this.impersonate(user, headers);
  }

  private impersonate(user: UserInfo, headers: IncomingHttpHeaders): UserInfo {
    const [username, ...more] = headerValues(headers, 'impersonate-user');
    const groups = headerValues(headers, 'impersonate-group');
    const uid = headerValues(headers, 'impersonate-uid')[0];
    if (username === undefined) {
      if (groups.length || uid) throw new ApiError(400, 'BadRequest', 'Impersonate-Group and Impersonate-Uid need an Impersonate-User header');
      return user;
    }
    if (more.length) throw new ApiError(400, 'BadRequest', 'only one Impersonate-User header may be given');
    const sa = /^system:serviceaccount:([^:]+):([^:]+)$/.exec(username);
    const userAttributes: Attributes = sa
      ? { user, resourceRequest: true, verb: 'impersonate', apiGroup: '', resource: 'serviceaccounts', namespace: sa[1]!, name: sa[2]! }
      : { user, resourceRequest: true, verb: 'impersonate', apiGroup: '', resource: 'users', name: username };
    this.check(userAttributes);
    for (const group of groups) this.check({ user, resourceRequest: true, verb: 'impersonate', apiGroup: '', resource: 'groups', name: group });
    const impliedGroups = sa ? serviceAccountGroups(sa[1]!).filter((g) => g !== 'system:authenticated') : [];
    const allGroups = [...new Set([...impliedGroups, ...groups])];
    if (username !== 'system:anonymous' && !allGroups.includes('system:authenticated')) allGroups.push('system:authenticated');
    return { username, ...(uid ? { uid } : {}), groups: allGroups };
  }
}
