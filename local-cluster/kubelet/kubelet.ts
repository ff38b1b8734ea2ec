/**
 * The local node: watches pods (through the store, as a kubelet watches the
 * API server), binds unscheduled ones to itself, and runs one PodWorker per
 * pod. Status and deletion go through the registry like any client's writes.
 */
import { mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Registry } from '../api-server/registry.js';
import { CONFIG_MAP, POD, SECRET } from '../api-server/resources.js';
import { isRecord, type KubeObject } from '../api-server/types.js';
import type { ApiError } from '../api-server/errors.js';
import { PodWorker, type PodHost } from './pod-worker.js';
import type { EventRecorder } from '../controllers/events.js';

export interface KubeletOptions {
  nodeName: string;
  containerRemovalDelayMs: number;
  restartBackoffBaseMs: number;
  /**
   * Where pods' folders and logs live across restarts (a state folder), as a
   * node keeps /var/log/pods through a reboot. Without it, a temporary folder
   * removed on stop.
   */
  rootDir?: string;
}

const KUBELET_USER = 'system:node:local';

function ignoreNotFound(error: unknown): void {
  if ((error as ApiError).code !== 404) throw error;
}

export class Kubelet {
  private readonly workers = new Map<string, PodWorker>();
  private unsubscribe: (() => void) | undefined;
  private rootDir = '';

  constructor(
    private readonly registry: Registry,
    private readonly events: EventRecorder,
    private readonly options: KubeletOptions,
  ) {}

  async start(): Promise<void> {
    if (this.options.rootDir) {
      this.rootDir = this.options.rootDir;
      await mkdir(this.rootDir, { recursive: true, mode: 0o700 });
    } else {
      this.rootDir = await mkdtemp(path.join(os.tmpdir(), 'local-cluster-kubelet-'));
    }
    const pods = this.registry.store.list(POD);
    // Folders of pods the store no longer has (deleted while the node was down) are garbage.
    const known = new Set(pods.map((p) => p.metadata.uid));
    for (const entry of await readdir(this.rootDir)) if (!known.has(entry)) await rm(path.join(this.rootDir, entry), { recursive: true, force: true });
    this.unsubscribe = this.registry.store.subscribe((event) => {
      if (event.resource !== POD) return;
      if (event.type === 'DELETED') this.forget(event.object);
      else this.sync(event.object);
    });
    for (const pod of pods) {
      // Pods bound here before a restart: their processes died with it.
      if (isRecord(pod.spec) && pod.spec.nodeName === this.options.nodeName) this.workers.set(pod.metadata.uid ?? '', PodWorker.recover(pod, this.host()));
      else this.sync(pod);
    }
  }

  async stop(): Promise<void> {
    this.unsubscribe?.();
    if (this.options.rootDir) {
      await Promise.all([...this.workers.values()].map((w) => w.shutDown()));
    } else {
      await Promise.all([...this.workers.values()].map((w) => w.removeContainers()));
      await rm(this.rootDir, { recursive: true, force: true });
    }
    this.workers.clear();
  }

  worker(pod: KubeObject): PodWorker | undefined {
    return this.workers.get(pod.metadata.uid ?? '');
  }

  private sync(pod: KubeObject): void {
    const uid = pod.metadata.uid ?? '';
    const existing = this.workers.get(uid);
    if (existing) {
      existing.update(pod);
      return;
    }
    const status = isRecord(pod.status) ? pod.status : {};
    // A pod that already ended (or is being deleted before it ran) is not started again.
    if (status.phase === 'Succeeded' || status.phase === 'Failed') return;
    const worker = new PodWorker(pod, this.host());
    this.workers.set(uid, worker);
    if (pod.metadata.deletionTimestamp) {
      worker.update(pod);
      return;
    }
    void worker.start().catch((error: unknown) => {
      this.events.record(pod, 'Warning', 'FailedStart', `local kubelet could not run the pod: ${(error as Error).message}`, 'kubelet', this.options.nodeName);
    });
  }

  private forget(pod: KubeObject): void {
    const uid = pod.metadata.uid ?? '';
    const worker = this.workers.get(uid);
    if (!worker) return;
    this.workers.delete(uid);
    void worker.removeContainers();
  }

  private host(): PodHost {
    const registry = this.registry;
    const ctx = { user: KUBELET_USER };
    return {
      nodeName: this.options.nodeName,
      rootDir: this.rootDir,
      restartBackoffBaseMs: this.options.restartBackoffBaseMs,
      containerRemovalDelayMs: this.options.containerRemovalDelayMs,
      lookup: (kind, namespace, name) => registry.store.get(kind === 'Secret' ? SECRET : CONFIG_MAP, namespace, name),
      bind: async (pod) => {
        if (isRecord(pod.spec) && pod.spec.nodeName) return;
        await registry
          .patch(POD, pod.metadata.namespace, pod.metadata.name ?? '', 'merge', { spec: { nodeName: this.options.nodeName } }, ctx)
          .catch(ignoreNotFound);
      },
      writeStatus: async (pod, status) => {
        await registry
          .patch(POD, pod.metadata.namespace, pod.metadata.name ?? '', 'merge', { status }, ctx, 'status')
          .catch(ignoreNotFound);
      },
      finishDeletion: async (pod) => {
        await registry
          .delete(POD, pod.metadata.namespace, pod.metadata.name ?? '', { gracePeriodSeconds: 0, preconditions: { uid: pod.metadata.uid } }, ctx)
          .catch(ignoreNotFound);
      },
      event: (pod, type, reason, message) => this.events.record(pod, type, reason, message, 'kubelet', this.options.nodeName),
    };
  }
}
