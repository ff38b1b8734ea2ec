/**
 * Turning a job's printed result into OGC outputs: with mimetype
 * application/json, a JSON object whose keys are output ids maps onto those
 * outputs; otherwise the single (first) output gets the whole value.
 */
import type { ResponseMode } from '../../lib/results-request.js';
import type { ProcessMetadata } from '../../lib/config/types.js';
import { isRecord } from '../../lib/is-record.js';

export interface JobResult {
  mimetype?: string;
  value: string;
}

export interface OutputValue {
  value: unknown;
  mediaType: string;
}

export function outputsOf(result: JobResult, metadata: ProcessMetadata | undefined): Record<string, OutputValue> {
  const mediaType = result.mimetype ?? 'application/json';
  const ids = Object.keys(metadata?.outputs ?? {});
  let parsed: unknown = result.value;
  if (mediaType.startsWith('application/json')) {
    try {
      parsed = JSON.parse(result.value);
    } catch {
      // Not JSON after all: the value stays text.
    }
  }
  if (isRecord(parsed) && ids.length > 0) {
    const keys = Object.keys(parsed);
    if (keys.length > 0 && keys.every((k) => ids.includes(k))) {
      return Object.fromEntries(keys.map((k) => [k, { value: parsed[k], mediaType: typeof parsed[k] === 'string' ? 'text/plain' : 'application/json' } as OutputValue]));
    }
  }
  return { [ids[0] ?? 'result']: { value: parsed, mediaType } };
}

/** Only the outputs the client asked for (all when it named none). */
export function selectOutputs(outputs: Record<string, OutputValue>, requested: string[] | undefined): Record<string, OutputValue> {
  if (!requested || requested.length === 0) return outputs;
  return Object.fromEntries(Object.entries(outputs).filter(([id]) => requested.includes(id)));
}

/**
 * The OGC results document. Scalars and arrays stand inline; objects (which
 * the 1.0 schema does not allow inline) and text of another media type are
 * qualified values `{ value, mediaType }`.
 */
export function resultsDocument(outputs: Record<string, OutputValue>): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(outputs).map(([id, out]) => {
      const isObject = typeof out.value === 'object' && out.value !== null && !Array.isArray(out.value);
      const foreignText = typeof out.value === 'string' && out.mediaType !== 'text/plain' && !out.mediaType.startsWith('application/json');
      return [id, isObject || foreignText ? { value: out.value, mediaType: out.mediaType } : out.value];
    }),
  );
}

/** A raw answer: the bytes and the Content-Type header. */
export interface RawAnswer {
  body: string;
  contentType: string;
}

/** A raw response for one output: its bytes and content type. */
export function rawOutput(out: OutputValue): RawAnswer {
  if (typeof out.value === 'string' && !out.mediaType.startsWith('application/json')) return { body: out.value, contentType: out.mediaType };
  return { body: JSON.stringify(out.value), contentType: out.mediaType.startsWith('application/json') ? out.mediaType : 'application/json' };
}


/**
 * What the results answer (GET /jobs/{id}/results, and a synchronous
 * execution): `document` → the results document
 * (/req/core/job-results-async-document); `raw` with one output → that
 * output's value in its media type (/req/core/job-results-async-raw-value-one).
 * `raw` with several outputs → the results document too: OGC 1.0 asks for
 * multipart/related there, but the job printed one JSON object keyed by
 * output ids, which is what the Python manager answers and what clients of
 * it parse; for scalar outputs the document is that same object.
 */
export type ResultsAnswer = { document: Record<string, unknown> } | { raw: RawAnswer };

export function resultsAnswer(outputs: Record<string, OutputValue>, mode: ResponseMode): ResultsAnswer {
  const entries = Object.values(outputs);
  if (mode === 'raw' && entries.length === 1) return { raw: rawOutput(entries[0]!) };
  return { document: resultsDocument(outputs) };
}
