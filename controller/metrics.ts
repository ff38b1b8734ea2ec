/**
 * The controller's Prometheus metrics. Gauges that describe the current
 * state (queue depth, oldest held finalizer, leadership) are computed when
 * scraped, from the caches, so they can never drift.
 */
import { Counter, Gauge, type Registry } from 'prom-client';

export interface ControllerMetrics {
  archives: Counter<'result'>;
  archivedBytes: Counter;
  logsIncomplete: Counter<'kind'>;
  resultsLost: Counter;
  watchRestarts: Counter<'resource'>;
}

export interface MetricSources {
  queueDepth(): number;
  /** Seconds the longest-held finalizer of a pod being deleted has been held (0 if none). */
  oldestHeldFinalizerSeconds(): number;
  isLeader(): boolean;
  /** Pods whose logs this replica captures now, and whether as the leader or as a standby. */
  captures(): { role: 'leading' | 'standby'; pods: number };
}

export function controllerMetrics(registry: Registry, sources: MetricSources): ControllerMetrics {
  const registers = [registry];
  new Gauge({
    name: 'k8s_job_manager_controller_queue_depth',
    help: 'Pods waiting to be reconciled.',
    registers,
    collect() {
      this.set(sources.queueDepth());
    },
  });
  new Gauge({
    name: 'k8s_job_manager_controller_oldest_held_finalizer_seconds',
    help: 'How long the longest-waiting pod being deleted has been held by the log finalizer.',
    registers,
    collect() {
      this.set(sources.oldestHeldFinalizerSeconds());
    },
  });
  new Gauge({
    name: 'k8s_job_manager_controller_leader',
    help: '1 while this replica holds the controller lease.',
    registers,
    collect() {
      this.set(sources.isLeader() ? 1 : 0);
    },
  });
  new Gauge({
    name: 'k8s_job_manager_controller_captures',
    help: 'Pods whose logs this replica captures now, by role: leading (streamed to S3) or standby (spooled only, for a takeover).',
    labelNames: ['role'],
    registers,
    collect() {
      const { role, pods } = sources.captures();
      this.set({ role }, pods);
      this.set({ role: role === 'leading' ? 'standby' : 'leading' }, 0);
    },
  });
  return {
    archives: new Counter({
      name: 'k8s_job_manager_controller_log_archives_total',
      help: 'Pod log archives by result: done, failed (attempt failed, will retry), gave_up (finalizer released without logs).',
      labelNames: ['result'],
      registers,
    }),
    archivedBytes: new Counter({
      name: 'k8s_job_manager_controller_archived_bytes_total',
      help: 'Bytes of container logs archived to S3.',
      registers,
    }),
    logsIncomplete: new Counter({
      name: 'k8s_job_manager_controller_logs_incomplete_total',
      help: 'Container logs archived incomplete, by why: gone (removed from the node first), gap (rotated between reads), restarts, unreadable, failed.',
      labelNames: ['kind'],
      registers,
    }),
    resultsLost: new Counter({
      name: 'k8s_job_manager_controller_results_lost_total',
      help: 'Pods that succeeded but whose result could not be read, because the log holding it is incomplete (the job is recorded as failed).',
      registers,
    }),
    watchRestarts: new Counter({
      name: 'k8s_job_manager_controller_watch_restarts_total',
      help: 'Restarts of list/watch streams (errors, 410 Gone, stalls).',
      labelNames: ['resource'],
      registers,
    }),
  };
}
