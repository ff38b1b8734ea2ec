/**
 * Listing: label and field selectors, then `limit` + `continue` paging in
 * key order. The continue token names the list's resourceVersion and the
 * last key served: later pages go on after that key in the objects as they
 * were at that resourceVersion (the caller passes that snapshot), so the
 * pages together are one consistent list, as etcd serves them.
 */
import { badRequest, gone } from './errors.js';
import { matchesLabels, parseLabelSelector, SelectorParseError } from './selectors/label-selector.js';
import { fieldsOf, matchesFields, parseFieldSelector, unsupportedFieldLabelMessage, unsupportedFieldLabels } from './selectors/field-selector.js';
import type { ResourceType } from './resources.js';
import type { KubeObject } from './types.js';

export interface ListOptions {
  labelSelector?: string;
  fieldSelector?: string;
  limit?: number;
  continue?: string;
}

export interface ListResult {
  items: KubeObject[];
  resourceVersion: string;
  continue?: string;
  remainingItemCount?: number;
}

interface ContinueToken {
  rv: number;
  start: string;
}

function keyOf(obj: KubeObject): string {
  return obj.metadata.namespace ? `${obj.metadata.namespace}/${obj.metadata.name ?? ''}` : (obj.metadata.name ?? '');
}

/** The resourceVersion a continue token lists at (its snapshot), or undefined when there is no usable token. */
export function continueRevision(token: string | undefined): number | undefined {
  if (!token) return undefined;
  try {
    const parsed = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as Partial<ContinueToken>;
    return typeof parsed.rv === 'number' ? parsed.rv : undefined;
  } catch {
    return undefined;
  }
}

function decodeContinue(token: string, oldestRevision: number): ContinueToken {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
  } catch {
    throw badRequest('continue key is not valid: illegal base64 data');
  }
  const t = parsed as Partial<ContinueToken>;
  if (typeof t.rv !== 'number' || typeof t.start !== 'string') throw badRequest('continue key is not valid: incorrect encoded start resourceVersion');
  if (t.rv < oldestRevision) {
    throw gone('The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter.');
  }
  return { rv: t.rv, start: t.start };
}

/** Applies selectors and paging to `objects` (already in key order). */
export function selectObjects(
  type: ResourceType,
  objects: readonly KubeObject[],
  revision: number,
  options: ListOptions,
  oldestRevision = 0,
): ListResult {
  let labelReqs;
  let fieldReqs;
  try {
    labelReqs = parseLabelSelector(options.labelSelector ?? '');
    fieldReqs = parseFieldSelector(options.fieldSelector ?? '');
  } catch (error) {
    if (error instanceof SelectorParseError) throw badRequest(error.message);
    throw error;
  }
  const unsupported = unsupportedFieldLabels(type.kind, fieldReqs);
  if (unsupported.length) throw badRequest(unsupportedFieldLabelMessage(type.kind, unsupported[0]!));

  let listRevision = revision;
  let candidates = objects;
  if (options.continue) {
    const token = decodeContinue(options.continue, oldestRevision);
    listRevision = token.rv;
    candidates = objects.filter((o) => keyOf(o) > token.start);
  }
  const selected = candidates.filter(
    (o) => matchesLabels(labelReqs, o.metadata.labels) && matchesFields(fieldReqs, fieldsOf(type.kind, o)),
  );
  const limit = options.limit && options.limit > 0 ? options.limit : undefined;
  if (limit === undefined || selected.length <= limit) {
    return { items: selected, resourceVersion: String(listRevision) };
  }
  const page = selected.slice(0, limit);
  const last = page[page.length - 1]!;
  const token: ContinueToken = { rv: listRevision, start: keyOf(last) };
  const filtered = Boolean(options.labelSelector || options.fieldSelector);
  return {
    items: page,
    resourceVersion: String(listRevision),
    continue: Buffer.from(JSON.stringify(token)).toString('base64url'),
    ...(filtered ? {} : { remainingItemCount: selected.length - limit }),
  };
}
