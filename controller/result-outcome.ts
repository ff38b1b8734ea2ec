/**
 * What a pod's job record says about its result. Pure.
 *
 * A succeeded pod's result is what follows its last result marker, to the
 * end of its current logs (the last instance of each container; a restarted
 * container's previous instance never holds it). Only logs read to their
 * proven end can tell: with one of them incomplete, a marker may be in the
 * part that was lost, or the value cut short. The result is then unknown,
 * found or not, and the pod is never reported a success with no result:
 * the record says failed and why. A complete log without a marker is a job
 * that printed no result, a success.
 */
import type { JobRecord } from '../lib/archive/layout.js';
import type { StatusInfo } from '../lib/job-status.js';

/** A pod's log as archived: a complete log an earlier attempt kept counts as complete. */
export interface LogState {
  container: string;
  previous?: boolean;
  complete: boolean;
  incompleteReason?: string;
}

type Result = NonNullable<JobRecord['result']>;

export interface ResultOutcome {
  result?: Result;
  /** Why the result is unknown: each incomplete current log, `<container>: <reason>`. */
  resultLost?: string;
}

/** Why a succeeded pod's result cannot be told from these logs; undefined when it can (every current log complete). */
export function resultLostReason(logs: readonly LogState[]): string | undefined {
  const gaps = logs.filter((l) => !l.previous && !l.complete);
  return gaps.length === 0 ? undefined : gaps.map((l) => `${l.container}: ${l.incompleteReason ?? 'incomplete'}`).join('; ');
}

export interface ResultInput {
  succeeded: boolean;
  logs: readonly LogState[];
  /** What the result markers of the logs gave (not read when the result is lost anyway, or the logs are an earlier attempt's). */
  found: Result | undefined;
  /** The record of an earlier attempt whose complete logs were kept instead of this capture: what was read from them stands. */
  prior?: Pick<JobRecord, 'result' | 'resultLost'>;
}

export function resultOutcome({ succeeded, logs, found, prior }: ResultInput): ResultOutcome {
  if (!succeeded) return {};
  const lost = resultLostReason(logs);
  if (lost !== undefined) return { resultLost: lost };
  const result = prior ? prior.result : found;
  const earlierLost = prior?.resultLost;
  return { ...(result !== undefined ? { result } : {}), ...(result === undefined && earlierLost !== undefined ? { resultLost: earlierLost } : {}) };
}

/** The recorded status of a pod whose result was lost: failed, saying so, never a success with an empty result. */
export function statusWithResult(status: StatusInfo, resultLost: string | undefined): StatusInfo {
  if (resultLost === undefined) return status;
  return { ...status, status: 'failed', message: `The job ended successfully, but its result was lost with its log, which could not be read to the end (${resultLost}).` };
}
