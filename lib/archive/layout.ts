/**
 * Where the controller archives a job in S3, and so where the API finds it
 * once the Kubernetes objects are gone. Keys are deterministic, so a retried
 * upload overwrites instead of duplicating.
 */

export type ArchiveLayout = 'per-container' | 'python';

/** `<prefix><namespace>/<job-name>/` — everything of one job lives below it. */
export function jobArchivePrefix(prefix: string, namespace: string, jobName: string): string {
  return `${prefix}${namespace}/${jobName}/`;
}

/** One container instance's log: `<job prefix><pod>/<container>.log`, `.previous.log` for the restarted one. */
export function containerLogKey(prefix: string, namespace: string, jobName: string, podName: string, container: string, previous = false): string {
  return `${jobArchivePrefix(prefix, namespace, jobName)}${podName}/${container}${previous ? '.previous' : ''}.log`;
}

/** The job record: OGC status document, results and the list of archived logs. */
export function jobRecordKey(prefix: string, namespace: string, jobName: string): string {
  return `${jobArchivePrefix(prefix, namespace, jobName)}job.json`;
}

/** A result value too large for an annotation. */
export function resultValueKey(prefix: string, namespace: string, jobName: string): string {
  return `${jobArchivePrefix(prefix, namespace, jobName)}result`;
}

/**
 * The Python manager's single-file layout: `<prefix><YYYY-MM-DD>_<job-name>-logs.txt`
 * (UTC date of the archive), all containers under headers.
 */
export function pythonLogKey(prefix: string, jobName: string, date: Date): string {
  return `${prefix}${date.toISOString().slice(0, 10)}_${jobName}-logs.txt`;
}

/** The job record the controller writes and the API reads. */
export interface JobRecord {
  /** The OGC statusInfo document at the time of archiving. */
  status: Record<string, unknown>;
  processId?: string;
  /** Inputs as stored in the parameters annotation (token never present). */
  parameters?: unknown;
  result?: { mimetype?: string; value?: string; valueKey?: string };
  logs: Array<{ pod: string; container: string; key: string; bytes: number; previous?: boolean }>;
  archivedAt: string;
}
