/**
 * Exponential back-off with jitter, and an abortable sleep: every retry loop
 * in lib/kube and the controller waits through these, so a stop() never has
 * to wait out a timer.
 */

export interface BackoffPolicy {
  baseMs: number;
  maxMs: number;
}

/**
 * Delay before retry number `attempt` (1 = first retry): base · 2^(attempt-1),
 * capped, then scaled by a random factor in [0.5, 1) so that many clients
 * failing together do not retry in lockstep.
 */
export function backoffDelay(policy: BackoffPolicy, attempt: number, random: () => number = Math.random): number {
  const exponent = Math.min(Math.max(attempt - 1, 0), 30);
  const capped = Math.min(policy.baseMs * 2 ** exponent, policy.maxMs);
  return capped * (0.5 + random() / 2);
}

/** Resolves after `ms`, or as soon as `signal` aborts (never rejects). */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) {
      resolve();
      return;
    }
    const done = (): void => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}
