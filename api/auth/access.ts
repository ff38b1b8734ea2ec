/**
 * Who may do what to which job: the access decisions of every mode, pure.
 * The edges (api/auth/guard.ts) find the caller and the job; this decides.
 */
import type { Role } from '../../lib/config/auth-settings.js';

/** What a route does, in the terms rights are given in. */
export type Action = 'execute' | 'list' | 'status' | 'results' | 'logs' | 'dismiss';
export const ACTIONS: readonly Action[] = ['execute', 'list', 'status', 'results', 'logs', 'dismiss'];

/** An authenticated caller. `subject` is stable (username, token name, OIDC subject) and becomes the job owner. */
export interface Principal {
  subject: string;
  /** `token` and `oidc` modes; `kubernetes` mode asks RBAC instead. */
  role?: Role;
  /** `kubernetes` mode: what the TokenReview said, for the SubjectAccessReviews. */
  groups?: string[];
  uid?: string;
  extra?: Record<string, string[]>;
}

/** What a caller may do for one action: whether at all, and whether for every job or only its own. */
export interface Grant {
  mayDo: boolean;
  seesAll: boolean;
}

/** The facts about a job that access depends on. */
export interface JobFacts {
  /** Undefined for jobs made before owners existed, or by the Python manager: only those who see all see them. */
  owner?: string;
  /** Carries the contract label (the API never deletes a Job it does not manage). */
  labelled: boolean;
  /** Its process lists `dismiss` in jobControlOptions. */
  dismissible: boolean;
}

export type Decision =
  | { allow: true }
  | { allow: false; status: 401 | 403 | 404; reason: string };

const ROLE_ACTIONS: Readonly<Record<Role, readonly Action[]>> = {
  user: ['execute', 'list', 'status', 'results', 'dismiss'],
  operator: ACTIONS,
};

/** `token` and `oidc` modes: rights follow the role; only operators see every job. */
export function roleGrant(role: Role, action: Action): Grant {
  return { mayDo: ROLE_ACTIONS[role].includes(action), seesAll: role === 'operator' };
}

/** Whether a caller with this grant sees a job of this owner at all (for listing and for 404). */
export function visibleTo(subject: string, grant: Grant, owner: string | undefined): boolean {
  return grant.seesAll || (owner !== undefined && owner === subject);
}

/**
 * The answer for one request. Order matters: no credentials → 401; no right
 * to the action at all → 403, the same for every id; a job the caller may not
 * see → 404, exactly as for a job that does not exist; then what the job
 * itself allows.
 */
export function decideAccess(principal: Principal | undefined, grant: Grant, action: Action, job?: JobFacts): Decision {
  if (!principal) return { allow: false, status: 401, reason: 'credentials are missing or not valid' };
  if (!grant.mayDo) return { allow: false, status: 403, reason: `${principal.subject} may not ${describe(action)}` };
  if (job === undefined) return { allow: true };
  if (!visibleTo(principal.subject, grant, job.owner)) return { allow: false, status: 404, reason: 'not visible' };
  if (action === 'dismiss') {
    if (!job.labelled) return { allow: false, status: 403, reason: 'the job is not managed by this API (no pygeoapi.io/managed label); delete it with kubectl' };
    if (!job.dismissible) return { allow: false, status: 403, reason: "the job's process does not allow dismiss (jobControlOptions)" };
  }
  return { allow: true };
}

function describe(action: Action): string {
  switch (action) {
    case 'execute':
      return 'execute processes';
    case 'list':
      return 'list jobs';
    case 'status':
      return 'read job status';
    case 'results':
      return 'read job results';
    case 'logs':
      return 'read job logs (operators only)';
    case 'dismiss':
      return 'dismiss jobs';
  }
}

/** `kubernetes` mode: the RBAC check each action maps to, in the jobs namespace. */
export interface ResourceCheck {
  verb: string;
  group: string;
  resource: string;
  subresource?: string;
}

export function rbacCheckFor(action: Action): ResourceCheck {
  switch (action) {
    case 'execute':
      return { verb: 'create', group: 'batch', resource: 'jobs' };
    case 'list':
      return { verb: 'list', group: 'batch', resource: 'jobs' };
    case 'status':
    case 'results':
      return { verb: 'get', group: 'batch', resource: 'jobs' };
    case 'logs':
      return OPERATOR_CHECK;
    case 'dismiss':
      return { verb: 'delete', group: 'batch', resource: 'jobs' };
  }
}

/** `kubernetes` mode: the right that makes a caller an operator (sees all jobs, reads logs). */
export const OPERATOR_CHECK: ResourceCheck = { verb: 'get', group: '', resource: 'pods', subresource: 'log' };
