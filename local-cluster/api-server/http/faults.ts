/**
 * Fault injection, so tests of the other parts can meet what a real API
 * server does under load or failure: failed and throttled requests, slow
 * answers, dropped or silently stalled watches, expired resourceVersions.
 */
import type { ObjectStore } from '../store.js';

export interface ErrorInjection {
  /** Share of matching requests to fail, 0..1 (1 = all). */
  share: number;
  status: 429 | 500 | 503 | 504;
  /** Only requests whose method + path match, e.g. /PATCH .*\/pods\//. Default: all. */
  match?: RegExp;
  /** Stop after this many injected failures. */
  count?: number;
}

export interface WatchHandle {
  drop(): void;
  setStalled(stalled: boolean): void;
}

export class Faults {
  private errors: ErrorInjection | undefined;
  private injected = 0;
  delayMs = 0;
  private stalled = false;
  private readonly watches = new Set<WatchHandle>();
  /** Counters a test can read to see that a fault was met. */
  readonly stats = { injectedErrors: 0, droppedWatches: 0 };

  constructor(private readonly store: ObjectStore) {}

  injectErrors(injection: ErrorInjection | undefined): void {
    this.errors = injection;
    this.injected = 0;
  }

  /** The status to fail this request with, if any. */
  errorFor(method: string, path: string): number | undefined {
    const e = this.errors;
    if (!e) return undefined;
    if (e.match && !e.match.test(`${method} ${path}`)) return undefined;
    if (e.count !== undefined && this.injected >= e.count) return undefined;
    if (Math.random() >= e.share) return undefined;
    this.injected++;
    this.stats.injectedErrors++;
    return e.status;
  }

  /** Closes every open watch connection, as a restarting API server does. */
  dropWatches(): void {
    const open = [...this.watches];
    this.stats.droppedWatches += open.length;
    for (const w of open) w.drop();
  }

  /** Keeps watch connections open but sends nothing on them. */
  stallWatches(stalled: boolean): void {
    this.stalled = stalled;
    for (const w of this.watches) w.setStalled(stalled);
  }

  /** Compacts history: watches from any earlier resourceVersion get 410 Gone. */
  expireResourceVersions(): void {
    this.store.compact();
  }

  registerWatch(handle: WatchHandle): () => void {
    this.watches.add(handle);
    handle.setStalled(this.stalled);
    return () => this.watches.delete(handle);
  }

  get openWatches(): number {
    return this.watches.size;
  }
}
