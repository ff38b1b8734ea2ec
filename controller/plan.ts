/**
 * What to do next with a pod, decided from its current state (never from
 * the event that woke us): add our finalizer, capture its logs, archive
 * them, release the finalizer, hold it, or give up. Pure; the reconciler
 * carries the plan out.
 *
 * The rules, in short:
 * - Logs are captured from the moment a container starts, because a pod
 *   deleted while running (dismiss, activeDeadlineSeconds, eviction) loses
 *   its logs soon after, finalizer or not.
 * - A pod is archived once it ended (or is being deleted and its capture is
 *   over) and its Job's outcome is known (finished, gone, or the pod is
 *   going anyway), so the job record says how the job ended.
 * - The finalizer goes only after the archive is verified, or when the
 *   give-up deadline passes for a pod stuck in deletion.
 */
import type { V1Pod } from '@kubernetes/client-node';
import { archiveMark, hasLogFinalizer, isTerminalPhase } from './pod-view.js';

/** Where the capture of a pod's logs stands. */
export type CaptureState = 'none' | 'capturing' | 'complete' | 'incomplete';

export interface PodFacts {
  /** The pod is one of ours (label, our finalizer, or a Python-made job pod). */
  managed: boolean;
  hasFinalizer: boolean;
  /** The log-archive mark is on the pod: its logs are in S3. */
  archived: boolean;
  deletionTimestamp?: Date;
  /** The pod ended (Succeeded or Failed). */
  terminal: boolean;
  capture: CaptureState;
  /** The pod's Job finished, was deleted, or there is none. */
  jobSettled: boolean;
  archiveConfigured: boolean;
  now: Date;
  /** 0 = never. */
  giveUpSeconds: number;
}

export type PodAction =
  | { kind: 'ignore' }
  | { kind: 'wait'; reason: string; recheckAfterMs?: number }
  | { kind: 'archive' }
  | { kind: 'release' }
  | { kind: 'give-up'; heldSeconds: number }
  | { kind: 'hold'; recheckAfterMs?: number };

export interface PodPlan {
  addFinalizer: boolean;
  /** Logs should be (or keep being) captured. */
  capture: boolean;
  action: PodAction;
}

export function podFacts(
  pod: V1Pod,
  context: { managed: boolean; capture: CaptureState; jobSettled: boolean; archiveConfigured: boolean; now: Date; giveUpSeconds: number },
): PodFacts {
  const deletion = pod.metadata?.deletionTimestamp;
  return {
    ...context,
    hasFinalizer: hasLogFinalizer(pod),
    archived: archiveMark(pod) !== undefined,
    ...(deletion ? { deletionTimestamp: new Date(deletion) } : {}),
    terminal: isTerminalPhase(pod),
  };
}

export function planPod(facts: PodFacts): PodPlan {
  const none: PodPlan = { addFinalizer: false, capture: false, action: { kind: 'ignore' } };
  if (!facts.managed) return none;
  if (facts.archived) return { ...none, action: facts.hasFinalizer ? { kind: 'release' } : { kind: 'ignore' } };

  const deleting = facts.deletionTimestamp !== undefined;
  // The API server refuses new finalizers on an object being deleted.
  const addFinalizer = !facts.hasFinalizer && !deleting;
  const holding = facts.hasFinalizer || addFinalizer;

  let recheckAfterMs: number | undefined;
  if (deleting && facts.hasFinalizer && facts.giveUpSeconds > 0) {
    const heldMs = facts.now.getTime() - facts.deletionTimestamp!.getTime();
    const remainingMs = facts.giveUpSeconds * 1000 - heldMs;
    if (remainingMs <= 0) return { addFinalizer: false, capture: false, action: { kind: 'give-up', heldSeconds: Math.floor(heldMs / 1000) } };
    recheckAfterMs = remainingMs;
  }
  const withRecheck = <T extends object>(action: T): T => (recheckAfterMs !== undefined ? { ...action, recheckAfterMs } : action);

  if (!facts.archiveConfigured) {
    return { addFinalizer, capture: false, action: holding ? withRecheck({ kind: 'hold' }) : { kind: 'ignore' } };
  }
  const plan = (action: PodAction): PodPlan => ({ addFinalizer, capture: true, action });
  if (facts.capture === 'none' || facts.capture === 'capturing') {
    return plan(withRecheck({ kind: 'wait', reason: facts.terminal || deleting ? 'capturing the last of the logs' : 'pod is running' }));
  }
  // The capture is over: every container ended, or its logs are gone.
  if (!facts.terminal && !deleting) return plan(withRecheck({ kind: 'wait', reason: 'pod has not ended' }));
  if (!facts.jobSettled && !deleting) return plan(withRecheck({ kind: 'wait', reason: "the Job's outcome is not known yet" }));
  return plan({ kind: 'archive' });
}
