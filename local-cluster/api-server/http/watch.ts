/**
 * Serving a watch: initial ADDED events or a resume from a resourceVersion
 * (410 Gone as an ERROR event once it was compacted), selector filtering that
 * turns objects leaving or entering the selection into DELETED/ADDED, bookmarks,
 * and the server-side timeout.
 */
import type { ServerResponse } from 'node:http';
import { gone } from '../errors.js';
import { matchesLabels, parseLabelSelector } from '../selectors/label-selector.js';
import { fieldsOf, matchesFields, parseFieldSelector } from '../selectors/field-selector.js';
import { apiVersionOf, type ResourceType } from '../resources.js';
import type { ObjectStore, StoreEvent } from '../store.js';
import type { KubeObject, WatchEventType } from '../types.js';
import type { Faults } from './faults.js';
import { toTable } from './table.js';

export interface WatchOptions {
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
  resourceVersion?: string;
  allowWatchBookmarks: boolean;
  timeoutSeconds: number;
  bookmarkIntervalMs: number;
  /** Send each object as a one-row Table (kubectl get -w). */
  asTable: boolean;
}

export function serveWatch(store: ObjectStore, faults: Faults, type: ResourceType, options: WatchOptions, res: ServerResponse): void {
  const labelReqs = parseLabelSelector(options.labelSelector ?? '');
  const fieldReqs = parseFieldSelector(options.fieldSelector ?? '');
  const selected = (o: KubeObject | undefined): boolean =>
    o !== undefined &&
    (options.namespace === undefined || o.metadata.namespace === options.namespace) &&
    matchesLabels(labelReqs, o.metadata.labels) &&
    matchesFields(fieldReqs, fieldsOf(type.kind, o));

  res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-cache, private', 'transfer-encoding': 'chunked' });
  res.flushHeaders();

  let stalled = false;
  let closed = false;
  const send = (eventType: WatchEventType, object: unknown): void => {
    if (closed || stalled) return;
    const body = options.asTable && eventType !== 'ERROR' && eventType !== 'BOOKMARK' ? toTable(type, [object as KubeObject], {}) : object;
    res.write(`${JSON.stringify({ type: eventType, object: body })}\n`);
  };
  const deliver = (event: StoreEvent): void => {
    if (event.resource !== type && (event.resource.plural !== type.plural || event.resource.group !== type.group)) return;
    const now = selected(event.object);
    const before = event.type === 'MODIFIED' ? selected(event.previous) : now;
    if (event.type === 'MODIFIED' && now !== before) send(now ? 'ADDED' : 'DELETED', event.object);
    else if (now) send(event.type, event.object);
  };

  // Registered before anything is sent, so a stall in force covers the initial events too.
  const unregister = faults.registerWatch({
    drop: () => {
      finish();
      res.socket?.destroy();
    },
    setStalled: (value) => {
      stalled = value;
    },
  });

  // Subscribe first, buffering, so nothing written between the snapshot and the stream is missed.
  const buffered: StoreEvent[] = [];
  let live = false;
  const unsubscribe = store.subscribe((event) => (live ? deliver(event) : buffered.push(event)));

  let startRevision: number;
  const rv = options.resourceVersion;
  if (rv === undefined || rv === '' || rv === '0') {
    startRevision = store.currentRevision;
    for (const obj of store.list(type, options.namespace)) if (selected(obj)) send('ADDED', obj);
  } else {
    const requested = Number(rv);
    const history = Number.isInteger(requested) ? store.eventsSince(type, requested) : 'expired';
    if (history === 'expired') {
      const status = gone(`too old resource version: ${rv} (${store.oldestWatchableRevision})`).toStatus();
      send('ERROR', status);
      unsubscribe();
      unregister();
      res.end();
      return;
    }
    startRevision = store.currentRevision;
    for (const event of history) deliver(event);
  }
  for (const event of buffered) if (event.resourceVersion > startRevision) deliver(event);
  live = true;

  const bookmark = options.allowWatchBookmarks
    ? setInterval(
        () => send('BOOKMARK', { kind: type.kind, apiVersion: apiVersionOf(type), metadata: { resourceVersion: String(store.currentRevision) } }),
        options.bookmarkIntervalMs,
      )
    : undefined;
  const timeout = setTimeout(() => finish(), options.timeoutSeconds * 1000);

  function finish(): void {
    if (closed) return;
    closed = true;
    unsubscribe();
    unregister();
    clearTimeout(timeout);
    if (bookmark) clearInterval(bookmark);
    res.end();
  }
  res.on('close', finish);
}
