/**
 * Pure decisions of the kubelet about a pod's status: its phase from the
 * container states, conditions, and the container status records.
 */
export interface ContainerState {
  waiting?: { reason: string; message?: string };
  running?: { startedAt: string };
  terminated?: {
    exitCode: number;
    signal?: number;
    reason: string;
    message?: string;
    startedAt?: string;
    finishedAt: string;
    containerID?: string;
  };
}

export interface ContainerStatus {
  name: string;
  image: string;
  imageID: string;
  containerID?: string;
  ready: boolean;
  started: boolean;
  restartCount: number;
  state: ContainerState;
  lastState: ContainerState;
}

export type PodPhase = 'Pending' | 'Running' | 'Succeeded' | 'Failed';

export function terminatedReason(exitCode: number, startError: boolean): string {
  if (startError) return 'StartError';
  return exitCode === 0 ? 'Completed' : 'Error';
}

/**
 * What the kubelet reports for a container it can no longer find (its node
 * restarted, the runtime lost it): its words and exit code.
 */
export function lostContainerState(): ContainerState {
  return {
    terminated: {
      exitCode: 137,
      reason: 'ContainerStatusUnknown',
      message: 'The container could not be located when the pod was terminated',
      finishedAt: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'),
    },
  };
}

export interface PhaseInput {
  initFailed: boolean;
  initialized: boolean;
  /** No container will run again. */
  stopped: boolean;
  main: ContainerStatus[];
}

/**
 * The phase: Pending until the main containers start; Running while any runs
 * or will run again; once all have stopped, Succeeded when every one ended
 * with 0 and Failed otherwise.
 */
export function podPhase({ initFailed, initialized, stopped, main }: PhaseInput): PodPhase {
  if (initFailed) return 'Failed';
  if (stopped) return main.length > 0 && main.every((c) => c.state.terminated?.exitCode === 0) ? 'Succeeded' : 'Failed';
  const started = main.some((c) => c.state.running || c.state.terminated || c.restartCount > 0);
  return initialized && started ? 'Running' : 'Pending';
}

export function willRestart(restartPolicy: string, exitCode: number): boolean {
  return restartPolicy === 'Always' || (restartPolicy === 'OnFailure' && exitCode !== 0);
}

export interface PodCondition {
  type: string;
  status: 'True' | 'False';
  lastProbeTime: null;
  lastTransitionTime: string;
  reason?: string;
}

export function podConditions(
  phase: PodPhase,
  initialized: boolean,
  main: ContainerStatus[],
  previous: PodCondition[],
  now: string,
): PodCondition[] {
  const allRunning = main.length > 0 && main.every((c) => c.state.running);
  const done = phase === 'Succeeded' || phase === 'Failed';
  const wanted: Array<[string, boolean, string | undefined]> = [
    ['PodReadyToStartContainers', !done, undefined],
    ['Initialized', initialized, initialized ? undefined : 'ContainersNotInitialized'],
    ['Ready', allRunning, allRunning ? undefined : done ? 'PodCompleted' : 'ContainersNotReady'],
    ['ContainersReady', allRunning, allRunning ? undefined : done ? 'PodCompleted' : 'ContainersNotReady'],
    ['PodScheduled', true, undefined],
  ];
  return wanted.map(([type, ok, reason]) => {
    const status = ok ? 'True' : 'False';
    const before = previous.find((c) => c.type === type);
    return {
      type,
      status,
      lastProbeTime: null,
      lastTransitionTime: before && before.status === status ? before.lastTransitionTime : now,
      ...(reason ? { reason } : {}),
    };
  });
}
