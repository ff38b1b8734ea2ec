/**
 * The kube-apiserver's built-in admission plugins that change pods on
 * creation, in their order (before the webhooks): ServiceAccount (the
 * account, which must exist, and its token as a projected volume mounted in
 * every container unless automounting is off), Priority (priority 0 and
 * PreemptLowerPriority without a PriorityClass; the two system classes) and
 * DefaultTolerationSeconds (tolerating not-ready and unreachable nodes for
 * 300 s). Pure: the caller passes the ServiceAccount lookup and the random
 * volume-name suffix.
 */
import { isRecord, type KubeObject } from '../types.js';

export const DEFAULT_SERVICE_ACCOUNT = 'default';
export const ROOT_CA_CONFIG_MAP = 'kube-root-ca.crt';
export const TOKEN_MOUNT_PATH = '/var/run/secrets/kubernetes.io/serviceaccount';
/** The projected token's lifetime the plugin asks for (an hour plus 7 s, so clients see it is not a legacy token). */
const TOKEN_EXPIRATION_SECONDS = 3607;
const DEFAULT_TOLERATION_SECONDS = 300;
/** The PriorityClasses every cluster has. */
const SYSTEM_PRIORITY_CLASSES: Readonly<Record<string, number>> = {
  'system-node-critical': 2_000_001_000,
  'system-cluster-critical': 2_000_000_000,
};

/** The characters utilrand.String draws from (no vowels, no look-alikes). */
export const NAME_ALPHABET = 'bcdfghjklmnpqrstvwxz2456789';

export type AdmissionVerdict = { allowed: true } | { allowed: false; message: string };

export interface PodAdmissionInput {
  pod: KubeObject;
  /** The ServiceAccount of the pod's namespace with that name, if it exists. */
  serviceAccount: (name: string) => KubeObject | undefined;
  /** Five characters of NAME_ALPHABET for the token volume's name. */
  suffix: string;
}

type Json = Record<string, unknown>;

function list(spec: Json, field: string): Json[] {
  return Array.isArray(spec[field]) ? spec[field].filter(isRecord) : [];
}

function shouldAutomount(account: KubeObject, spec: Json): boolean {
  if (typeof spec.automountServiceAccountToken === 'boolean') return spec.automountServiceAccountToken;
  if (typeof account.automountServiceAccountToken === 'boolean') return account.automountServiceAccountToken;
  return true;
}

function tokenVolume(name: string): Json {
  return {
    name,
    projected: {
      sources: [
        { serviceAccountToken: { expirationSeconds: TOKEN_EXPIRATION_SECONDS, path: 'token' } },
        { configMap: { name: ROOT_CA_CONFIG_MAP, items: [{ key: 'ca.crt', path: 'ca.crt' }] } },
        { downwardAPI: { items: [{ path: 'namespace', fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.namespace' } }] } },
      ],
      defaultMode: 420,
    },
  };
}

function mountToken(spec: Json, suffix: string): void {
  const volumes = list(spec, 'volumes');
  // A volume the user already projects the token into is reused, as the plugin does.
  const existing = volumes.find((v) => isRecord(v.projected) && Array.isArray(v.projected.sources) && v.projected.sources.some((s) => isRecord(s) && isRecord(s.serviceAccountToken)));
  const volumeName = typeof existing?.name === 'string' ? existing.name : `kube-api-access-${suffix}`;
  if (!existing) spec.volumes = [...volumes, tokenVolume(volumeName)];
  for (const field of ['initContainers', 'containers']) {
    for (const container of list(spec, field)) {
      const mounts = list(container, 'volumeMounts');
      if (mounts.some((m) => m.mountPath === TOKEN_MOUNT_PATH)) continue;
      container.volumeMounts = [...mounts, { name: volumeName, readOnly: true, mountPath: TOKEN_MOUNT_PATH }];
    }
  }
}

function serviceAccountAdmission(pod: KubeObject, spec: Json, input: PodAdmissionInput): AdmissionVerdict {
  if (typeof spec.serviceAccountName !== 'string' || spec.serviceAccountName === '') {
    spec.serviceAccountName = typeof spec.serviceAccount === 'string' && spec.serviceAccount ? spec.serviceAccount : DEFAULT_SERVICE_ACCOUNT;
  }
  const name = spec.serviceAccountName as string;
  spec.serviceAccount = name;
  const account = input.serviceAccount(name);
  if (!account) return { allowed: false, message: `error looking up service account ${pod.metadata.namespace ?? ''}/${name}: serviceaccount "${name}" not found` };
  if (shouldAutomount(account, spec)) mountToken(spec, input.suffix);
  return { allowed: true };
}

function priorityAdmission(spec: Json): AdmissionVerdict {
  const className = typeof spec.priorityClassName === 'string' ? spec.priorityClassName : '';
  let priority = 0;
  if (className) {
    if (!Object.hasOwn(SYSTEM_PRIORITY_CLASSES, className)) return { allowed: false, message: `no PriorityClass with name ${className} was found` };
    priority = SYSTEM_PRIORITY_CLASSES[className]!;
  }
  if (spec.priority !== undefined && spec.priority !== null && spec.priority !== priority) {
    return { allowed: false, message: `the integer value of priority (${String(spec.priority)}) must not be provided in pod spec; priority admission controller computed ${priority} from the given PriorityClass name` };
  }
  spec.priority = priority;
  if (spec.preemptionPolicy === undefined) spec.preemptionPolicy = 'PreemptLowerPriority';
  return { allowed: true };
}

function defaultTolerationSeconds(spec: Json): void {
  const tolerations = list(spec, 'tolerations');
  const tolerates = (key: string): boolean =>
    tolerations.some((t) => (t.key === key || (t.key === undefined && t.operator === 'Exists')) && (t.effect === undefined || t.effect === '' || t.effect === 'NoExecute'));
  const added: Json[] = [];
  for (const key of ['node.kubernetes.io/not-ready', 'node.kubernetes.io/unreachable']) {
    if (!tolerates(key)) added.push({ key, operator: 'Exists', effect: 'NoExecute', tolerationSeconds: DEFAULT_TOLERATION_SECONDS });
  }
  if (added.length) spec.tolerations = [...tolerations, ...added];
}

/** Applies the plugins to a pod being created, in place; a refusal names why (403 Forbidden). */
export function admitPodCreate(input: PodAdmissionInput): AdmissionVerdict {
  const { pod } = input;
  if (!isRecord(pod.spec)) return { allowed: true };
  const spec = pod.spec;
  const account = serviceAccountAdmission(pod, spec, input);
  if (!account.allowed) return account;
  const priority = priorityAdmission(spec);
  if (!priority.allowed) return priority;
  defaultTolerationSeconds(spec);
  return { allowed: true };
}
