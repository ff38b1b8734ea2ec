/**
 * What an execution asked its results to look like — the `response` mode and
 * the requested output ids — as the API stores it on the Job (two
 * annotations) and the controller keeps it in the job record, so results
 * answer the same before and after the Job is gone. Pure.
 */
import { ANNOTATIONS } from './contract.js';

export type ResponseMode = 'raw' | 'document';

export interface ResultsRequest {
  /** `raw` (the OGC default, and what Jobs without the annotation get) or `document`. */
  response: ResponseMode;
  /** The output ids asked for; absent: all of them. */
  outputs?: string[];
}

/** Anything but "document" is raw: the OGC default, and what the Python manager answers. */
export function responseMode(given: unknown): ResponseMode {
  return given === 'document' ? 'document' : 'raw';
}

/** A list of output ids, or undefined for anything else (the annotation is anyone's to edit with kubectl). */
export function outputIds(value: unknown): string[] | undefined {
  return Array.isArray(value) && value.every((id) => typeof id === 'string') ? value : undefined;
}

/** The results request remembered on a Job's annotations. */
export function resultsRequestOf(annotations: Record<string, string> | undefined): ResultsRequest {
  const response = responseMode(annotations?.[ANNOTATIONS.response]);
  const text = annotations?.[ANNOTATIONS.outputs];
  let outputs: string[] | undefined;
  if (text !== undefined) {
    try {
      outputs = outputIds(JSON.parse(text));
    } catch {
      outputs = undefined;
    }
  }
  return outputs ? { response, outputs } : { response };
}

/** The results request as read back from a job record written by any version (older ones have none: raw). */
export function recordedResultsRequest(value: unknown): ResultsRequest {
  if (typeof value !== 'object' || value === null) return { response: 'raw' };
  const { response, outputs } = value as { response?: unknown; outputs?: unknown };
  const ids = outputIds(outputs);
  return ids ? { response: responseMode(response), outputs: ids } : { response: responseMode(response) };
}
