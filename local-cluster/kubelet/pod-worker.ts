/**
 * One pod on the local node: init containers in order, then the containers,
 * each a local process; restarts per restartPolicy with back-off; graceful
 * termination on deletion (SIGTERM, SIGKILL after the grace period); and the
 * removal of its containers and logs a short while after it is deleted, even
 * while finalizers keep the API object.
 */
import { mkdir, rm, stat } from 'node:fs/promises';
import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { isRecord, type KubeObject } from '../api-server/types.js';
import { rfc3339 } from '../api-server/strategies.js';
import { ContainerProcess, type ContainerExit } from './container-process.js';
import { expandVars, resolveEnv, type ObjectLookup } from './container-env.js';
import { LogFile } from './log-file.js';
import {
  podConditions,
  podPhase,
  terminatedReason,
  willRestart,
  lostContainerState,
  type ContainerStatus,
  type PodCondition,
  type PodPhase,
} from './pod-status.js';

export interface PodHost {
  nodeName: string;
  rootDir: string;
  restartBackoffBaseMs: number;
  lookup: ObjectLookup;
  bind(pod: KubeObject): Promise<void>;
  writeStatus(pod: KubeObject, status: Record<string, unknown>): Promise<void>;
  /** Deletes the API object with grace period 0, once the containers are stopped. */
  finishDeletion(pod: KubeObject): Promise<void>;
  event(pod: KubeObject, type: 'Normal' | 'Warning', reason: string, message: string): void;
  containerRemovalDelayMs: number;
}

interface ContainerSlot {
  spec: Record<string, unknown>;
  init: boolean;
  status: ContainerStatus;
  process?: ContainerProcess;
  /** Log of each instance, oldest first. */
  logs: LogFile[];
}

export class PodWorker {
  private pod: KubeObject;
  private readonly slots: ContainerSlot[];
  private phase: PodPhase = 'Pending';
  private initialized = false;
  private initFailed = false;
  private conditions: PodCondition[] = [];
  private terminating = false;
  private stopped = false;
  private removed = false;
  private startTime = rfc3339();
  private statusChain: Promise<void> = Promise.resolve();
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly dir: string;

  constructor(pod: KubeObject, private readonly host: PodHost) {
    this.pod = pod;
    const spec = isRecord(pod.spec) ? pod.spec : {};
    const list = (field: string, init: boolean): ContainerSlot[] =>
      (Array.isArray(spec[field]) ? spec[field] : []).filter(isRecord).map((c: Record<string, unknown>) => ({
        spec: c,
        init,
        logs: [],
        status: {
          name: String(c.name),
          image: String(c.image ?? ''),
          imageID: '',
          ready: false,
          started: false,
          restartCount: 0,
          state: { waiting: { reason: init ? 'PodInitializing' : 'ContainerCreating' } },
          lastState: {},
        },
      }));
    this.slots = [...list('initContainers', true), ...list('containers', false)];
    this.dir = path.join(host.rootDir, pod.metadata.uid ?? 'unknown');
  }

  /**
   * The worker of a pod this node ran before it restarted (its state folder
   * survived, its processes did not): the logs left on disk are served again,
   * and containers that had not terminated are reported as the kubelet
   * reports containers it can no longer find (terminated, exit code 137,
   * ContainerStatusUnknown), which ends the pod — Failed unless every
   * container had already succeeded. A pod being deleted finishes its deletion.
   */
  static recover(pod: KubeObject, host: PodHost): PodWorker {
    const worker = new PodWorker(pod, host);
    const status = isRecord(pod.status) ? pod.status : {};
    const previous = (field: string): ContainerStatus[] => (Array.isArray(status[field]) ? status[field] : []).filter(isRecord) as unknown as ContainerStatus[];
    const known = [...previous('initContainerStatuses'), ...previous('containerStatuses')];
    let changed = false;
    for (const slot of worker.slots) {
      const before = known.find((c) => c.name === slot.status.name);
      if (before) slot.status = structuredClone(before);
      for (let instance = 0; instance <= slot.status.restartCount; instance++) {
        const file = path.join(worker.dir, `${slot.status.name}-${instance}.log`);
        if (existsSync(file)) slot.logs.push(new LogFile(file, statSync(file).size));
      }
      if (!slot.status.state.terminated) {
        slot.status.state = lostContainerState();
        slot.status.ready = false;
        slot.status.started = false;
        changed = true;
      }
    }
    if (typeof status.startTime === 'string') worker.startTime = status.startTime;
    worker.conditions = (Array.isArray(status.conditions) ? status.conditions : []).filter(isRecord) as unknown as PodCondition[];
    const inits = worker.slots.filter((s) => s.init);
    worker.initialized = inits.every((s) => s.status.state.terminated?.exitCode === 0);
    worker.initFailed = !worker.initialized;
    worker.stopped = true;
    worker.terminating = pod.metadata.deletionTimestamp !== undefined;
    // Removed before the restart (deleted, past containerRemovalDelayMs): logs answer 404 as before.
    worker.removed = !existsSync(worker.dir);
    if (changed || (status.phase !== 'Succeeded' && status.phase !== 'Failed')) worker.publish();
    if (pod.metadata.deletionTimestamp) void worker.completeDeletion();
    return worker;
  }

  private get restartPolicy(): string {
    return isRecord(this.pod.spec) ? String(this.pod.spec.restartPolicy ?? 'Always') : 'Always';
  }

  /** Containers and their logs are gone (the kubelet removed them). */
  get containersRemoved(): boolean {
    return this.removed;
  }

  logFor(container: string, previous: boolean): { file?: LogFile; slot?: ContainerSlot } {
    const slot = this.slots.find((s) => s.status.name === container);
    if (!slot) return {};
    const file = previous ? slot.logs[slot.logs.length - 2] : slot.logs[slot.logs.length - 1];
    return { file, slot };
  }

  containerNames(): { init: string[]; main: string[] } {
    return {
      init: this.slots.filter((s) => s.init).map((s) => s.status.name),
      main: this.slots.filter((s) => !s.init).map((s) => s.status.name),
    };
  }

  async start(): Promise<void> {
    await mkdir(path.join(this.dir, 'root'), { recursive: true });
    await this.host.bind(this.pod);
    this.host.event(this.pod, 'Normal', 'Scheduled', `Successfully assigned ${this.pod.metadata.namespace}/${this.pod.metadata.name} to ${this.host.nodeName}`);
    this.startTime = rfc3339();
    this.publish();
    for (const slot of this.slots.filter((s) => s.init)) {
      if (this.terminating) return;
      const ok = await this.runToCompletion(slot);
      if (!ok) {
        this.initFailed = true;
        this.finish();
        return;
      }
    }
    if (this.terminating) return;
    this.initialized = true;
    await Promise.all(this.slots.filter((s) => !s.init).map((slot) => this.runToCompletion(slot)));
    this.finish();
  }

  /** Runs a container (restarting it as the policy says) until it is done; true if it ended with 0. */
  private async runToCompletion(slot: ContainerSlot): Promise<boolean> {
    for (;;) {
      if (this.terminating) return false;
      const exit = await this.runOnce(slot);
      if (exit === undefined) return false;
      const restart = slot.init ? this.restartPolicy !== 'Never' && exit.exitCode !== 0 : willRestart(this.restartPolicy, exit.exitCode);
      if (!restart || this.terminating) return exit.exitCode === 0;
      const delay = Math.min(this.host.restartBackoffBaseMs * 2 ** slot.status.restartCount, 300_000);
      slot.status.lastState = slot.status.state;
      slot.status.restartCount++;
      slot.status.state = { waiting: { reason: 'CrashLoopBackOff', message: `back-off ${Math.round(delay / 1000)}s restarting failed container=${slot.status.name} pod=${this.pod.metadata.name}` } };
      this.host.event(this.pod, 'Warning', 'BackOff', `Back-off restarting failed container ${slot.status.name} in pod ${this.pod.metadata.name}`);
      this.publish();
      await this.sleep(delay);
    }
  }

  private async runOnce(slot: ContainerSlot): Promise<ContainerExit | undefined> {
    const resolved = resolveEnv(this.pod, slot.spec, this.host.lookup);
    if ('error' in resolved) {
      slot.status.state = { waiting: { reason: 'CreateContainerConfigError', message: resolved.error } };
      this.host.event(this.pod, 'Warning', 'Failed', `Error: ${resolved.error}`);
      this.publish();
      // The real kubelet keeps retrying until the referenced object appears.
      await this.sleep(1000);
      return this.terminating ? undefined : this.runOnce(slot);
    }
    const env = resolved.env;
    const expand = (v: unknown): string => expandVars(String(v), env);
    const argv = [...(Array.isArray(slot.spec.command) ? slot.spec.command : []), ...(Array.isArray(slot.spec.args) ? slot.spec.args : [])].map(expand);
    const startedAt = rfc3339();
    const log = new LogFile(path.join(this.dir, `${slot.status.name}-${slot.status.restartCount}.log`));
    slot.logs.push(log);
    if (!Array.isArray(slot.spec.command) || slot.spec.command.length === 0) {
      await log.close();
      const message = `local-cluster runs containers as local processes and does not pull images: container "${slot.status.name}" has no command, so image "${slot.status.image}"'s entrypoint cannot be run`;
      return this.recordExit(slot, { exitCode: 128, startError: message }, startedAt);
    }
    const cwd = await this.workingDir(slot.spec.workingDir);
    const process_ = new ContainerProcess({
      argv,
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOSTNAME: this.pod.metadata.name ?? '', HOME: cwd, ...env },
      cwd,
      log,
    });
    slot.process = process_;
    slot.status.containerID = `local://${process_.pid ?? 0}`;
    slot.status.state = { running: { startedAt } };
    slot.status.started = true;
    slot.status.ready = !slot.init;
    this.host.event(this.pod, 'Normal', 'Created', `Created container: ${slot.status.name}`);
    this.host.event(this.pod, 'Normal', 'Started', `Started container ${slot.status.name}`);
    this.publish();
    const exit = await process_.exited;
    slot.process = undefined;
    return this.recordExit(slot, exit, startedAt);
  }

  private recordExit(slot: ContainerSlot, exit: ContainerExit, startedAt: string): ContainerExit {
    slot.status.ready = false;
    slot.status.started = false;
    slot.status.state = {
      terminated: {
        exitCode: exit.exitCode,
        reason: terminatedReason(exit.exitCode, exit.startError !== undefined),
        ...(exit.startError ? { message: exit.startError } : {}),
        startedAt,
        finishedAt: rfc3339(),
        ...(slot.status.containerID ? { containerID: slot.status.containerID } : {}),
      },
    };
    if (exit.startError) this.host.event(this.pod, 'Warning', 'Failed', `Error: ${exit.startError}`);
    this.publish();
    return exit;
  }

  private async workingDir(requested: unknown): Promise<string> {
    const fallback = path.join(this.dir, 'root');
    if (typeof requested !== 'string' || requested === '') return fallback;
    try {
      if ((await stat(requested)).isDirectory()) return requested;
    } catch {
      // Not on this machine: the container's own root stands in.
    }
    return fallback;
  }

  private finish(): void {
    this.stopped = true;
    this.publish();
    if (this.pod.metadata.deletionTimestamp) void this.completeDeletion();
  }

  /** Called with every new version of the pod object. */
  update(pod: KubeObject): void {
    this.pod = pod;
    if (pod.metadata.deletionTimestamp && !this.terminating) void this.terminate();
  }

  private async terminate(): Promise<void> {
    this.terminating = true;
    const grace = (this.pod.metadata.deletionGracePeriodSeconds ?? 30) * 1000;
    const running = this.slots.filter((s) => s.process);
    for (const slot of running) {
      this.host.event(this.pod, 'Normal', 'Killing', `Stopping container ${slot.status.name}`);
      slot.process!.kill('SIGTERM');
    }
    const killer = setTimeout(() => running.forEach((s) => s.process?.kill('SIGKILL')), grace);
    this.timers.add(killer);
    for (const t of this.timers) if (t !== killer) clearTimeout(t);
    await Promise.all(running.map((s) => s.process?.exited));
    clearTimeout(killer);
    if (!this.stopped) this.finish();
    else await this.completeDeletion();
  }

  private deletionDone = false;
  private async completeDeletion(): Promise<void> {
    if (this.deletionDone) return;
    this.deletionDone = true;
    await this.statusChain;
    await this.host.finishDeletion(this.pod);
    const timer = setTimeout(() => void this.removeContainers(), this.host.containerRemovalDelayMs);
    this.timers.add(timer);
  }

  /** The kubelet's container garbage collection: processes, containers and logs go. */
  async removeContainers(): Promise<void> {
    if (this.removed) return;
    this.removed = true;
    this.terminating = true;
    for (const t of this.timers) clearTimeout(t);
    for (const slot of this.slots) slot.process?.kill('SIGKILL');
    await Promise.all(this.slots.map((s) => s.process?.exited));
    await rm(this.dir, { recursive: true, force: true });
  }

  /**
   * The node shuts down: processes are killed and nothing more is reported,
   * so the pod's last status stays what the API server had (recovery after
   * the restart reports the lost containers). Logs stay on disk.
   */
  async shutDown(): Promise<void> {
    this.shuttingDown = true;
    this.terminating = true;
    for (const t of this.timers) clearTimeout(t);
    for (const slot of this.slots) slot.process?.kill('SIGKILL');
    await Promise.all(this.slots.map((s) => s.process?.exited));
  }

  private shuttingDown = false;

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.timers.delete(timer);
        resolve();
      }, ms);
      this.timers.add(timer);
    });
  }

  private publish(): void {
    if (this.shuttingDown) return;
    const main = this.slots.filter((s) => !s.init).map((s) => s.status);
    const init = this.slots.filter((s) => s.init).map((s) => s.status);
    this.phase = podPhase({ initFailed: this.initFailed, initialized: this.initialized, stopped: this.stopped, main });
    const now = rfc3339();
    this.conditions = podConditions(this.phase, this.initialized, main, this.conditions, now);
    const status: Record<string, unknown> = {
      phase: this.phase,
      conditions: this.conditions,
      hostIP: '127.0.0.1',
      hostIPs: [{ ip: '127.0.0.1' }],
      podIP: '127.0.0.1',
      podIPs: [{ ip: '127.0.0.1' }],
      startTime: this.startTime,
      containerStatuses: structuredClone(main),
      qosClass: 'BestEffort',
      ...(init.length ? { initContainerStatuses: structuredClone(init) } : {}),
    };
    const pod = this.pod;
    this.statusChain = this.statusChain.then(() => this.host.writeStatus(pod, status)).catch(() => undefined);
  }
}
