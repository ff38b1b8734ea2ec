/** /jobs, /jobs/{jobId}, its results, its logs, and dismissal. */
import type { FastifyInstance, FastifyReply } from 'fastify';
import { PassThrough } from 'node:stream';
import type { V1Pod } from '@kubernetes/client-node';
import { jobNameFor } from '../../lib/contract.js';
import type { ApiContext } from '../context.js';
import { jobLinks, link } from '../ogc/links.js';
import { jobResultsDocument } from '../jobs/results-document.js';
import { filterJobs, newestFirst, page, parseJobListQuery } from '../jobs/list-query.js';
import type { StatusInfo } from '../../lib/job-status.js';
import { authorizedJob, guard, seesJob } from '../auth/guard.js';

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

export function jobRoutes(app: FastifyInstance, context: ApiContext): void {
  const base = context.config.server.url;
  const withLinks = (status: StatusInfo): StatusInfo => ({ ...status, links: jobLinks(base, status.jobID, status.status) });

  const auth = context.auth;
  app.get<{ Querystring: Record<string, unknown> }>('/jobs', { schema: { summary: 'List jobs', tags: ['Jobs'] }, preHandler: guard(auth, 'list') }, async (request) => {
    const { defaultItems, maxItems } = context.config.server.limits;
    const query = parseJobListQuery(request.query, defaultItems, maxItems);
    const live = context.jobs.allStatuses();
    const archived = (context.archive?.allStatuses() ?? []).filter((s) => !context.jobs.status(s.jobID));
    const merged = archived.length ? [...live, ...archived].sort(newestFirst) : live;
    const all = request.access?.grant.seesAll === false ? merged.filter((s) => seesJob(context, request, s.jobID)) : merged;
    const selected = page(filterJobs(all, query, Date.now()), query);
    const search = new URLSearchParams(Object.entries(request.query).filter(([k]) => k !== 'offset').map(([k, v]): [string, string] => [k, String(v)]));
    const at = (offset: number): string => {
      const q = new URLSearchParams(search);
      q.set('offset', String(offset));
      q.set('limit', String(query.limit));
      return `/jobs?${q.toString()}`;
    };
    const links = [link(base, at(query.offset), 'self')];
    if (selected.hasNext) links.push(link(base, at(query.offset + query.limit), 'next'));
    if (selected.hasPrev) links.push(link(base, at(Math.max(0, query.offset - query.limit)), 'prev'));
    return { jobs: selected.items.map(withLinks), links };
  });

  app.get<{ Params: { jobId: string } }>('/jobs/:jobId', { schema: { summary: 'Status of a job', tags: ['Jobs'] }, preHandler: guard(auth, 'status') }, async (request) => {
    const found = await authorizedJob(context, request, request.params.jobId, 'status');
    return withLinks(found.status);
  });

  app.delete<{ Params: { jobId: string } }>('/jobs/:jobId', { schema: { summary: 'Dismiss a job', tags: ['Jobs'] }, preHandler: guard(auth, 'dismiss') }, async (request) => {
    const jobId = request.params.jobId;
    const found = await authorizedJob(context, request, jobId, 'dismiss');
    if (found.job) await context.client.dismiss(found.job.metadata?.name ?? jobNameFor(jobId, context.config.settings.jobNamePrefix), new Date());
    const now = new Date().toISOString();
    return withLinks({ ...found.status, status: 'dismissed', message: 'dismissed by request', finished: found.status.finished ?? now, updated: now, progress: 100 });
  });

  app.get<{ Params: { jobId: string } }>('/jobs/:jobId/results', { schema: { summary: 'Results of a job', tags: ['Jobs'] }, preHandler: guard(auth, 'results') }, async (request) => {
    await authorizedJob(context, request, request.params.jobId, 'results');
    return jobResultsDocument(context, request.params.jobId);
  });

  app.get<{ Params: { jobId: string } }>('/jobs/:jobId/logs', { schema: { summary: 'Log of a job', tags: ['Jobs'] }, preHandler: guard(auth, 'logs') }, async (request, reply: FastifyReply) => {
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
