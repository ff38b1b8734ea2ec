/**
 * A client-node watch that records what it receives, so tests can wait for
 * an event (with a bound) and then look at everything that came, in order.
 */
import { Watch, type KubeConfig } from '@kubernetes/client-node';
import { waitFor } from './wait-for.js';

export interface WatchEvent {
  type: string;
  /** The object as it came over the wire (the watch does not turn it into client-node classes). */
  object: { kind?: string; code?: number; reason?: string; message?: string; metadata?: { name?: string; resourceVersion?: string; deletionTimestamp?: string; finalizers?: string[]; labels?: Record<string, string> } } & Record<string, unknown>;
}

export interface RecordedWatch {
  events: WatchEvent[];
  /** Set once the watch ended: null for a clean close by the server, else the error. */
  ended: { error: unknown } | undefined;
  endedAt: number | undefined;
  /** Waits for an event matching `match`; returns it. */
  next(match: (event: WatchEvent) => boolean, what: string, timeoutMs?: number): Promise<WatchEvent>;
  /** Waits for the server (or a failure) to end the watch. */
  closed(what: string, timeoutMs?: number): Promise<{ error: unknown }>;
  stop(): void;
}

export async function recordWatch(kc: KubeConfig, path: string, query: Record<string, string | number | boolean | undefined> = {}): Promise<RecordedWatch> {
  const recorded: RecordedWatch = {
    events: [],
    ended: undefined,
    endedAt: undefined,
    next: (match, what, timeoutMs = 10_000) => waitFor(() => recorded.events.find(match), { what, timeoutMs }),
    closed: (what, timeoutMs = 10_000) => waitFor(() => recorded.ended, { what, timeoutMs }),
    stop: () => undefined,
  };
  const controller = await new Watch(kc).watch(
    path,
    query,
    (type, object) => {
      recorded.events.push({ type, object: object as WatchEvent['object'] });
    },
    (error) => {
      recorded.ended = { error: error ?? null };
      recorded.endedAt = Date.now();
    },
  );
  recorded.stop = () => controller.abort();
  return recorded;
}

export const named =
  (type: string, name: string) =>
  (event: WatchEvent): boolean =>
    event.type === type && event.object.metadata?.name === name;
