/**
 * When to try a failed callback again, and when to stop: exponential
 * back-off with jitter, bounded by a number of attempts and by a horizon
 * (time since the first failure). Pure.
 */
export interface RetryPolicy {
  maxAttempts: number;
  horizonMs: number;
  baseDelayMs: number;
  maxDelayMs: number;
}

export const DEFAULT_BACKOFF = { baseDelayMs: 5_000, maxDelayMs: 60 * 60_000 } as const;

export type RetryDecision = { retryInMs: number } | { giveUp: string };

/**
 * `attempts`: failed attempts so far (≥ 1); `random` in [0, 1).
 * The delay is drawn from [½, 1] × base × 2^(attempts−1), capped at maxDelayMs.
 */
export function nextRetry(attempts: number, firstFailureAt: number, now: number, policy: RetryPolicy, random: number): RetryDecision {
  if (attempts >= policy.maxAttempts) return { giveUp: `${attempts} attempt${attempts === 1 ? '' : 's'} failed` };
  const delay = Math.min(policy.baseDelayMs * 2 ** (attempts - 1), policy.maxDelayMs) * (0.5 + random / 2);
  if (now + delay - firstFailureAt > policy.horizonMs) {
    return { giveUp: `still failing after ${Math.round((now - firstFailureAt) / 1000)} s (${attempts} attempts); the retry horizon is ${Math.round(policy.horizonMs / 1000)} s` };
  }
  return { retryInMs: Math.round(delay) };
}
