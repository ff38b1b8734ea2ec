/**
 * Shared pieces of the local-cluster end-to-end tests: a cluster that stops
 * with the test, client-node clients for it, API error bodies, raw HTTP
 * requests and small manifests that run shell scripts.
 */
import http, { type IncomingHttpHeaders } from 'node:http';
import https from 'node:https';
import { ApiException, CoreV1Api, type KubeConfig, type V1Job, type V1Pod, type V1PodSpec } from '@kubernetes/client-node';
import { startLocalCluster, type LocalCluster, type LocalClusterOptions } from '../../local-cluster/index.js';

/** What the tests need of tap's `t` to clean up after themselves. */
export interface Teardown {
  teardown(fn: () => unknown): void;
}

/** Short delays and back-offs, so a whole file runs in seconds. */
const FAST: LocalClusterOptions = {
  containerRemovalDelayMs: 1_500,
  restartBackoffBaseMs: 50,
  jobBackoffBaseMs: 50,
};

export async function startTestCluster(t: Teardown, options: LocalClusterOptions = {}): Promise<LocalCluster> {
  const cluster = await startLocalCluster({ ...FAST, ...options, port: 0 });
  t.teardown(() => cluster.stop());
  return cluster;
}

/** A cluster that refuses what RBAC does not allow (for tests of our manifests' Roles). */
export function startEnforcingCluster(t: Teardown, options: LocalClusterOptions = {}): Promise<LocalCluster> {
  return startTestCluster(t, { ...options, enforceRbac: true });
}

/**
 * A client-node KubeConfig that acts as the ServiceAccount `namespace/name`
 * with a token minted by the cluster; the account is created when missing.
 */
export async function serviceAccountKubeConfig(cluster: LocalCluster, namespace: string, name: string): Promise<{ kubeConfig: KubeConfig; token: string }> {
  const core = cluster.kubeConfig().makeApiClient(CoreV1Api);
  try {
    await core.createNamespacedServiceAccount({ namespace, body: { metadata: { name } } });
  } catch (error) {
    if (!(error instanceof ApiException && error.code === 409)) throw error;
  }
  const token = await cluster.createToken(namespace, name);
  return { kubeConfig: cluster.kubeConfig({ namespace, token }), token };
}

/** A metav1.Status as the API server sends it with an error. */
export interface ApiStatus {
  kind?: string;
  status?: string;
  code?: number;
  reason?: string;
  message?: string;
  details?: { name?: string; group?: string; kind?: string; uid?: string; causes?: Array<{ reason?: string; field?: string; message?: string }>; retryAfterSeconds?: number };
}

function parseStatus(body: unknown): ApiStatus {
  if (typeof body === 'string') {
    try {
      return JSON.parse(body) as ApiStatus;
    } catch {
      return { message: body };
    }
  }
  return typeof body === 'object' && body !== null ? (body as ApiStatus) : {};
}

/** Awaits a call that must fail with an API error; returns its HTTP code and Status body. */
export async function apiFailure(call: Promise<unknown>): Promise<{ httpCode: number; status: ApiStatus; headers: Record<string, string> }> {
  try {
    await call;
  } catch (error) {
    if (error instanceof ApiException) {
      return { httpCode: error.code, status: parseStatus(error.body), headers: (error.headers ?? {}) as Record<string, string> };
    }
    throw error;
  }
  throw new Error('expected the API call to fail, but it succeeded');
}

export interface RawResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
  text: string;
  json(): unknown;
}

/** A plain HTTPS request to the API server (no client library in between), trusting the cluster's CA. */
export function rawRequest(
  cluster: LocalCluster,
  method: string,
  path: string,
  options: { body?: unknown; contentType?: string; headers?: Record<string, string>; token?: string } = {},
): Promise<RawResponse> {
  const headers: Record<string, string> = { ...options.headers, ...(options.token ? { authorization: `Bearer ${options.token}` } : {}) };
  let body: string | undefined;
  if (options.body !== undefined) {
    body = typeof options.body === 'string' ? options.body : JSON.stringify(options.body);
    headers['content-type'] = options.contentType ?? 'application/json';
  }
  const url = new URL(path, cluster.url);
  const send = url.protocol === 'https:' ? https.request : http.request;
  return new Promise((resolve, reject) => {
    const request = send(url, { method, headers, ca: cluster.caPem, agent: false }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('error', reject);
      response.on('end', () => {
        const buffer = Buffer.concat(chunks);
        const text = buffer.toString('utf8');
        resolve({ status: response.statusCode ?? 0, headers: response.headers, body: buffer, text, json: () => JSON.parse(text) as unknown });
      });
    });
    request.on('error', reject);
    request.end(body);
  });
}

/** A container that runs `script` with sh (the local kubelet runs commands, not images). */
export function shellContainer(name: string, script: string): { name: string; image: string; command: string[] } {
  return { name, image: 'busybox:1.36', command: ['sh', '-c', script] };
}

export function shellPod(name: string, script: string, spec: Partial<V1PodSpec> = {}, metadata: V1Pod['metadata'] = {}): V1Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, ...metadata },
    spec: { restartPolicy: 'Never', containers: [shellContainer('main', script)], ...spec },
  };
}

export function shellJob(name: string, script: string, spec: Partial<NonNullable<V1Job['spec']>> = {}, podSpec: Partial<V1PodSpec> = {}): V1Job {
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name },
    spec: {
      template: { spec: { restartPolicy: 'Never', containers: [shellContainer('main', script)], ...podSpec } },
      ...spec,
    },
  };
}

/** True while a process with this pid exists: the product's own check, for tests that watch container processes. */
export { processAlive } from '../../cmd/state-lock.js';

/** The pid of a running container, from the `local://<pid>` containerID the local kubelet reports. */
export function containerPid(pod: V1Pod, container = 'main'): number | undefined {
  const status = [...(pod.status?.initContainerStatuses ?? []), ...(pod.status?.containerStatuses ?? [])].find((c) => c.name === container);
  const match = /^local:\/\/(\d+)$/.exec(status?.containerID ?? '');
  return match ? Number(match[1]) : undefined;
}

export function conditionOf(job: V1Job, type: string): { status: string; reason?: string; message?: string } | undefined {
  return job.status?.conditions?.find((c) => c.type === type);
}
