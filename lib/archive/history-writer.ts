/**
 * Adding an archived job to the history index: called by the controller
 * each time it stores a job record. Writes the job's entry (the source of
 * truth) and a pending copy; whoever compacts (the API's leader) folds
 * pending copies into their hour's segment and deletes them. Rewriting the
 * same job (a later pod of it) overwrites both, so retries are harmless.
 */
import { entryKey, entryOfRecord, hourOf, pendingKey } from './history-layout.js';

export interface JsonWriter {
  putJson(key: string, value: unknown, signal: AbortSignal): Promise<void>;
}

/** Returns false when the record has no place in the history (no creation time or job id). */
export async function recordInHistory(
  store: JsonWriter,
  prefix: string,
  namespace: string,
  record: { status: Record<string, unknown>; processId?: string; owner?: string },
  signal: AbortSignal,
): Promise<boolean> {
  const entry = entryOfRecord(record);
  const hour = hourOf(entry?.created);
  if (!entry || !hour) return false;
  // Entry first: a pending copy must never exist without the entry it stands for.
  await store.putJson(entryKey(prefix, namespace, hour, entry.jobID), entry, signal);
  await store.putJson(pendingKey(prefix, namespace, hour, entry.jobID), entry, signal);
  return true;
}
