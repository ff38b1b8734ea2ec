/**
 * What one client may ask of the API: requests per minute per client
 * address and per principal (@fastify/rate-limit), and unfinished jobs per
 * principal and in total. The principal is the authenticated subject when
 * access control provides one (`request.access.principal.subject`), else the client
 * address: the one place that decides it is `principalOf`.
 */
import { createHash } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import rateLimit from '@fastify/rate-limit';
import type { LimitSettings } from '../lib/config/types.js';
import { ANNOTATIONS } from '../lib/contract.js';
import type { JobCache } from './kube/job-cache.js';
import { OgcError } from './ogc/exceptions.js';

const TYPE_BASE = 'http://www.opengis.net/def/exceptions/ogcapi-processes-1/1.0/';

/** Bound of each rate-limit table (least recently used keys are dropped beyond it). */
export const RATE_LIMIT_KEYS = 10_000;

export const tooManyRequests = (detail: string, retryAfterSeconds: number): OgcError =>
  new OgcError(429, `${TYPE_BASE}too-many-requests`, 'Too many requests', detail, { 'retry-after': String(Math.max(1, retryAfterSeconds)) });

export function principalOf(request: FastifyRequest): string {
  const subject = request.access?.principal.subject;
  return subject !== undefined && subject !== '' ? `subject:${subject}` : `address:${request.ip}`;
}

/** What is stored on a Job to count it against its principal: a digest, so no address or subject is written into the cluster. */
export function principalKey(principal: string): string {
  return createHash('sha256').update(principal).digest('hex').slice(0, 32);
}

export async function registerRateLimits(app: FastifyInstance, limits: LimitSettings): Promise<void> {
  if (limits.requestsPerMinute === 0) return;
  await app.register(rateLimit, { global: false, max: limits.requestsPerMinute, timeWindow: 60_000, cache: RATE_LIMIT_KEYS });
  const byAddress = app.createRateLimit({ keyGenerator: (request) => `address:${request.ip}` });
  const byPrincipal = app.createRateLimit({ keyGenerator: (request) => principalOf(request) });
  const check = async (request: FastifyRequest, limiter: typeof byAddress, who: string): Promise<void> => {
    const limit = await limiter(request);
    if (!limit.isAllowed && limit.isExceeded) {
      throw tooManyRequests(`more than ${limit.max} requests per minute from ${who}; try again in ${limit.ttlInSeconds} s`, limit.ttlInSeconds);
    }
  };
  // The address first, before any other work; the principal once access control has named it.
  app.addHook('onRequest', async (request) => check(request, byAddress, 'this address'));
  app.addHook('preHandler', async (request) => {
    if (principalOf(request).startsWith('subject:')) await check(request, byPrincipal, 'this principal');
  });
}

/** Unfinished jobs, in total and of one principal (by its key); 429 when a cap is reached. */
export function checkActiveJobs(jobs: JobCache, limits: LimitSettings, key: string): void {
  if (limits.maxActiveJobs === 0 && limits.maxActiveJobsPerPrincipal === 0) return;
  let total = 0;
  let mine = 0;
  for (const status of jobs.allStatuses()) {
    if (status.status !== 'accepted' && status.status !== 'running') continue;
    total++;
    if (jobs.job(status.jobID)?.metadata?.annotations?.[ANNOTATIONS.principalKey] === key) mine++;
  }
  if (limits.maxActiveJobsPerPrincipal > 0 && mine >= limits.maxActiveJobsPerPrincipal) {
    throw tooManyRequests(`you have ${mine} unfinished jobs, the most allowed (PYGEOAPI_K8S_MANAGER_MAX_ACTIVE_JOBS_PER_PRINCIPAL); try again when one has finished`, 30);
  }
  if (limits.maxActiveJobs > 0 && total >= limits.maxActiveJobs) {
    throw tooManyRequests(`the server has ${total} unfinished jobs, the most allowed (PYGEOAPI_K8S_MANAGER_MAX_ACTIVE_JOBS); try again later`, 30);
  }
}
