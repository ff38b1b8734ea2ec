/**
 * What the controller reads off a pod: its containers (init first, in spec
 * order) and whether each has run, runs, or can still run; the pod's Job;
 * our finalizer and archive mark. Pure.
 */
import type { V1ContainerStatus, V1Pod } from '@kubernetes/client-node';
import { ANNOTATIONS, LOG_FINALIZER } from '../lib/contract.js';

export interface ContainerView {
  name: string;
  init: boolean;
  restartCount: number;
  /** An instance of it has run or runs (so there is, or was, a log). */
  everStarted: boolean;
  running: boolean;
  /** The current instance has ended. */
  terminated: boolean;
  /** The runtime's ID of the current instance (of the last one, between instances), when the status names it. */
  containerID?: string;
  /** The runtime's ID of the instance before, when the status names it. */
  lastContainerID?: string;
}

export function isTerminalPhase(pod: V1Pod): boolean {
  return pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed';
}

function view(name: string, init: boolean, status: V1ContainerStatus | undefined): ContainerView {
  const restartCount = status?.restartCount ?? 0;
  const running = status?.state?.running !== undefined;
  const terminated = status?.state?.terminated !== undefined;
  const containerID = status?.containerID ?? status?.state?.terminated?.containerID;
  const lastContainerID = status?.lastState?.terminated?.containerID;
  return {
    name,
    init,
    restartCount,
    running,
    terminated,
    everStarted: running || terminated || status?.lastState?.terminated !== undefined || restartCount > 0,
    ...(containerID ? { containerID } : {}),
    ...(lastContainerID ? { lastContainerID } : {}),
  };
}

/** Every container of the pod, init containers first, in spec order. */
export function containerViews(pod: V1Pod): ContainerView[] {
  const statuses = (list: V1ContainerStatus[] | undefined, name: string): V1ContainerStatus | undefined => list?.find((s) => s.name === name);
  return [
    ...(pod.spec?.initContainers ?? []).map((c) => view(c.name, true, statuses(pod.status?.initContainerStatuses, c.name))),
    ...(pod.spec?.containers ?? []).map((c) => view(c.name, false, statuses(pod.status?.containerStatuses, c.name))),
  ];
}

export function containerView(pod: V1Pod, name: string): ContainerView | undefined {
  return containerViews(pod).find((c) => c.name === name);
}

/** No container of the pod will start (again): it ended, or it is being deleted and nothing runs any more. */
export function podWillRunNothingMore(pod: V1Pod): boolean {
  if (isTerminalPhase(pod)) return true;
  return pod.metadata?.deletionTimestamp !== undefined && !containerViews(pod).some((c) => c.running);
}

/**
 * Whether a container whose current instance ended may still get another
 * instance: not once the pod is done, nor after an init container succeeded,
 * nor under restartPolicy Never.
 */
export function mayRestart(pod: V1Pod, container: ContainerView, exitCode: number | undefined): boolean {
  if (podWillRunNothingMore(pod)) return false;
  const policy = pod.spec?.restartPolicy ?? 'Always';
  if (policy === 'Never') return false;
  if (container.init || policy === 'OnFailure') return exitCode !== 0;
  return true;
}

export function exitCodeOf(pod: V1Pod, name: string): number | undefined {
  const all = [...(pod.status?.initContainerStatuses ?? []), ...(pod.status?.containerStatuses ?? [])];
  return all.find((s) => s.name === name)?.state?.terminated?.exitCode;
}

export function hasLogFinalizer(pod: V1Pod): boolean {
  return pod.metadata?.finalizers?.includes(LOG_FINALIZER) ?? false;
}

export function archiveMark(pod: V1Pod): string | undefined {
  return pod.metadata?.annotations?.[ANNOTATIONS.logArchive];
}

/** The pod's Job: its controlling owner, else the job-name labels (pods the Python manager made keep them). */
export function jobRefOf(pod: V1Pod): { name: string; uid?: string } | undefined {
  const owner = pod.metadata?.ownerReferences?.find((r) => r.kind === 'Job' && r.controller !== false);
  if (owner) return { name: owner.name, uid: owner.uid };
  const labels = pod.metadata?.labels ?? {};
  const name = labels['batch.kubernetes.io/job-name'] ?? labels['job-name'];
  return name ? { name } : undefined;
}
