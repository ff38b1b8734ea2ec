/** /jobs, /jobs/{jobId}, its results, its logs, and dismissal. */
import type { FastifyInstance, FastifyReply } from 'fastify';
import { PassThrough } from 'node:stream';
import type { V1Pod } from '@kubernetes/client-node';
import { jobNameFor } from '../../lib/contract.js';
import type { ApiContext } from '../context.js';
import { jobLinks, link } from '../ogc/links.js';
import { authorizedJob, guard, seesJob } from '../auth/guard.js';
import { ROUTE_SCHEMAS } from '../ogc/openapi-schemas.js';
import { jobResultsAnswer, jobResultsDocument, sendAnswer } from '../jobs/results-document.js';
import { parseJobListQuery } from '../jobs/list-query.js';
import { jobPage as listJobs, type JobPage, type ListedJob } from '../jobs/job-listing.js';
import { encodeCursor, selectionOf } from '../../lib/archive/history-layout.js';
import type { StatusInfo } from '../../lib/job-status.js';
import { createHash } from 'node:crypto';
import { GenerationalCache } from '../../lib/generational-cache.js';
import { crossSiteRefused, OgcError } from '../ogc/exceptions.js';
import { crossSiteForm, formatOf, permissionsOf, queryOf, sendHtml, siteOf } from '../html/respond.js';
import { jobListPage, jobPage, type JobListFilters, type ResultsView } from '../html/job-pages.js';

/** Job documents kept for /jobs and /jobs/{id}, counted as their JSON plus DOCUMENT_OVERHEAD_BYTES (some 9 000 jobs). */
export const DOCUMENT_MEMO_BYTES = 8 * 1024 * 1024;
/** What a memoised document costs beyond its JSON: its ETag, its record, its map slot and the status object it keeps alive. */
const DOCUMENT_OVERHEAD_BYTES = 400;

/** Why a container's log cannot be read, in plain words (the client error itself goes to the log). */
export function logUnavailable(pod: V1Pod, container: string, error: unknown): string {
  const status = [...(pod.status?.initContainerStatuses ?? []), ...(pod.status?.containerStatuses ?? [])].find((c) => c.name === container);
  const waiting = status?.state?.waiting;
  if (waiting && !status?.lastState?.terminated) return `container "${container}" has not started yet${waiting.reason ? ` (${waiting.reason})` : ''}`;
  if (!status) return `container "${container}" has not started yet`;
  const code = (error as { code?: unknown }).code;
  if (code === 404) return `pod ${pod.metadata?.name ?? ''} no longer exists`;
  if (code === 403) return 'the server is not allowed to read pod logs (check its RBAC role)';
  return 'the Kubernetes API did not return it; try again later';
}

/** The filters of a /jobs query as the page's form shows them. */
function filtersOf(query: Record<string, unknown>): JobListFilters {
  const list = (v: unknown): string[] | undefined => (v === undefined ? undefined : (Array.isArray(v) ? v : [v]).flatMap((x) => String(x).split(',')).filter(Boolean));
  const text = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
  return {
    ...(list(query.status) ? { status: list(query.status) } : {}),
    ...(list(query.processID) ? { processID: list(query.processID) } : {}),
    ...(text(query.datetime) ? { datetime: text(query.datetime) } : {}),
    ...(text(query.minDuration) ? { minDuration: text(query.minDuration) } : {}),
    ...(text(query.maxDuration) ? { maxDuration: text(query.maxDuration) } : {}),
    ...(text(query.limit) ? { limit: text(query.limit) } : {}),
  };
}

/** /jobs with the request's filters, at another position (offset, after and before replaced). */
function listPath(query: Record<string, unknown>, position: { after?: string; before?: string }, limit?: number): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) {
    if (position.after || position.before ? ['offset', 'after', 'before'].includes(k) : false) continue;
    for (const value of Array.isArray(v) ? v : [v]) q.append(k, String(value));
  }
  if (position.after) q.set('after', position.after);
  if (position.before) q.set('before', position.before);
  if (limit !== undefined) q.set('limit', String(limit));
  return `/jobs?${q.toString()}`;
}

export function jobRoutes(app: FastifyInstance, context: ApiContext): void {
  const base = context.config.server.url;
  const withLinks = (listed: ListedJob): StatusInfo => {
    // The owner of an archived entry decides who sees it; it is not part of the status document.
    const { owner: _owner, ...status } = listed as ListedJob & { owner?: string };
    return { ...context.progress.apply(status as StatusInfo), links: jobLinks(base, status.jobID, status.status) };
  };
  /**
   * The JSON of a job's document and its ETag, made once per status object:
   * the cache and the history index replace a job's status object when it
   * changes, so identity is the version. A running job's live progress is
   * not in that object, so its document is made afresh. Bound:
   * DOCUMENT_MEMO_BYTES, the documents not read for longest dropped (without
   * a bound, every archived job listed would hold its document next to its
   * entry: twice the history cache).
   */
  const documents = new GenerationalCache<ListedJob, { json: string; etag: string }>(DOCUMENT_MEMO_BYTES, (memo) => memo.json.length + DOCUMENT_OVERHEAD_BYTES);
  const documentOf = (listed: ListedJob): { json: string; etag: string } => {
    const memo = documents.get(listed);
    if (memo) return memo;
    const json = JSON.stringify(withLinks(listed));
    const made = { json, etag: `"${createHash('sha1').update(json).digest('base64url')}"` };
    if (context.progress.apply(listed as StatusInfo) === listed) documents.set(listed, made);
    return made;
  };

  const auth = context.auth;
  app.get<{ Querystring: Record<string, unknown> }>('/jobs', { schema: ROUTE_SCHEMAS.jobs, onRequest: guard(auth, 'list') }, async (request, reply) => {
    const { defaultItems, maxItems } = context.config.server.limits;
    // The filter form sends empty fields for filters left open.
    const given = Object.fromEntries(Object.entries(request.query).filter(([k, v]) => k !== 'f' && v !== ''));
    const query = parseJobListQuery(given, defaultItems, maxItems);
    const archived = context.archive?.entries({
      ...(query.after ? { after: query.after } : {}),
      ...(query.before ? { before: query.before } : {}),
      ...(query.datetime?.start !== undefined ? { start: query.datetime.start } : {}),
      ...(query.datetime?.end !== undefined ? { end: query.datetime.end } : {}),
      ...(query.processID ? { processID: query.processID } : {}),
      ...(query.status ? { status: query.status } : {}),
    });
    // A caller who does not see every job sees its own: live ones by the Job's owner annotation, archived ones by the entry's.
    const visible =
      request.access?.grant.seesAll === false
        ? (job: ListedJob): boolean => seesJob(context, request, job.jobID, (job as ListedJob & { owner?: string }).owner)
        : undefined;
    // Filtered by process or status: the live jobs that match, kept between requests while no job changes.
    const selection = selectionOf(query);
    const live = selection ? context.jobs.listedWhere(selection) : context.jobs.listed();
    let selected: JobPage;
    try {
      selected = await listJobs(live, archived, (id) => context.jobs.status(id) !== undefined, query, Date.now(), visible);
    } catch (error) {
      // The archive is unreachable: the live jobs are still worth listing.
      request.log.warn({ err: error }, 'could not read the job history; listing live jobs only');
      selected = await listJobs(live, undefined, () => false, query, Date.now(), visible);
    }
    const links = [link(base, listPath(given, {}, query.limit), 'self')];
    // Pages are positions between jobs, not counts: stable while jobs are added and archived.
    const first = selected.items[0];
    const last = selected.items[selected.items.length - 1];
    const positionOf = (job: ListedJob): string => encodeCursor({ created: job.created ?? '', jobID: job.jobID });
    const moreAfter = query.before ? true : selected.hasMore;
    const moreBefore = query.before ? selected.hasMore : query.after !== undefined || query.offset > 0;
    if (moreAfter && last) links.push(link(base, listPath(given, { after: positionOf(last) }, query.limit), 'next'));
    if (moreBefore && first) links.push(link(base, listPath(given, { before: positionOf(first) }, query.limit), 'prev'));
    links.push(link(base, `${listPath(given, {}, query.limit)}&f=html`, 'alternate', 'text/html', 'this list as HTML'));
    if (formatOf(request) === 'html') {
      const processIds = context.config.processes.map((p) => p.id);
      return sendHtml(reply, jobListPage(siteOf(context), selected.items.map(withLinks), links, filtersOf(given), processIds, queryOf(request), Date.now()));
    }
    // Made of each job's memoised JSON: the same bytes as serializing { jobs, links }, without serializing every job
    // again, joined once into one flat string (a rope would be flattened again to count its bytes).
    const parts: string[] = ['{"jobs":['];
    for (const [i, job] of selected.items.entries()) parts.push(i ? ',' : '', documentOf(job).json);
    parts.push('],"links":', JSON.stringify(links), '}');
    return reply.type('application/json; charset=utf-8').send(parts.join(''));
  });

  app.get<{ Params: { jobId: string } }>('/jobs/:jobId', { schema: ROUTE_SCHEMAS.job, onRequest: guard(auth, 'status') }, async (request, reply) => {
    const found = await authorizedJob(context, request, request.params.jobId, 'status');
    if (formatOf(request) === 'html') {
      const status = withLinks(found.status);
      const results: ResultsView = {};
      if (status.status === 'successful') {
        try {
          results.outputs = await jobResultsDocument(context, status.jobID);
        } catch (error) {
          if (!(error instanceof OgcError)) throw error;
          results.problem = error.message;
        }
      }
      return sendHtml(reply, jobPage(siteOf(context), status, await permissionsOf(context, request), results, Date.now()));
    }
    // Pages poll this: an unchanged status answers 304 to If-None-Match.
    const { json, etag } = documentOf(found.status);
    reply.header('etag', etag).header('cache-control', 'no-cache').header('vary', 'accept');
    if (request.headers['if-none-match'] === etag) return reply.code(304).send();
    return reply.type('application/json; charset=utf-8').send(json);
  });

  // The dismiss button of the job page (a form cannot send DELETE); answers with the page.
  app.post<{ Params: { jobId: string } }>('/jobs/:jobId/dismiss', { schema: { hide: true }, onRequest: guard(auth, 'dismiss') }, async (request, reply) => {
    if (crossSiteForm(request.headers, base)) throw crossSiteRefused();
    const found = await authorizedJob(context, request, request.params.jobId, 'dismiss');
    if (found.job) await context.client.dismiss(found.job.metadata?.name ?? jobNameFor(found.status.jobID, context.config.settings.jobNamePrefix), new Date());
    return reply.code(303).header('location', `${siteOf(context).root}/jobs/${found.status.jobID}`).send();
  });

  app.delete<{ Params: { jobId: string } }>('/jobs/:jobId', { schema: ROUTE_SCHEMAS.dismiss, onRequest: guard(auth, 'dismiss') }, async (request) => {
    const jobId = request.params.jobId;
    const found = await authorizedJob(context, request, jobId, 'dismiss');
    if (found.job) await context.client.dismiss(found.job.metadata?.name ?? jobNameFor(jobId, context.config.settings.jobNamePrefix), new Date());
    const now = new Date().toISOString();
    return withLinks({ ...found.status, status: 'dismissed', message: 'dismissed by request', finished: found.status.finished ?? now, updated: now, progress: 100 });
  });

  app.get<{ Params: { jobId: string } }>('/jobs/:jobId/results', { schema: ROUTE_SCHEMAS.results, onRequest: guard(auth, 'results') }, async (request, reply) => {
    const found = await authorizedJob(context, request, request.params.jobId, 'results');
    return sendAnswer(reply, await jobResultsAnswer(context, request.params.jobId, found));
  });

  app.get<{ Params: { jobId: string } }>('/jobs/:jobId/logs', { schema: ROUTE_SCHEMAS.logs, onRequest: guard(auth, 'logs') }, async (request, reply: FastifyReply) => {
    const jobId = request.params.jobId;
    const found = await authorizedJob(context, request, jobId, 'logs');
    const out = new PassThrough();
    reply.type('text/plain; charset=utf-8').send(out);
    const pods = found.job ? context.jobs.objects(found.job).pods : [];
    try {
      if (pods.length) {
        for (const pod of pods) {
          for (const container of [...(pod.spec?.initContainers ?? []), ...(pod.spec?.containers ?? [])]) {
            out.write(`==> pod ${pod.metadata?.name ?? ''}, container ${container.name} <==\n`);
            try {
              for await (const chunk of await context.client.containerLog(pod.metadata?.name ?? '', container.name)) out.write(chunk);
            } catch (error) {
              request.log.warn({ err: error, pod: pod.metadata?.name, container: container.name }, 'reading a container log failed');
              out.write(`(log not available: ${logUnavailable(pod, container.name, error)})\n`);
            }
          }
        }
      } else if (found.record && context.archive) {
        for (const entry of found.record.logs) {
          out.write(`==> pod ${entry.pod}, container ${entry.container}${entry.previous ? ' (previous)' : ''} <==\n`);
          const stream = await context.archive.reader.stream(entry.key);
          if (stream) for await (const chunk of stream) out.write(chunk);
          else out.write('(archived log missing)\n');
        }
      } else out.write('(no log available: the job has no pods and no archive)\n');
    } finally {
      out.end();
    }
    return reply;
  });
}
