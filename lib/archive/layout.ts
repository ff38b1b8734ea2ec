/**
 * Where the controller archives a job in S3, and so where the API finds it
 * once the Kubernetes objects are gone. Keys are deterministic, so a retried
 * upload overwrites instead of duplicating.
 */
import type { ResultsRequest } from '../results-request.js';

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
  /** The job's owner (the `pygeoapi.io/owner` annotation), for access control once the Job is gone. */
  owner?: string;
  /** Inputs as stored in the parameters annotation (token never present). */
  parameters?: unknown;
  result?: { mimetype?: string; value?: string; valueKey?: string };
  /** How the execution asked for its results (response mode, output ids); absent in older records and for kubectl Jobs: raw. */
  resultsRequest?: ResultsRequest;
  /** Set when the pod succeeded but its result cannot be trusted (a log it came from is incomplete): why. */
  resultLost?: string;
  logs: ArchivedLog[];
  archivedAt: string;
}

/** One archived log object, as verified in S3. */
export interface ArchivedLog {
  pod: string;
  container: string;
  key: string;
  bytes: number;
  previous?: boolean;
  /**
   * The capture read the container's whole output, from its first byte to its
   * termination. False: what is stored is what could be read (`incompleteReason`
   * says why the rest is missing). Absent in records of older versions.
   */
  complete?: boolean;
  incompleteReason?: string;
  /** Hex SHA-256 of the object's content, computed while capturing and uploading. */
  sha256?: string;
  /** The object's ETag as verified after the upload (an older or foreign object under the key has another). */
  etag?: string;
}
