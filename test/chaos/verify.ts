/**
 * Checking the archive against what the jobs printed: every container
 * instance's receipt (left by job.mjs) names its pod, attempt, length and
 * SHA-256; the bytes are recomputed from the job's spec (job-output.mjs) and
 * compared with the archived object byte for byte, and with the job record's
 * claims (size, checksum, completeness), its status and its result.
 */
import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { containerLogKey, jobRecordKey, type JobRecord } from '../../lib/archive/layout.js';
import { digestOf, outputChunks, resultValue } from './job-output.mjs';
import type { PlannedJob } from './plan.js';

export interface Receipt {
  key: string;
  role: 'init' | 'main';
  attempt: number;
  pod: string;
  bytes: number;
  sha256: string;
  termAfter: number | null;
  exitCode: number;
  source: string;
}

export interface SubmittedJob {
  planned: PlannedJob;
  jobName: string;
  jobId?: string;
  /** A DELETE /jobs/{id} was answered with success. */
  dismissed: boolean;
  submittedAt: number;
}

export type FindingKind = 'lost' | 'corrupt' | 'record' | 'status' | 'result' | 'generator';

export interface Finding {
  kind: FindingKind;
  job: string;
  jobName: string;
  detail: string;
}

export interface ArchiveAccess {
  prefix: string;
  namespace: string;
  get(key: string): Promise<Buffer | undefined>;
}

export interface JobVerification {
  findings: Finding[];
  logs: number;
  bytes: number;
}

export const CONTAINER_NAMES = {
  api: { init: 'prepare', main: 'generic-image-processor' },
  direct: { init: 'prepare', main: 'main' },
} as const;

export async function readReceipts(truth: string, key: string): Promise<Receipt[]> {
  const dir = path.join(truth, key);
  const files = (await readdir(dir).catch(() => [] as string[])).filter((f) => f.endsWith('.json'));
  return Promise.all(files.map(async (f) => JSON.parse(await readFile(path.join(dir, f), 'utf8')) as Receipt));
}

export interface ExpectedLog {
  receipt: Receipt;
  container: string;
  previous: boolean;
}

/** The logs the archive must hold: per pod and container the last instance, and the one before as `.previous`. */
export function expectedLogs(receipts: Receipt[], via: 'api' | 'direct'): ExpectedLog[] {
  const groups = new Map<string, Receipt[]>();
  for (const r of receipts) groups.set(`${r.pod}/${r.role}`, [...(groups.get(`${r.pod}/${r.role}`) ?? []), r]);
  const logs: ExpectedLog[] = [];
  for (const group of groups.values()) {
    group.sort((a, b) => a.attempt - b.attempt);
    const container = CONTAINER_NAMES[via][group[0]!.role];
    logs.push({ receipt: group[group.length - 1]!, container, previous: false });
    if (group.length > 1) logs.push({ receipt: group[group.length - 2]!, container, previous: true });
  }
  return logs.sort((a, b) => a.receipt.attempt - b.receipt.attempt || a.container.localeCompare(b.container));
}

type RecordEntry = JobRecord['logs'][number] & Record<string, unknown>;

/** Why a record entry says its log is not complete, if it does (field names vary while the record evolves). */
export function recordedIncomplete(entry: RecordEntry): string | undefined {
  if (entry.complete === false) {
    const reason = entry.incompleteReason ?? entry.reason;
    return `complete: false${typeof reason === 'string' ? ` (${reason})` : ''}`;
  }
  for (const field of ['incomplete', 'lost', 'truncated']) {
    const value = entry[field];
    if (value !== undefined && value !== false && value !== null) return `${field}: ${JSON.stringify(value)}`;
  }
  return undefined;
}

/** A SHA-256 the record claims for a log, if any. */
function recordedSha256(entry: RecordEntry): string | undefined {
  for (const field of ['sha256', 'checksumSha256']) if (typeof entry[field] === 'string') return entry[field] as string;
  const checksums = entry.checksums as Record<string, unknown> | undefined;
  if (checksums && typeof checksums.sha256 === 'string') return checksums.sha256;
  return undefined;
}

/** First offset where `archived` differs from what the attempt printed. */
export function firstDifference(job: PlannedJob, receipt: Receipt, archived: Buffer): number {
  let offset = 0;
  for (const chunk of outputChunks(job.spec, receipt.role, receipt.attempt, receipt.pod, receipt.termAfter ?? undefined)) {
    for (let i = 0; i < chunk.length; i++, offset++) {
      if (offset >= archived.length || archived[offset] !== chunk[i]) return offset;
    }
  }
  return offset;
}

const short = (sha: string): string => sha.slice(0, 12);

function describeEntry(entry: RecordEntry | undefined): string {
  if (!entry) return 'not in the record';
  const incomplete = recordedIncomplete(entry);
  const sha = recordedSha256(entry);
  return `record: ${incomplete ? `incomplete (${incomplete})` : 'complete'}, ${entry.bytes} B${sha ? `, sha256 ${short(sha)}` : ''}`;
}

/**
 * The statuses the record may give. A dismissal that reached a job only after it had finished may
 * find its pods already archived with the outcome, so then the outcome counts too.
 */
export function expectedStatuses(job: SubmittedJob, receipts: Receipt[]): string[] {
  const outcome = job.planned.spec.failAlways ? 'failed' : 'successful';
  if (!job.dismissed) return [outcome];
  const cut = receipts.some((r) => r.termAfter !== null);
  return cut ? ['dismissed'] : ['dismissed', outcome];
}

export async function verifyJob(job: SubmittedJob, receipts: Receipt[], archive: ArchiveAccess): Promise<JobVerification> {
  const findings: Finding[] = [];
  const found = (kind: FindingKind, detail: string): void => {
    findings.push({ kind, job: job.planned.spec.key, jobName: job.jobName, detail });
  };
  const recordBody = await archive.get(jobRecordKey(archive.prefix, archive.namespace, job.jobName));
  let record: JobRecord | undefined;
  try {
    record = recordBody ? (JSON.parse(recordBody.toString('utf8')) as JobRecord) : undefined;
  } catch {
    found('record', `job record is not JSON (${recordBody?.length} B)`);
  }
  if (!record && recordBody === undefined) found('record', 'no job record (job.json) in the archive');

  const status = record?.status?.status;
  const wanted = expectedStatuses(job, receipts);
  if (record && !wanted.includes(String(status))) {
    const lost = (record as { resultLost?: string }).resultLost;
    found('status', `record status ${JSON.stringify(status)}${lost ? ` (resultLost: ${lost})` : ''}, expected ${wanted.join(' or ')}`);
  }

  const logs = expectedLogs(receipts, job.planned.via);
  let bytes = 0;
  if (!job.dismissed && !logs.some((l) => l.receipt.role === 'main' && !l.previous)) found('generator', 'no receipt of the main container (it never ran?)');
  for (const log of logs) {
    const { receipt } = log;
    const what = `${log.container}${log.previous ? ' (previous)' : ''} attempt ${receipt.attempt} in pod ${receipt.pod}`;
    const recomputed = digestOf(job.planned.spec, receipt.role, receipt.attempt, receipt.pod, receipt.termAfter ?? undefined);
    if (recomputed.sha256 !== receipt.sha256 || recomputed.bytes !== receipt.bytes) {
      found('generator', `${what}: printed ${receipt.bytes} B ${short(receipt.sha256)}, but the spec gives ${recomputed.bytes} B ${short(recomputed.sha256)}`);
    }
    const key = containerLogKey(archive.prefix, archive.namespace, job.jobName, receipt.pod, log.container, log.previous);
    const entry = record?.logs?.find((l) => l.key === key) as RecordEntry | undefined;
    const archived = await archive.get(key);
    const printed = `printed ${receipt.bytes} B sha256 ${short(receipt.sha256)}${receipt.termAfter !== null ? ' (cut by SIGTERM)' : ''}`;
    if (archived === undefined) {
      found('lost', `${what}: ${printed}; no archived object ${key} (${describeEntry(entry)})`);
      continue;
    }
    const sha = createHash('sha256').update(archived).digest('hex');
    if (sha !== receipt.sha256) {
      const at = firstDifference(job.planned, receipt, archived);
      const kind: FindingKind = entry && !recordedIncomplete(entry) ? 'corrupt' : 'lost';
      found(kind, `${what}: ${printed}; archived ${archived.length} B sha256 ${short(sha)}, first difference at byte ${at} (${describeEntry(entry)})`);
      continue;
    }
    bytes += archived.length;
    if (!record) continue; // already reported once for the whole job
    if (!entry) found('record', `${what}: archived intact but ${describeEntry(entry)}`);
    else if (entry.bytes !== receipt.bytes) found('record', `${what}: archived intact (${receipt.bytes} B), but the ${describeEntry(entry)}`);
    else if (recordedIncomplete(entry)) found('record', `${what}: archived intact, but the ${describeEntry(entry)}`);
    else {
      const claimed = recordedSha256(entry);
      if (claimed && claimed !== receipt.sha256) found('record', `${what}: archived intact, but the ${describeEntry(entry)}`);
    }
  }

  if (record && status === 'successful' && job.planned.spec.result) {
    const last = logs.filter((l) => l.receipt.role === 'main' && !l.previous).sort((a, b) => b.receipt.attempt - a.receipt.attempt)[0];
    const value = last ? resultValue(job.planned.spec, last.receipt.attempt) : undefined;
    if (value !== undefined && record.result?.value !== value && record.result?.valueKey === undefined) {
      found('result', `record result ${JSON.stringify(record.result)}, expected value ${value}`);
    }
  }
  return { findings, logs: logs.length, bytes };
}
