/**
 * Talking to local-cluster from the controller and lib/kube tests: plain
 * JSON calls through lib/kube's client (which speaks the cluster's TLS), and
 * labelled Jobs that run shell scripts.
 */
import type { V1Job, V1Pod } from '@kubernetes/client-node';
import { KubeHttp, type KubeRequest } from '../../../lib/kube/http.js';
import type { LocalCluster } from '../../../local-cluster/index.js';

export interface TestApi {
  request<T = unknown>(options: KubeRequest): Promise<T>;
  /** A GET answered with text (pods/log). */
  text(path: string): Promise<string>;
  create<T>(path: string, body: unknown): Promise<T>;
  get<T>(path: string): Promise<T>;
  mergePatch<T>(path: string, body: unknown): Promise<T>;
  remove(path: string, body?: unknown): Promise<void>;
  close(): void;
}

export function testApi(cluster: LocalCluster): TestApi {
  const http = new KubeHttp(cluster.kubeConfig());
  return {
    request: (options) => http.request(options),
    text: async (path) => {
      const response = await http.stream({ path });
      const chunks: Buffer[] = [];
      for await (const chunk of response) chunks.push(chunk as Buffer);
      return Buffer.concat(chunks).toString('utf8');
    },
    create: (path, body) => http.request({ method: 'POST', path, body }),
    get: (path) => http.request({ path }),
    mergePatch: (path, body) => http.request({ method: 'PATCH', path, body, contentType: 'application/merge-patch+json' }),
    remove: async (path, body) => {
      await http.request({ method: 'DELETE', path, body });
    },
    close: () => http.close(),
  };
}

/** The labels and finalizer the webhook would add (it is not wired in these tests). */
export const MANAGED = { 'pygeoapi.io/managed': 'true' };
export const FINALIZER = 'pygeoapi.io/finalizer-log-retrieval';

export interface ShellJobOptions {
  init?: Array<{ name: string; script: string }>;
  containers?: Array<{ name: string; script: string }>;
  annotations?: Record<string, string>;
  ttlSecondsAfterFinished?: number;
  activeDeadlineSeconds?: number;
  backoffLimit?: number;
  /** Put our finalizer on the pod template (default true). */
  finalizer?: boolean;
  labels?: boolean;
  restartPolicy?: 'Never' | 'OnFailure';
}

/** A labelled Job whose containers run `sh -c <script>`. */
export function shellJob(name: string, options: ShellJobOptions = {}): V1Job {
  const container = (c: { name: string; script: string }): { name: string; image: string; command: string[] } => ({
    name: c.name,
    image: 'busybox:1.36',
    command: ['sh', '-c', c.script],
  });
  const labels = options.labels === false ? undefined : MANAGED;
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name, labels, annotations: options.annotations },
    spec: {
      backoffLimit: options.backoffLimit ?? 0,
      ...(options.ttlSecondsAfterFinished !== undefined ? { ttlSecondsAfterFinished: options.ttlSecondsAfterFinished } : {}),
      ...(options.activeDeadlineSeconds !== undefined ? { activeDeadlineSeconds: options.activeDeadlineSeconds } : {}),
      template: {
        metadata: { labels, ...(options.finalizer === false ? {} : { finalizers: [FINALIZER] }) },
        spec: {
          restartPolicy: options.restartPolicy ?? 'Never',
          initContainers: options.init?.map(container),
          containers: (options.containers ?? [{ name: 'main', script: 'echo hello' }]).map(container),
        },
      },
    },
  };
}

export const jobsPath = (ns: string): string => `/apis/batch/v1/namespaces/${ns}/jobs`;
export const podsPath = (ns: string): string => `/api/v1/namespaces/${ns}/pods`;

export async function podsOfJob(api: TestApi, ns: string, job: string): Promise<V1Pod[]> {
  const list = await api.get<{ items: V1Pod[] }>(`${podsPath(ns)}?labelSelector=${encodeURIComponent(`job-name=${job}`)}`);
  return list.items;
}
