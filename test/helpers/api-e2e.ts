/**
 * The API under test: startApi() against a local cluster, with a
 * configuration file, plus plain-fetch requests, OGC schema checks of the
 * bodies and bounded waits on job states.
 */
import { BatchV1Api, CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { startApi, type RunningApi } from '../../api/index.js';
import type { Resolver } from '../../api/callbacks/post-callback.js';
import { loadConfigFile } from '../../lib/config/index.js';
import type { ManagerConfig } from '../../lib/config/types.js';
import type { Authenticator } from '../../api/auth/authenticator.js';
import type { LocalCluster } from '../../local-cluster/index.js';
import type { Teardown } from './local-cluster.js';
import { expectOgc } from './ogc-schemas.js';
import { waitFor } from './wait-for.js';

/** Distinctive, so a search for it in Jobs, pods, logs and documents cannot hit anything else. */
export const API_TOKEN = 'e2e-token-Zq7Xv3Lm9Kd2Rw8T';

export interface ApiResponse {
  status: number;
  headers: Headers;
  text: string;
  /** The body parsed as JSON (throws when it is not JSON). */
  json<T = Record<string, unknown>>(): T;
}

export interface RequestOptions {
  /** Sent as JSON unless a string. */
  body?: unknown;
  headers?: Record<string, string>;
}

export interface ApiHarness {
  cluster: LocalCluster;
  namespace: string;
  config: ManagerConfig;
  api: RunningApi;
  metrics: Registry;
  kubeConfig: KubeConfig;
  batch: BatchV1Api;
  core: CoreV1Api;
  /** The public base URL the API writes into links (server.url). */
  publicUrl: string;
  request(method: string, path: string, options?: RequestOptions): Promise<ApiResponse>;
  /** The path of a link or Location the API gave out, checked to be under the public URL. */
  pathOf(href: string): string;
  /** Everything the API logged so far (debug level), one JSON line per entry. */
  logText(): string;
  /** Waits until /jobs/{id} reports one of `statuses`; returns that status document. */
  waitForStatus(jobId: string, statuses: string[], timeoutMs?: number): Promise<Record<string, unknown>>;
}

export interface HarnessOptions {
  cluster: LocalCluster;
  namespace: string;
  configFile: string;
  env?: Record<string, string>;
  archiveLogs?: boolean;
  /** Made from the loaded configuration, replacing the one the auth mode would make. */
  authenticator?: (config: ManagerConfig, kubeConfig: KubeConfig) => Authenticator;
  /** How the API resolves callback hosts (default: the system resolver). */
  resolver?: Resolver;
}

export async function startApiHarness(t: Teardown, options: HarnessOptions): Promise<ApiHarness> {
  // Access control is off unless a test asks for a mode (the explicit opt-in `none` needs);
  // tests poll fast from one address: no request rate limit unless a test sets one.
  const env = {
    PYGEOAPI_K8S_MANAGER_API_TOKEN: API_TOKEN,
    PYGEOAPI_K8S_MANAGER_AUTH_MODE: 'none',
    PYGEOAPI_K8S_MANAGER_RATE_LIMIT_PER_MINUTE: '0',
    ...options.env,
  };
  const { config } = loadConfigFile(options.configFile, env);
  const kubeConfig = options.cluster.kubeConfig(options.namespace);
  const metrics = new Registry();
  // Kept in memory so tests can search what the API logged; API_TEST_LOG_LEVEL=debug also prints it.
  const logLines: string[] = [];
  const logger = pino(
    { level: 'debug' },
    {
      write: (line: string) => {
        logLines.push(line);
        if (process.env.API_TEST_LOG_LEVEL) process.stderr.write(line);
      },
    },
  );
  const api = await startApi({
    config,
    kubeConfig,
    namespace: options.namespace,
    host: '127.0.0.1',
    port: 0,
    logger,
    metrics,
    archiveLogs: options.archiveLogs ?? false,
    ...(options.authenticator ? { authenticator: options.authenticator(config, kubeConfig) } : {}),
    ...(options.resolver ? { resolver: options.resolver } : {}),
  });
  t.teardown(() => api.close());
  const publicUrl = config.server.url;

  const request = async (method: string, path: string, { body, headers = {} }: RequestOptions = {}): Promise<ApiResponse> => {
    const sent: Record<string, string> = { ...headers };
    let payload: string | undefined;
    if (body !== undefined) {
      payload = typeof body === 'string' ? body : JSON.stringify(body);
      sent['content-type'] ??= 'application/json';
    }
    const response = await fetch(`${api.url}${path}`, { method, headers: sent, ...(payload !== undefined ? { body: payload } : {}) });
    const text = await response.text();
    return { status: response.status, headers: response.headers, text, json: <T>() => JSON.parse(text) as T };
  };

  const pathOf = (href: string): string => {
    if (!href.startsWith(`${publicUrl}/`)) throw new Error(`${href} is not under the public URL ${publicUrl}`);
    return href.slice(publicUrl.length);
  };

  const waitForStatus = (jobId: string, statuses: string[], timeoutMs = 20_000): Promise<Record<string, unknown>> =>
    waitFor(
      async () => {
        const response = await request('GET', `/jobs/${jobId}`);
        if (response.status !== 200) return undefined;
        const body = response.json();
        return statuses.includes(String(body.status)) ? body : undefined;
      },
      { what: `job ${jobId} to be ${statuses.join(' or ')}`, timeoutMs, intervalMs: 50 },
    );

  return {
    cluster: options.cluster,
    namespace: options.namespace,
    config,
    api,
    metrics,
    kubeConfig,
    batch: kubeConfig.makeApiClient(BatchV1Api),
    core: kubeConfig.makeApiClient(CoreV1Api),
    publicUrl,
    request,
    pathOf,
    logText: () => logLines.join(''),
    waitForStatus,
  };
}

export { expectOgc };

/** The job id at the end of a /jobs/{id} Location or link. */
export function jobIdOf(location: string | null): string {
  const match = /\/jobs\/([^/?#]+)$/.exec(location ?? '');
  if (!match) throw new Error(`not a job location: ${String(location)}`);
  return match[1]!;
}
