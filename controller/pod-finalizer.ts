/**
 * Changing pods safely while others change them too: our finalizer is added
 * under a resourceVersion test and removed with a JSON-Patch `test` of the
 * exact list entry before its `remove`, so other finalizers are never
 * touched; a conflict means re-read and try again.
 */
import type { V1Pod } from '@kubernetes/client-node';
import { ANNOTATIONS, LOG_FINALIZER } from '../lib/contract.js';
import { isApiError, type KubeHttp } from '../lib/kube/http.js';

const JSON_PATCH = 'application/json-patch+json';
const MERGE_PATCH = 'application/merge-patch+json';
const ATTEMPTS = 5;

function podPath(namespace: string, name: string): string {
  return `/api/v1/namespaces/${namespace}/pods/${name}`;
}

/** The JSON Patch that adds our finalizer to this version of the pod (undefined if it has it). */
export function addFinalizerPatch(pod: V1Pod): unknown[] | undefined {
  const finalizers = pod.metadata?.finalizers;
  if (finalizers?.includes(LOG_FINALIZER)) return undefined;
  const guard = { op: 'test', path: '/metadata/resourceVersion', value: pod.metadata?.resourceVersion };
  return finalizers === undefined
    ? [guard, { op: 'add', path: '/metadata/finalizers', value: [LOG_FINALIZER] }]
    : [guard, { op: 'add', path: '/metadata/finalizers/-', value: LOG_FINALIZER }];
}

/** The JSON Patch that removes exactly our finalizer entry of this version of the pod (undefined if absent). */
export function removeFinalizerPatch(pod: V1Pod): unknown[] | undefined {
  const index = pod.metadata?.finalizers?.indexOf(LOG_FINALIZER) ?? -1;
  if (index < 0) return undefined;
  return [
    { op: 'test', path: `/metadata/finalizers/${index}`, value: LOG_FINALIZER },
    { op: 'remove', path: `/metadata/finalizers/${index}` },
  ];
}

export type ReleaseResult = 'removed' | 'absent' | 'pod-gone';

export class PodFinalizers {
  constructor(private readonly http: KubeHttp) {}

  /** Adds our finalizer; false if the pod is gone or being deleted (no finalizers may be added then). */
  async add(pod: V1Pod, signal: AbortSignal): Promise<boolean> {
    const namespace = pod.metadata?.namespace ?? '';
    const name = pod.metadata?.name ?? '';
    let current: V1Pod | undefined = pod;
    for (let attempt = 1; ; attempt++) {
      if (!current) current = await this.read(namespace, name, signal);
      if (!current || current.metadata?.deletionTimestamp) return false;
      const patch = addFinalizerPatch(current);
      if (!patch) return true;
      try {
        await this.http.request({ method: 'PATCH', path: podPath(namespace, name), body: patch, contentType: JSON_PATCH, signal });
        return true;
      } catch (error) {
        if (isApiError(error, 404)) return false;
        if (!isApiError(error, 409, 422) || attempt >= ATTEMPTS) throw error;
        current = undefined;
      }
    }
  }

  /** Marks the pod archived (the annotation names where its logs are). */
  async markArchived(namespace: string, name: string, location: string, signal: AbortSignal): Promise<boolean> {
    try {
      await this.http.request({
        method: 'PATCH',
        path: podPath(namespace, name),
        body: { metadata: { annotations: { [ANNOTATIONS.logArchive]: location } } },
        contentType: MERGE_PATCH,
        signal,
      });
      return true;
    } catch (error) {
      if (isApiError(error, 404)) return false;
      throw error;
    }
  }

  /** Removes our finalizer (and only it), re-reading on conflicts. */
  async release(namespace: string, name: string, signal: AbortSignal): Promise<ReleaseResult> {
    for (let attempt = 1; ; attempt++) {
      const pod = await this.read(namespace, name, signal);
      if (!pod) return 'pod-gone';
      const patch = removeFinalizerPatch(pod);
      if (!patch) return 'absent';
      try {
        await this.http.request({ method: 'PATCH', path: podPath(namespace, name), body: patch, contentType: JSON_PATCH, signal });
        return 'removed';
      } catch (error) {
        if (isApiError(error, 404)) return 'pod-gone';
        if (!isApiError(error, 409, 422) || attempt >= ATTEMPTS) throw error;
      }
    }
  }

  private async read(namespace: string, name: string, signal: AbortSignal): Promise<V1Pod | undefined> {
    try {
      return await this.http.request<V1Pod>({ path: podPath(namespace, name), signal });
    } catch (error) {
      if (isApiError(error, 404)) return undefined;
      throw error;
    }
  }
}
