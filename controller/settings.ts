/**
 * What the controller needs to know, derived from the environment settings
 * (lib/config/environment.ts) plus tuning that has no variable of its own.
 * Missing bucket variables do not stop the controller: it starts, holds the
 * finalizers and says, once per variable, what is missing.
 */
import type { ArchiveLayout } from '../lib/archive/layout.js';
import type { BucketSettings, SecretSettings, Settings } from '../lib/config/types.js';
import { missingBucketSettings } from '../lib/s3/client.js';

export interface ArchiveTarget {
  bucket: BucketSettings & { name: string };
  secrets: SecretSettings;
  /** Key prefix: empty, or ending with `/`. */
  prefix: string;
}

export interface ControllerTuning {
  /** Parallel reconciles (and so parallel uploads). */
  workers: number;
  /** Multipart part size; S3 needs at least 5 MiB. Memory per upload is about partSize × queueSize. */
  partSizeBytes: number;
  /** Parts of one upload in flight at once. */
  uploadQueueSize: number;
  /** Result values above this go to S3 instead of the Job's annotation (annotations share 256 KiB). */
  resultAnnotationLimitBytes: number;
  /** Directory for log spool files (PYGEOAPI_K8S_MANAGER_CONTROLLER_SPOOL_DIR); default: a fresh directory under the system temp dir, removed on stop. */
  spoolDirectory?: string;
  /** A reason is reported as an Event on a pod at most this often. */
  eventIntervalMs: number;
  /** Per-pod retry back-off of failed reconciles. */
  retry: { baseMs: number; maxMs: number };
  /** Reconnect back-off of log streams. */
  logBackoff: { baseMs: number; maxMs: number };
  watch: { resyncIntervalMs: number; stallTimeoutMs: number; watchTimeoutSeconds: number; backoff: { baseMs: number; maxMs: number } };
  leaderElection: {
    leaseName: string;
    /** Namespace of the Lease; default: the first watched namespace. */
    leaseNamespace?: string;
    leaseDurationSeconds: number;
    renewDeadlineSeconds: number;
    retryPeriodSeconds: number;
  };
}

export interface ControllerSettings extends ControllerTuning {
  /** Where logs go; undefined while bucket variables are missing (finalizers are then held). */
  archive?: ArchiveTarget;
  /** Names of the bucket variables that are missing. */
  missingVariables: string[];
  /** One message per missing bucket variable, naming it. */
  configurationErrors: string[];
  layout: ArchiveLayout;
  jobNamePrefix: string;
  /** 0 = never give up on a pod whose logs cannot be archived. */
  giveUpSeconds: number;
  /** Replicas that do not lead capture every log into their own spool too (PYGEOAPI_K8S_MANAGER_CONTROLLER_STANDBY_CAPTURE). */
  standbyCapture: boolean;
}

export const DEFAULT_TUNING: ControllerTuning = {
  workers: 4,
  partSizeBytes: 8 * 1024 * 1024,
  uploadQueueSize: 2,
  resultAnnotationLimitBytes: 64 * 1024,
  eventIntervalMs: 5 * 60_000,
  retry: { baseMs: 1_000, maxMs: 5 * 60_000 },
  logBackoff: { baseMs: 200, maxMs: 10_000 },
  watch: { resyncIntervalMs: 10 * 60_000, stallTimeoutMs: 2 * 60_000, watchTimeoutSeconds: 5 * 60, backoff: { baseMs: 500, maxMs: 30_000 } },
  leaderElection: { leaseName: 'k8s-job-manager-controller', leaseDurationSeconds: 15, renewDeadlineSeconds: 10, retryPeriodSeconds: 2 },
};

const MIN_PART_SIZE = 5 * 1024 * 1024;

/** The controller's settings; throws only for impossible tuning (a programming error, not configuration). */
export function controllerSettingsFrom(settings: Settings, tuning: Partial<ControllerTuning> = {}): ControllerSettings {
  const merged: ControllerTuning = {
    ...DEFAULT_TUNING,
    partSizeBytes: settings.controllerPartSizeMib * 1024 * 1024,
    ...tuning,
    watch: { ...DEFAULT_TUNING.watch, ...tuning.watch },
    leaderElection: { ...DEFAULT_TUNING.leaderElection, ...tuning.leaderElection },
  };
  if (merged.partSizeBytes < MIN_PART_SIZE) throw new Error(`partSizeBytes must be at least ${MIN_PART_SIZE} (S3's minimum part size)`);
  if (merged.uploadQueueSize < 1 || merged.workers < 1) throw new Error('uploadQueueSize and workers must be at least 1');

  const missing = missingBucketSettings(settings.bucket, settings.secrets);
  const configurationErrors = missing.map(
    (name) => `${name} is not set: job logs cannot be archived, so pods keep their log finalizer until it is set (or the give-up deadline passes)`,
  );
  const name = settings.bucket.name;
  const archive: ArchiveTarget | undefined =
    missing.length === 0 && name ? { bucket: { ...settings.bucket, name }, secrets: settings.secrets, prefix: settings.bucket.pathPrefix } : undefined;
  const spoolDirectory = tuning.spoolDirectory ?? settings.controllerSpoolDir;
  return {
    ...merged,
    ...(spoolDirectory !== undefined ? { spoolDirectory } : {}),
    ...(archive ? { archive } : {}),
    missingVariables: missing,
    configurationErrors,
    layout: settings.logArchiveLayout,
    jobNamePrefix: settings.jobNamePrefix,
    giveUpSeconds: settings.finalizerGiveUpSeconds,
    standbyCapture: settings.controllerStandbyCapture,
  };
}
