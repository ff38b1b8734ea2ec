/** What the API's routes work with: configuration, the watch cache, the Kubernetes client and the archive. */
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { ManagerConfig, ProcessDefinition } from '../lib/config/types.js';
import type { JobCache } from './kube/job-cache.js';
import type { JobClient } from './kube/job-client.js';
import type { ArchiveIndex } from '../lib/archive/archive-index.js';
import type { Authenticator } from './auth/authenticator.js';
import type { CallbackPolicy } from './callbacks/subscriber-url.js';
import type { Resolver } from './callbacks/post-callback.js';
import type { ProgressTracker } from './progress/progress-tracker.js';

export interface ApiContext {
  config: ManagerConfig;
  namespace: string;
  jobs: JobCache;
  client: JobClient;
  /** Undefined when no bucket is configured. */
  archive?: ArchiveIndex;
  /** The controller archives logs, so pods get the log finalizer. */
  archiveLogs: boolean;
  /** Who the caller is and what it may do (PYGEOAPI_K8S_MANAGER_AUTH_MODE). */
  auth: Authenticator;
  /** Live progress of running jobs, from their logs' progress markers. */
  progress: ProgressTracker;
  logger: Logger;
  metrics: Registry;
  /** Where callbacks may go (checked at execute time and on every connection). */
  callbackPolicy: CallbackPolicy;
  resolver: Resolver;
  /** Ready to serve: caches synced, not shutting down. */
  isReady(): boolean;
}

export function findProcess(context: ApiContext, id: string): ProcessDefinition | undefined {
  return context.config.processes.find((p) => p.id === id);
}
