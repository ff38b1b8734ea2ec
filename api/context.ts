/** What the API's routes work with: configuration, the watch cache, the Kubernetes client and the archive. */
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { ManagerConfig, ProcessDefinition } from '../lib/config/types.js';
import type { JobCache } from './kube/job-cache.js';
import type { JobClient } from './kube/job-client.js';
import type { ArchiveIndex } from '../lib/archive/archive-index.js';

export interface ApiContext {
  config: ManagerConfig;
  namespace: string;
  jobs: JobCache;
  client: JobClient;
  /** Undefined when no bucket is configured. */
  archive?: ArchiveIndex;
  /** The controller archives logs, so pods get the log finalizer. */
  archiveLogs: boolean;
  logger: Logger;
  metrics: Registry;
  /** Ready to serve: caches synced, not shutting down. */
  isReady(): boolean;
}

export function findProcess(context: ApiContext, id: string): ProcessDefinition | undefined {
  return context.config.processes.find((p) => p.id === id);
}
