/**
 * The I/O edge of access control in the server: an onRequest hook per route
 * (before the body is parsed or validated: an anonymous caller learns nothing
 * from a body's errors, and no unauthenticated body is parsed) that
 * identifies the caller and checks its right to the route's action, and the
 * per-job check the job routes make once they know the job.
 */
import type { FastifyReply, FastifyRequest, onRequestAsyncHookHandler } from 'fastify';
import { hasManagedLabel, isJobId, ANNOTATIONS } from '../../lib/contract.js';
import { findProcess, type ApiContext } from '../context.js';
import { costLikeUnknownId, lookUpJob, type FoundJob } from '../jobs/job-lookup.js';
import { noSuchJob } from '../ogc/exceptions.js';
import { decideAccess, visibleTo, type Action, type Grant, type JobFacts, type Principal } from './access.js';
import type { Authenticator } from './authenticator.js';
import { forbidden, unauthenticated } from './errors.js';

export interface RequestAccess {
  principal: Principal;
  grant: Grant;
}

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by the route's guard; absent on public routes. */
    access?: RequestAccess;
  }
}

async function identified(auth: Authenticator, request: FastifyRequest): Promise<Principal> {
  const who = await auth.identify(request.headers.authorization);
  if (who.principal) return who.principal;
  request.log.info({ problem: who.problem }, 'request not authenticated');
  throw unauthenticated(who.invalid);
}

/** The guard of a route that does `action`: 401 without valid credentials, 403 without the right. */
export function guard(auth: Authenticator, action: Action): onRequestAsyncHookHandler {
  return async (request: FastifyRequest, _reply: FastifyReply) => {
    const principal = await identified(auth, request);
    const grant = await auth.grant(principal, action);
    const decision = decideAccess(principal, grant, action);
    if (!decision.allow) throw forbidden(decision.reason);
    request.access = { principal, grant };
  };
}

/** The guard of the discovery routes: open when PYGEOAPI_K8S_MANAGER_AUTH_PUBLIC_DISCOVERY is true, else any valid caller. */
export function discoveryGuard(auth: Authenticator): onRequestAsyncHookHandler {
  return async (request: FastifyRequest, _reply: FastifyReply) => {
    if (auth.publicDiscovery) return;
    await identified(auth, request);
  };
}

/** Who owns a job: the Job's annotation (kept by its tombstone once it is deleted), else the archived record's. */
export function ownerOf(context: ApiContext, jobId: string, found?: FoundJob): string | undefined {
  const annotated = found?.job ? found.job.metadata?.annotations?.[ANNOTATIONS.owner] : context.jobs.owner(jobId);
  return annotated ?? (found?.record ?? context.archive?.record(jobId))?.owner;
}

function factsOf(context: ApiContext, jobId: string, found: FoundJob): JobFacts {
  const processId = found.status.processID;
  const process = processId ? findProcess(context, processId) : undefined;
  const owner = ownerOf(context, jobId, found);
  return {
    ...(owner !== undefined ? { owner } : {}),
    // A Job gone from the cluster cannot be deleted by anyone; only a live one must carry the label.
    labelled: found.job ? hasManagedLabel(found.job.metadata) : true,
    dismissible: process?.metadata.jobControlOptions.includes('dismiss') ?? false,
  };
}

/**
 * The job of a /jobs/{jobId} route, if the caller may do `action` to it. An id
 * that is not a job id's shape is never looked up; a job the caller may not
 * see is answered exactly like one that does not exist: the same document,
 * after the same archive read.
 */
export async function authorizedJob(context: ApiContext, request: FastifyRequest, jobId: string, action: Action): Promise<FoundJob> {
  if (!isJobId(jobId)) throw noSuchJob(jobId);
  const lookup = await lookUpJob(context, jobId);
  const found = lookup.found;
  if (!found) throw noSuchJob(jobId);
  const access = request.access;
  if (!access) return found;
  const decision = decideAccess(access.principal, access.grant, action, factsOf(context, jobId, found));
  if (decision.allow) return found;
  if (decision.status === 404) {
    await costLikeUnknownId(context, jobId, lookup);
    throw noSuchJob(jobId);
  }
  throw forbidden(decision.reason);
}

/** Whether the caller of a guarded request sees the job (for lists). */
export function seesJob(context: ApiContext, request: FastifyRequest, jobId: string, listedOwner?: string): boolean {
  const access = request.access;
  if (!access) return true;
  return visibleTo(access.principal.subject, access.grant, listedOwner ?? ownerOf(context, jobId));
}
