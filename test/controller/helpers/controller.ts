/**
 * Running the controller against local-cluster and s3rver in a test:
 * settings from environment variables as in production (readSettings),
 * short timings, logs collected so a test can look at them.
 */
import pino from 'pino';
import { Registry } from 'prom-client';
import type { KubeConfig } from '@kubernetes/client-node';
import { readSettings } from '../../../lib/config/environment.js';
import { controllerSettingsFrom, startController, type RunningController } from '../../../controller/index.js';
import type { ControllerTuning } from '../../../controller/settings.js';
import { BUCKET, S3_KEY, S3_SECRET, type Teardown } from './s3.js';

export const PREFIX = 'logs/';

/** The bucket variables for an S3 endpoint (override or drop any of them). */
export function bucketEnv(endpoint: string, overrides: Record<string, string | undefined> = {}): Record<string, string | undefined> {
  return {
    PYGEOAPI_K8S_MANAGER_FINALIZER_BUCKET_ENDPOINT: endpoint,
    PYGEOAPI_K8S_MANAGER_FINALIZER_BUCKET_KEY: S3_KEY,
    PYGEOAPI_K8S_MANAGER_FINALIZER_BUCKET_SECRET: S3_SECRET,
    PYGEOAPI_K8S_MANAGER_FINALIZER_BUCKET_NAME: BUCKET,
    PYGEOAPI_K8S_MANAGER_FINALIZER_BUCKET_PATH_PREFIX: PREFIX,
    ...overrides,
  };
}

/** Timings that make failures, retries and failover take fractions of a second. */
export const FAST_TUNING: Partial<ControllerTuning> = {
  workers: 4,
  partSizeBytes: 5 * 1024 * 1024,
  uploadQueueSize: 2,
  eventIntervalMs: 60_000,
  retry: { baseMs: 100, maxMs: 1_000 },
  logBackoff: { baseMs: 50, maxMs: 500 },
  watch: { resyncIntervalMs: 60_000, stallTimeoutMs: 3_000, watchTimeoutSeconds: 30, backoff: { baseMs: 20, maxMs: 500 } },
  leaderElection: { leaseName: 'controller', leaseDurationSeconds: 2, renewDeadlineSeconds: 1, retryPeriodSeconds: 0.2 },
};

export interface TestController extends RunningController {
  registry: Registry;
  logs: Array<Record<string, unknown>>;
  metric(name: string, labels?: Record<string, string>): Promise<number>;
}

export async function startTestController(
  t: Teardown,
  options: { kubeConfig: KubeConfig; namespaces: string[]; env: Record<string, string | undefined>; tuning?: Partial<ControllerTuning>; identity?: string },
): Promise<TestController> {
  const logs: Array<Record<string, unknown>> = [];
  const logger = pino({ level: "debug" }, { write: (line: string) => { if (process.env.CONTROLLER_TEST_LOG) process.stderr.write(line); logs.push(JSON.parse(line) as Record<string, unknown>); } });
  const settings = controllerSettingsFrom(readSettings(options.env), { ...FAST_TUNING, ...options.tuning });
  const registry = new Registry();
  const running = await startController({
    kubeConfig: options.kubeConfig,
    namespaces: options.namespaces,
    settings,
    logger,
    metricsRegistry: registry,
    identity: options.identity ?? 'test-controller',
  });
  t.teardown(() => running.stop());
  return {
    ...running,
    registry,
    logs,
    metric: async (name, labels = {}) => {
      const metric = await registry.getSingleMetric(name)?.get();
      const value = metric?.values.find((v) => Object.entries(labels).every(([k, l]) => v.labels[k] === l));
      return value?.value ?? 0;
    },
  };
}
