/**
 * The job record (job.json) holds every pod of a job, but pods are archived
 * one at a time: each archive merges its pod into what is stored. Pure.
 */
import type { JobRecord } from './layout.js';
import type { StatusInfo } from '../job-status.js';

export interface PodArchive {
  pod: string;
  status: StatusInfo;
  processId?: string;
  owner?: string;
  parameters?: unknown;
  /** The execution's results request, as its Job carried it. */
  resultsRequest?: JobRecord['resultsRequest'];
  /** Set when this pod succeeded and so carries the job's result. */
  result?: JobRecord['result'];
  /** Set when this pod succeeded but its result was lost with an incomplete log. */
  resultLost?: string;
  logs: JobRecord['logs'];
  archivedAt: string;
}

const FINAL = new Set(['successful', 'failed', 'dismissed']);

function isFinal(status: Record<string, unknown> | undefined): boolean {
  return typeof status?.status === 'string' && FINAL.has(status.status);
}

export function mergeJobRecord(existing: JobRecord | undefined, archive: PodArchive): JobRecord {
  // Sorted by pod; a pod's own entries keep their order (init containers first, as archived).
  const logs = [...(existing?.logs ?? []).filter((l) => l.pod !== archive.pod), ...archive.logs].sort((a, b) => a.pod.localeCompare(b.pod));
  // A later archive of an earlier pod (a retry, say) must not turn a final status back into a running one.
  const status = isFinal(existing?.status) && !isFinal(archive.status as unknown as Record<string, unknown>) ? existing!.status : { ...archive.status };
  const result = archive.result ?? existing?.result;
  const resultLost = result !== undefined ? undefined : (archive.resultLost ?? existing?.resultLost);
  const processId = archive.processId ?? existing?.processId;
  const parameters = archive.parameters ?? existing?.parameters;
  const resultsRequest = archive.resultsRequest ?? existing?.resultsRequest;
  // The first owner recorded stays: a later pod's Job stand-in has no annotations.
  const owner = existing?.owner ?? archive.owner;
  return {
    status,
    ...(processId !== undefined ? { processId } : {}),
    ...(owner !== undefined ? { owner } : {}),
    ...(parameters !== undefined ? { parameters } : {}),
    ...(resultsRequest !== undefined ? { resultsRequest } : {}),
    ...(result !== undefined ? { result } : {}),
    ...(resultLost !== undefined ? { resultLost } : {}),
    logs,
    archivedAt: archive.archivedAt,
  };
}

/** The parameters annotation as stored: JSON when it parses, else the text. */
export function parseParameters(text: string | undefined): unknown {
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}
