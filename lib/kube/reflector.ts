/**
 * A list+watch cache of one collection that does not give up: paged lists,
 * watches resumed from the last resourceVersion seen (bookmarks keep it
 * fresh), a relist on 410 Gone or an ERROR event, a watchdog for watches that
 * go silent, restarts with exponential back-off and jitter on every other
 * error, and a periodic full relist. client-node's informer stops for good
 * on most errors, which is why this exists.
 *
 * Relists compare the new list with the cache and report the difference as
 * events, so a consumer sees every add, change and delete even when the
 * watch missed them.
 */
import type { V1ObjectMeta } from '@kubernetes/client-node';
import type { KubeAccess } from './kube-access.js';
import type { Logger } from 'pino';
import { backoffDelay, sleep } from './backoff.js';
import { KubeHttp, isApiError } from './http.js';
import { watchEvents } from './watch-stream.js';

export type ReflectorEventType = 'ADDED' | 'MODIFIED' | 'DELETED';

export interface ReflectorOptions<T> {
  kubeConfig: KubeAccess;
  /** The part's shared client (one keep-alive agent per part; its owner closes it); default: one of its own. */
  http?: KubeHttp;
  /** API path of the collection, e.g. '/apis/batch/v1/namespaces/ns/jobs' or '/api/v1/pods'. */
  path: string;
  labelSelector?: string;
  fieldSelector?: string;
  /** Raw JSON object → typed object, e.g. (raw) => fromWire<V1Job>(raw, 'V1Job') (lib/kube/objects.ts). */
  deserialize: (raw: unknown) => T;
  /** Periodic full relist (default 10 min). */
  resyncIntervalMs?: number;
  /** Watchdog: no event or bookmark for this long → restart the watch (default 2 min; watches ask for bookmarks). */
  stallTimeoutMs?: number;
  /** Server-side timeout requested (default 5 min). */
  watchTimeoutSeconds?: number;
  /** Restart back-off with jitter. */
  backoff?: { baseMs: number; maxMs: number };
  /** Page size of lists (default 500). */
  pageSize?: number;
  logger: Logger;
  /** Called after the cache changed; relists synthesise the diff (adds, updates, deletes) so nothing is missed. */
  onEvent?: (type: ReflectorEventType, obj: T, previous?: T) => void;
  /** Called whenever the watch is restarted, with why (for a watch-restarts metric). */
  onRestart?: (reason: string) => void;
}

interface ListPage {
  metadata?: { resourceVersion?: string; continue?: string };
  items?: unknown[];
}

/** How one watch connection ended. */
type WatchEnd = 'closed' | 'relist' | 'stalled' | 'stopped';

const DEFAULTS = {
  resyncIntervalMs: 10 * 60_000,
  stallTimeoutMs: 2 * 60_000,
  watchTimeoutSeconds: 5 * 60,
  backoff: { baseMs: 500, maxMs: 30_000 },
  pageSize: 500,
};

/** A watch that ends sooner than this without a single event counts as a failure for back-off purposes. */
const QUICK_END_MS = 1_000;

function keyOf(meta: V1ObjectMeta | undefined): string {
  return `${meta?.namespace ?? ''}/${meta?.name ?? ''}`;
}

function resourceVersionOf(raw: unknown): string | undefined {
  if (typeof raw !== 'object' || raw === null) return undefined;
  const meta = (raw as { metadata?: { resourceVersion?: unknown } }).metadata;
  return typeof meta?.resourceVersion === 'string' ? meta.resourceVersion : undefined;
}

export class Reflector<T extends { metadata?: V1ObjectMeta }> {
  private readonly http: KubeHttp;
  private readonly cache = new Map<string, T>();
  private resourceVersion = '';
  private syncedFlag = false;
  private stopped = false;
  private readonly stopController = new AbortController();
  /** Aborted to end the current watch early (watchdog, resync); replaced for each watch. */
  private watchAbort: AbortController | undefined;
  private watchEndReason: WatchEnd | undefined;
  private resyncDue = false;
  private resyncTimer: NodeJS.Timeout | undefined;
  private loop: Promise<void> | undefined;
  private readonly ownsHttp: boolean;
  private readonly opts: Required<Omit<ReflectorOptions<T>, 'http' | 'labelSelector' | 'fieldSelector' | 'onEvent' | 'onRestart'>> &
    Pick<ReflectorOptions<T>, 'labelSelector' | 'fieldSelector' | 'onEvent' | 'onRestart'>;

  constructor(options: ReflectorOptions<T>) {
    this.opts = { ...DEFAULTS, ...options };
    this.ownsHttp = options.http === undefined;
    this.http = options.http ?? new KubeHttp(options.kubeConfig);
  }

  get synced(): boolean {
    return this.syncedFlag;
  }

  get lastSyncResourceVersion(): string {
    return this.resourceVersion;
  }

  get(namespace: string | undefined, name: string): T | undefined {
    return this.cache.get(`${namespace ?? ''}/${name}`);
  }

  list(): T[] {
    return [...this.cache.values()];
  }

  /** Resolves after the first list is in the cache (retrying with back-off until then); rejects if stopped first. */
  start(): Promise<void> {
    if (this.loop) throw new Error('reflector already started');
    let firstSync!: { resolve: () => void; reject: (e: Error) => void };
    const synced = new Promise<void>((resolve, reject) => {
      firstSync = { resolve, reject };
    });
    this.loop = this.run(() => firstSync.resolve()).finally(() => {
      if (!this.syncedFlag) firstSync.reject(new Error(`reflector for ${this.opts.path} stopped before its first list`));
    });
    this.resyncTimer = setInterval(() => {
      this.resyncDue = true;
      this.endWatch('relist');
    }, this.opts.resyncIntervalMs);
    return synced;
  }

  /** Closes the watch and clears the timers; resolves when nothing of the reflector is left running. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.resyncTimer);
    this.stopController.abort();
    this.endWatch('stopped');
    await this.loop;
    if (this.ownsHttp) this.http.close();
  }

  private endWatch(reason: WatchEnd): void {
    if (!this.watchAbort || this.watchAbort.signal.aborted) return;
    this.watchEndReason = reason;
    this.watchAbort.abort();
  }

  private async run(onFirstSync: () => void): Promise<void> {
    let needList = true;
    let failures = 0;
    while (!this.stopped) {
      try {
        if (needList || this.resyncDue) {
          this.resyncDue = false;
          await this.relist();
          needList = false;
          if (!this.syncedFlag) {
            this.syncedFlag = true;
            onFirstSync();
          }
        }
        const started = Date.now();
        const { end, events } = await this.watch();
        if (end === 'stopped') return;
        if (end === 'relist') needList = true;
        if (end === 'stalled') this.restarted('watch stalled');
        else if (end === 'closed') this.opts.logger.debug({ path: this.opts.path }, 'watch closed by the server; resuming');
        // A server that ends every watch at once would otherwise be hammered.
        const quick = Date.now() - started < QUICK_END_MS;
        failures = quick && (events === 0 || end === 'relist') ? failures + 1 : 0;
        if (failures > 0) await sleep(backoffDelay(this.opts.backoff, failures), this.stopController.signal);
      } catch (error) {
        if (this.stopped) return;
        failures++;
        if (isApiError(error, 410)) needList = true;
        const reason = isApiError(error) ? `HTTP ${error.code}: ${error.message}` : error instanceof Error ? error.message : String(error);
        this.restarted(reason);
        this.opts.logger.warn({ path: this.opts.path, err: error, attempt: failures }, 'list/watch failed; retrying with back-off');
        await sleep(backoffDelay(this.opts.backoff, failures), this.stopController.signal);
      }
    }
  }

  private restarted(reason: string): void {
    try {
      this.opts.onRestart?.(reason);
    } catch (error) {
      this.opts.logger.error({ err: error }, 'onRestart callback failed');
    }
  }

  private notify(type: ReflectorEventType, obj: T, previous?: T): void {
    try {
      this.opts.onEvent?.(type, obj, previous);
    } catch (error) {
      this.opts.logger.error({ err: error, path: this.opts.path }, 'onEvent callback failed');
    }
  }

  /** A full, paged list; replaces the cache and reports the difference. */
  private async relist(): Promise<void> {
    const fresh = new Map<string, T>();
    let listVersion = '';
    let continueToken: string | undefined;
    for (;;) {
      let page: ListPage;
      try {
        page = await this.http.request<ListPage>({
          path: this.opts.path,
          query: {
            labelSelector: this.opts.labelSelector,
            fieldSelector: this.opts.fieldSelector,
            limit: this.opts.pageSize,
            continue: continueToken,
          },
          signal: this.stopController.signal,
        });
      } catch (error) {
        // The snapshot behind the continue token was compacted: start over.
        if (continueToken !== undefined && isApiError(error, 410)) {
          fresh.clear();
          continueToken = undefined;
          listVersion = '';
          continue;
        }
        throw error;
      }
      if (!listVersion) listVersion = page.metadata?.resourceVersion ?? '';
      for (const raw of page.items ?? []) {
        // Unchanged since the cache got it: keep that object rather than decode a second copy (a resync would hold two of everything).
        const obj = this.unchanged(raw) ?? this.opts.deserialize(raw);
        fresh.set(keyOf(obj.metadata), obj);
      }
      continueToken = page.metadata?.continue || undefined;
      if (continueToken === undefined || this.stopped) break;
    }
    if (this.stopped) return;

    const previous = new Map(this.cache);
    this.cache.clear();
    for (const [key, obj] of fresh) this.cache.set(key, obj);
    this.resourceVersion = listVersion;
    for (const [key, obj] of fresh) {
      const old = previous.get(key);
      if (!old) this.notify('ADDED', obj);
      else if (old.metadata?.uid !== obj.metadata?.uid) {
        this.notify('DELETED', old);
        this.notify('ADDED', obj);
      } else if (old.metadata?.resourceVersion !== obj.metadata?.resourceVersion) this.notify('MODIFIED', obj, old);
    }
    for (const [key, old] of previous) if (!fresh.has(key)) this.notify('DELETED', old);
    this.opts.logger.debug({ path: this.opts.path, items: fresh.size, resourceVersion: listVersion }, 'listed');
  }

  /** The cached object `raw` is a listing of, when its uid and resourceVersion are the cached one's. */
  private unchanged(raw: unknown): T | undefined {
    if (typeof raw !== 'object' || raw === null) return undefined;
    const meta = (raw as { metadata?: V1ObjectMeta }).metadata;
    const cached = this.cache.get(keyOf(meta));
    const version = cached?.metadata?.resourceVersion;
    return version !== undefined && version === meta?.resourceVersion && cached!.metadata?.uid === meta?.uid ? cached : undefined;
  }

  /** One watch connection from the current resourceVersion, until it ends. */
  private async watch(): Promise<{ end: WatchEnd; events: number }> {
    const abort = new AbortController();
    this.watchAbort = abort;
    this.watchEndReason = undefined;
    if (this.stopped) return { end: 'stopped', events: 0 };
    let watchdog: NodeJS.Timeout | undefined;
    const feedWatchdog = (): void => {
      clearTimeout(watchdog);
      watchdog = setTimeout(() => this.endWatch('stalled'), this.opts.stallTimeoutMs);
    };
    let events = 0;
    feedWatchdog();
    try {
      const response = await this.http.stream({
        path: this.opts.path,
        query: {
          watch: true,
          resourceVersion: this.resourceVersion,
          allowWatchBookmarks: true,
          timeoutSeconds: this.opts.watchTimeoutSeconds,
          labelSelector: this.opts.labelSelector,
          fieldSelector: this.opts.fieldSelector,
        },
        signal: abort.signal,
      });
      feedWatchdog();
      for await (const event of watchEvents(response)) {
        feedWatchdog();
        events++;
        if (event.type === 'ERROR') {
          const status = event.object as { code?: number; message?: string } | undefined;
          this.opts.logger.info({ path: this.opts.path, code: status?.code, message: status?.message }, 'watch ERROR event; relisting');
          this.restarted(status?.code === 410 ? '410 Gone' : `watch ERROR ${status?.code ?? ''}`.trim());
          response.destroy();
          return { end: 'relist', events };
        }
        this.apply(event.type, event.object);
      }
      return { end: 'closed', events };
    } catch (error) {
      if (this.watchEndReason) return { end: this.watchEndReason, events };
      throw error;
    } finally {
      clearTimeout(watchdog);
      if (!abort.signal.aborted) abort.abort();
      this.watchAbort = undefined;
    }
  }

  private apply(type: string, raw: unknown): void {
    const version = resourceVersionOf(raw);
    if (type === 'BOOKMARK') {
      if (version) this.resourceVersion = version;
      return;
    }
    if (type !== 'ADDED' && type !== 'MODIFIED' && type !== 'DELETED') {
      this.opts.logger.warn({ path: this.opts.path, type }, 'unknown watch event type ignored');
      return;
    }
    const obj = this.opts.deserialize(raw);
    const key = keyOf(obj.metadata);
    const previous = this.cache.get(key);
    if (type === 'DELETED') {
      this.cache.delete(key);
      this.notify('DELETED', obj, previous);
    } else {
      this.cache.set(key, obj);
      this.notify(previous ? 'MODIFIED' : 'ADDED', obj, previous);
    }
    if (version) this.resourceVersion = version;
  }
}
