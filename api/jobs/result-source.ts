/**
 * Where a finished job's result comes from, best first: the annotations the
 * controller wrote (or the S3 object they point to), the archived job record,
 * and finally the markers in the live pod log — so results work with or
 * without S3 and the controller.
 */
import type { V1Job } from '@kubernetes/client-node';
import { ANNOTATIONS, jobNameFor } from '../../lib/contract.js';
import { ResultMarkerScanner } from '../../lib/result-markers.js';
import type { ApiContext } from '../context.js';
import { omittedAnnotations } from '../kube/job-projection.js';
import type { FoundJob } from './job-lookup.js';
import type { JobResult } from './results.js';

async function fromPodLogs(context: ApiContext, found: FoundJob): Promise<JobResult | undefined> {
  if (!found.job) return undefined;
  const { pods } = context.jobs.objects(found.job);
  const succeeded = pods.filter((p) => p.status?.phase === 'Succeeded');
  for (const pod of succeeded.length ? succeeded : pods) {
    const containers = [...(pod.spec?.initContainers ?? []), ...(pod.spec?.containers ?? [])].map((c) => c.name);
    const scanner = new ResultMarkerScanner();
    for (const container of containers) {
      try {
        for await (const chunk of await context.client.containerLog(pod.metadata?.name ?? '', container)) scanner.feed(chunk as Buffer);
      } catch (error) {
        context.logger.debug({ err: error, pod: pod.metadata?.name, container }, 'pod log not readable for results');
      }
    }
    const markers = scanner.result();
    if (markers.value !== undefined) return { ...(markers.mimetype ? { mimetype: markers.mimetype } : {}), value: markers.value };
  }
  return undefined;
}

/** The Job's annotations; read from the API server when the cache left the result out for its size. */
async function resultAnnotations(context: ApiContext, job: V1Job | undefined): Promise<Record<string, string>> {
  if (!job) return {};
  if (!omittedAnnotations(job).includes(ANNOTATIONS.resultValue)) return job.metadata?.annotations ?? {};
  const fresh = await context.client.read(job.metadata?.name ?? '');
  return fresh?.metadata?.annotations ?? job.metadata?.annotations ?? {};
}

export async function jobResult(context: ApiContext, jobId: string, found: FoundJob): Promise<JobResult | undefined> {
  const annotations = await resultAnnotations(context, found.job);
  const mimetype = annotations[ANNOTATIONS.resultMimetype];
  if (annotations[ANNOTATIONS.resultValue] !== undefined) return { ...(mimetype ? { mimetype } : {}), value: annotations[ANNOTATIONS.resultValue]! };
  if (annotations[ANNOTATIONS.resultLocation] !== undefined && context.archive) {
    const value = await context.archive.reader.resultValue(jobNameFor(jobId, context.config.settings.jobNamePrefix));
    if (value !== undefined) return { ...(mimetype ? { mimetype } : {}), value };
  }
  const recorded = found.record?.result;
  if (recorded?.value !== undefined) return { ...(recorded.mimetype ? { mimetype: recorded.mimetype } : {}), value: recorded.value };
  if (recorded?.valueKey && context.archive) {
    const value = await context.archive.reader.resultValue(jobNameFor(jobId, context.config.settings.jobNamePrefix));
    if (value !== undefined) return { ...(recorded.mimetype ? { mimetype: recorded.mimetype } : {}), value };
  }
  return fromPodLogs(context, found);
}
