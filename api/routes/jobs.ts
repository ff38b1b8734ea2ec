/** /jobs, /jobs/{jobId}, its results, its logs, and dismissal. */
import type { FastifyInstance, FastifyReply } from 'fastify';
import { PassThrough } from 'node:stream';
import { jobNameFor } from '../../lib/contract.js';
import type { ApiContext } from '../context.js';
import { jobLinks, link } from '../ogc/links.js';
import { findJob } from '../jobs/job-lookup.js';
import { jobResultsDocument } from '../jobs/results-document.js';
import { parseJobListQuery } from '../jobs/list-query.js';
import { jobPage, type JobPage, type ListedJob } from '../jobs/job-listing.js';
import { encodeCursor } from '../../lib/archive/history-layout.js';
import type { StatusInfo } from '../../lib/job-status.js';

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
  const withLinks = (status: ListedJob): StatusInfo => ({ ...status, links: jobLinks(base, status.jobID, status.status) });

  app.get<{ Querystring: Record<string, unknown> }>('/jobs', { schema: { summary: 'List jobs', tags: ['Jobs'] } }, async (request) => {
    const { defaultItems, maxItems } = context.config.server.limits;
    const query = parseJobListQuery(request.query, defaultItems, maxItems);
    const archived = context.archive?.entries({
      ...(query.after ? { after: query.after } : {}),
      ...(query.before ? { before: query.before } : {}),
      ...(query.datetime?.start !== undefined ? { start: query.datetime.start } : {}),
      ...(query.datetime?.end !== undefined ? { end: query.datetime.end } : {}),
    });
    let selected: JobPage;
    try {
      selected = await jobPage(context.jobs.allStatuses(), archived, (id) => context.jobs.status(id) !== undefined, query, Date.now());
    } catch (error) {
      // The archive is unreachable: the live jobs are still worth listing.
      request.log.warn({ err: error }, 'could not read the job history; listing live jobs only');
      selected = await jobPage(context.jobs.allStatuses(), undefined, () => false, query, Date.now());
    }
    const links = [link(base, listPath(request.query, {}, query.limit), 'self')];
    // Pages are positions between jobs, not counts: stable while jobs are added and archived.
    const first = selected.items[0];
    const last = selected.items[selected.items.length - 1];
    const positionOf = (job: ListedJob): string => encodeCursor({ created: job.created ?? '', jobID: job.jobID });
    const moreAfter = query.before ? true : selected.hasMore;
    const moreBefore = query.before ? selected.hasMore : query.after !== undefined || query.offset > 0;
    if (moreAfter && last) links.push(link(base, listPath(request.query, { after: positionOf(last) }, query.limit), 'next'));
    if (moreBefore && first) links.push(link(base, listPath(request.query, { before: positionOf(first) }, query.limit), 'prev'));
    return { jobs: selected.items.map(withLinks), links };
  });

  app.get<{ Params: { jobId: string } }>('/jobs/:jobId', { schema: { summary: 'Status of a job', tags: ['Jobs'] } }, async (request) => {
    const found = await findJob(context, request.params.jobId);
    return withLinks(found.status);
  });

  app.delete<{ Params: { jobId: string } }>('/jobs/:jobId', { schema: { summary: 'Dismiss a job', tags: ['Jobs'] } }, async (request) => {
    const jobId = request.params.jobId;
    const found = await findJob(context, jobId);
    if (found.job) await context.client.dismiss(found.job.metadata?.name ?? jobNameFor(jobId, context.config.settings.jobNamePrefix), new Date());
    const now = new Date().toISOString();
    return withLinks({ ...found.status, status: 'dismissed', message: 'dismissed by request', finished: found.status.finished ?? now, updated: now, progress: 100 });
  });

  app.get<{ Params: { jobId: string } }>('/jobs/:jobId/results', { schema: { summary: 'Results of a job', tags: ['Jobs'] } }, async (request) =>
    jobResultsDocument(context, request.params.jobId),
  );

  app.get<{ Params: { jobId: string } }>('/jobs/:jobId/logs', { schema: { summary: 'Log of a job', tags: ['Jobs'] } }, async (request, reply: FastifyReply) => {
    const jobId = request.params.jobId;
    const found = await findJob(context, jobId);
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
              out.write(`(log not available: ${(error as Error).message})\n`);
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
