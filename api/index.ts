/** Starting and stopping the API part. */
import type { KubeAccess } from '../lib/kube/kube-access.js';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { ManagerConfig } from '../lib/config/types.js';
import { createS3Client, missingBucketSettings } from '../lib/s3/client.js';
import { jobNameFor } from '../lib/contract.js';
import { ArchiveReader } from '../lib/archive/reader.js';
import { ArchiveIndex } from '../lib/archive/archive-index.js';
import { HistoryIndex } from '../lib/archive/history-index.js';
import { HistoryStore } from '../lib/archive/history-store.js';
import { PeriodicTask } from '../lib/periodic-task.js';
import { JobCache } from './kube/job-cache.js';
import { JobClient } from './kube/job-client.js';
import { buildApiServer } from './server.js';
import { CallbackSender } from './callbacks/callback-sender.js';
import { jobResultsDocument } from './jobs/results-document.js';
import { jobLinks } from './ogc/links.js';
import { ProgressTracker } from './progress/progress-tracker.js';
import { KubeHttp } from '../lib/kube/http.js';
import { LeaderElector } from '../lib/kube/leader-election.js';
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import type { ApiContext } from './context.js';
import { createAuthenticator, type Authenticator } from './auth/authenticator.js';
import { systemResolver, type Resolver } from './callbacks/post-callback.js';

/** How often the API reads the history's pending entries (and, leading, compacts them). */
const HISTORY_SYNC_MS = 30_000;

export interface ApiOptions {
  config: ManagerConfig;
  kubeConfig: KubeAccess;
  namespace: string;
  host: string;
  port: number;
  logger: Logger;
  metrics: Registry;
  /** Pods get the log finalizer (the controller is deployed). */
  archiveLogs: boolean;
  /** Replaces the one PYGEOAPI_K8S_MANAGER_AUTH_MODE makes (benchmarks count review calls through it). */
  authenticator?: Authenticator;
  /** How callback hosts are resolved; default: the system resolver (tests give their own). */
  resolver?: Resolver;
}

export interface RunningApi {
  url: string;
  ready(): boolean;
  /** Readiness fails at once; in-flight requests finish; watches close. */
  close(): Promise<void>;
}

export async function startApi(options: ApiOptions): Promise<RunningApi> {
  const { config, logger } = options;
  const settings = config.settings;
  // One client for all of the part's API traffic: one keep-alive agent, one error type.
  const kube = new KubeHttp(options.kubeConfig);
  const jobs = new JobCache({ kubeConfig: options.kubeConfig, http: kube, namespace: options.namespace, jobNamePrefix: settings.jobNamePrefix, logger });
  let archive: ArchiveIndex | undefined;
  if (missingBucketSettings(settings.bucket, settings.secrets).length === 0) {
    const location = {
      s3: createS3Client(settings.bucket, settings.secrets),
      bucket: settings.bucket.name!,
      prefix: settings.bucket.pathPrefix,
      namespace: options.namespace,
    };
    const history = new HistoryIndex({ store: new HistoryStore(location), logger: logger.child({ component: 'history' }), budgetEntries: settings.history.cacheEntries });
    archive = new ArchiveIndex(new ArchiveReader(location), history, logger, settings.history.recordCacheBytes);
  }
  // Every replica catches up with jobs archived elsewhere; the callbacks leader also compacts.
  let leading = false;
  const historySync = archive
    ? new PeriodicTask(HISTORY_SYNC_MS, () => archive.history.sync(leading), (error) => logger.warn({ err: error }, 'job history sync failed; retrying'))
    : undefined;
  let closing = false;
  const auth =
    options.authenticator ??
    createAuthenticator({
      settings: settings.auth,
      ...(settings.secrets.authTokens ? { tokens: settings.secrets.authTokens } : {}),
      kubeConfig: options.kubeConfig,
      http: kube,
      namespace: options.namespace,
    });
  if (auth.mode === 'none') {
    logger.warn(
      `ACCESS CONTROL IS OFF (PYGEOAPI_K8S_MANAGER_AUTH_MODE=none): everyone who can reach ${options.host}:${options.port} can run, read, read the logs of and dismiss every job`,
    );
  } else logger.info({ mode: auth.mode, publicDiscovery: auth.publicDiscovery }, 'access control');
  const identity = `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`;
  const client = new JobClient(kube, options.namespace, identity);
  const progress = new ProgressTracker({ jobs, client, logger: logger.child({ component: 'progress' }) });
  const context: ApiContext = {
    config,
    namespace: options.namespace,
    jobs,
    client,
    progress,
    ...(archive ? { archive } : {}),
    archiveLogs: options.archiveLogs,
    auth,
    logger,
    metrics: options.metrics,
    isReady: () => !closing && jobs.synced,
    callbackPolicy: { allow: settings.callbacks.allow, httpsOnly: settings.callbacks.httpsOnly },
    resolver: options.resolver ?? systemResolver,
  };
  // A Job that leaves the cluster is looked up in the archive, so it stays listed.
  jobs.subscribe((jobId) => {
    if (archive && !jobs.job(jobId)) void archive.fetch(jobId, jobNameFor(jobId, settings.jobNamePrefix));
  });
  // Callbacks go out from one replica at a time: the holder of this Lease.
  const callbacks = new CallbackSender({
    jobs,
    client: context.client,
    logger: logger.child({ component: 'callbacks' }),
    metrics: options.metrics,
    policy: context.callbackPolicy,
    resolver: context.resolver,
    retry: { maxAttempts: settings.callbacks.maxAttempts, horizonMs: settings.callbacks.retryHorizonSeconds * 1000 },
    timeoutMs: settings.callbacks.timeoutSeconds * 1000,
    results: (jobId) => jobResultsDocument(context, jobId),
    statusDocument: (status) => ({ ...progress.apply(status), links: jobLinks(config.server.url, status.jobID, status.status) }),
  });
  const elector = new LeaderElector({
    kubeConfig: options.kubeConfig,
    http: kube,
    namespace: options.namespace,
    name: 'k8s-job-manager-api-callbacks',
    identity,
    logger: logger.child({ component: 'leader-election' }),
    onStartedLeading: () => {
      leading = true;
      callbacks.setLeading(true);
    },
    onStoppedLeading: () => {
      leading = false;
      callbacks.setLeading(false);
    },
  });
  const stopStarted = async (): Promise<void> => {
    closing = true;
    await historySync?.stop();
    await elector.stop();
    await callbacks.stop();
    progress.stop();
    await jobs.stop();
    kube.close();
  };
  let app: Awaited<ReturnType<typeof buildApiServer>> | undefined;
  // The server is built (its schemas compiled) while the caches sync: neither needs the other.
  const building = buildApiServer(context).then((built) => (app = built));
  try {
    // How long each start-up read took, for an operator sizing readiness probes (a large namespace or history is slower).
    const since = performance.now();
    const took = (what: string) => () => logger.info({ seconds: Number(((performance.now() - since) / 1000).toFixed(2)) }, what);
    await Promise.all([jobs.start().then(took('job cache synced')), archive?.load().then(took('job history listed')), building]);
    callbacks.start();
    progress.start();
    await elector.start();
    historySync?.start();
    await (await building).listen({ host: options.host, port: options.port });
  } catch (error) {
    // A port in use (or any failure to start) must not leave the watches and the Lease running behind it.
    await app?.close().catch(() => undefined);
    await stopStarted().catch(() => undefined);
    throw error;
  }
  const server = await building;
  const address = server.server.address();
  const port = typeof address === 'object' && address ? address.port : options.port;
  return {
    url: `http://${options.host === '0.0.0.0' ? '127.0.0.1' : options.host}:${port}`,
    ready: context.isReady,
    close: async () => {
      closing = true;
      await server.close();
      await stopStarted();
    },
  };
}
