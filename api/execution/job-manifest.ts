/**
 * The Job an execution creates, decided from the process definition, the
 * (token-free) inputs and the ids. The API sets everything itself, so a
 * cluster without our webhook runs the same Job.
 */
import type { V1Container, V1EnvVar, V1Job, V1Volume, V1VolumeMount } from '@kubernetes/client-node';
import { ANNOTATIONS, formatAnnotationTime, JOB_ENV, LOG_FINALIZER, MANAGED_LABEL, MANAGED_LABEL_VALUE, jobNameFor } from '../../lib/contract.js';
import type { EnvSetting, ProcessDefinition, StorageSetting } from '../../lib/config/types.js';

export interface JobRequest {
  process: ProcessDefinition;
  jobId: string;
  /** Inputs without the token. */
  inputs: Record<string, unknown>;
  namespace: string;
  jobNamePrefix: string;
  /** Put the log finalizer on the pods (only when the controller archives). */
  archiveLogs: boolean;
  /** OGC subscriber for callbacks, stored with the job. */
  subscriber?: Record<string, string>;
  now: Date;
}

function envVar(setting: EnvSetting): V1EnvVar {
  return 'value' in setting
    ? { name: setting.name, value: setting.value }
    : { name: setting.name, valueFrom: { secretKeyRef: { name: setting.secretName, key: setting.secretKey } } };
}

/** Our variables come last and win over configured ones of the same name. */
function withJobEnv(env: V1EnvVar[] | undefined, jobEnv: V1EnvVar[]): V1EnvVar[] {
  const ours = new Set(jobEnv.map((e) => e.name));
  return [...(env ?? []).filter((e) => !ours.has(e.name)), ...jobEnv];
}

function volumeOf(storage: StorageSetting): V1Volume {
  return 'persistentVolumeClaimName' in storage
    ? { name: storage.name, persistentVolumeClaim: { claimName: storage.persistentVolumeClaimName } }
    : { name: storage.name, emptyDir: { ...(storage.emptyDir.medium ? { medium: storage.emptyDir.medium } : {}), ...(storage.emptyDir.sizeLimit ? { sizeLimit: storage.emptyDir.sizeLimit } : {}) } };
}

function mountOf(storage: StorageSetting): V1VolumeMount {
  return { name: storage.name, mountPath: storage.mountPath };
}

export function buildJob(request: JobRequest): V1Job {
  const { process, jobId, inputs, now } = request;
  const name = jobNameFor(jobId, request.jobNamePrefix);
  const jobEnv: V1EnvVar[] = [
    { name: JOB_ENV.inputs, value: JSON.stringify(inputs) },
    { name: JOB_ENV.jobId, value: jobId },
    { name: JOB_ENV.processId, value: process.id },
  ];
  const securityContext = process.containerSecurityContext;
  const main: V1Container = {
    name: process.kind === 'generic-image' ? 'generic-image-processor' : process.id,
    image: process.image,
    ...(process.command ? { command: process.command } : {}),
    ...(process.args ? { args: process.args } : {}),
    env: withJobEnv(process.env.map(envVar), jobEnv),
    ...(process.resources ? { resources: process.resources } : {}),
    ...(process.storage.length ? { volumeMounts: process.storage.map(mountOf) } : {}),
    ...(securityContext ? { securityContext } : {}),
  };
  const initContainers = process.initContainers.map((c) => ({
    ...c,
    env: withJobEnv(c.env, jobEnv),
    ...(securityContext && !c.securityContext ? { securityContext } : {}),
  }));
  const started = formatAnnotationTime(now);
  const annotations: Record<string, string> = {
    [ANNOTATIONS.identifier]: jobId,
    [ANNOTATIONS.processId]: process.id,
    [ANNOTATIONS.started]: started,
    [ANNOTATIONS.updated]: started,
    [ANNOTATIONS.mimetype]: process.mimetype,
    [ANNOTATIONS.jobName]: name,
    [ANNOTATIONS.parameters]: JSON.stringify(inputs),
    ...(request.subscriber ? { [ANNOTATIONS.subscriber]: JSON.stringify(request.subscriber) } : {}),
  };
  const labels = { [MANAGED_LABEL]: MANAGED_LABEL_VALUE };
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name, namespace: request.namespace, labels, annotations },
    spec: {
      backoffLimit: process.backoffLimit,
      ttlSecondsAfterFinished: process.ttlSecondsAfterFinished,
      ...(process.activeDeadlineSeconds !== undefined ? { activeDeadlineSeconds: process.activeDeadlineSeconds } : {}),
      template: {
        metadata: {
          labels,
          annotations: { [ANNOTATIONS.identifier]: jobId, [ANNOTATIONS.processId]: process.id },
          ...(request.archiveLogs ? { finalizers: [LOG_FINALIZER] } : {}),
        },
        spec: {
          restartPolicy: 'Never',
          // As the Python manager: no service links, so jobs do not see every service's env.
          enableServiceLinks: false,
          containers: [main],
          ...(initContainers.length ? { initContainers } : {}),
          ...(process.storage.length ? { volumes: process.storage.map(volumeOf) } : {}),
          ...(process.tolerations.length ? { tolerations: process.tolerations } : {}),
          ...(process.imagePullSecrets.length ? { imagePullSecrets: process.imagePullSecrets.map((n) => ({ name: n })) } : {}),
          ...(process.nodeSelector ? { nodeSelector: process.nodeSelector } : {}),
          ...(process.affinity ? { affinity: process.affinity } : {}),
          ...(process.serviceAccount ? { serviceAccountName: process.serviceAccount } : {}),
          ...(process.podSecurityContext ? { securityContext: process.podSecurityContext } : {}),
        },
      },
    },
  };
}
