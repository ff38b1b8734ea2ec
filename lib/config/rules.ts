/**
 * Rules the schema cannot express: relations between keys, uniqueness, and
 * settings that would be accepted but cannot work. The data may be invalid
 * (rules run next to the schema, so every problem is reported at once), hence
 * every access is checked.
 */
import { JOB_ENV } from '../contract.js';
import { ENVIRONMENT } from './environment.js';
import { emptyFindings, type Findings } from './findings.js';
import { checkKubernetesObject, type KubernetesObjectKind } from './kubernetes-objects.js';
import { LABEL_VALUE_PATTERN, LABEL_VALUE_RULE, parseQuantity } from './kubernetes-syntax.js';
import { type KeyPath } from './paths.js';
import { isRecord } from '../is-record.js';
import { DEFAULT_CHECK_AUTH, KUBERNETES_MANAGER_NAMES } from './processors.js';
import { processEntries, recordItems as records, type ProcessEntry } from './raw-config.js';
import type { Settings } from './types.js';

const RESERVED_ENV: readonly string[] = Object.values(JOB_ENV);

/** Reports the second and later entries whose `key` repeats an earlier one. */
function duplicates(
  entries: Array<[number, Record<string, unknown>]>,
  key: string,
  at: KeyPath,
  add: (path: KeyPath, message: string) => void,
): void {
  const first = new Map<unknown, number>();
  for (const [i, entry] of entries) {
    const value = entry[key];
    if (value === undefined) continue;
    const earlier = first.get(value);
    if (earlier === undefined) first.set(value, i);
    else add([...at, i, key], `${JSON.stringify(value)} is already used by ${String(at[at.length - 1])}[${earlier}]`);
  }
}

function checkServer(data: Record<string, unknown>, findings: Findings): void {
  const server = data.server;
  if (!isRecord(server)) return;
  const limits = server.limits;
  if (isRecord(limits) && typeof limits.default_items === 'number' && typeof limits.max_items === 'number') {
    if (limits.default_items > limits.max_items) {
      findings.errors.push({
        path: ['server', 'limits', 'default_items'],
        message: `must not be more than max_items (${limits.max_items})`,
      });
    }
  }
  const manager = server.manager;
  if (isRecord(manager) && typeof manager.name === 'string' && !KUBERNETES_MANAGER_NAMES.includes(manager.name)) {
    findings.warnings.push({
      path: ['server', 'manager', 'name'],
      message: `${JSON.stringify(manager.name)} is not the Kubernetes manager; k8s-job-manager always runs processes as Kubernetes jobs`,
    });
  }
}

function checkEnv(processor: Record<string, unknown>, at: KeyPath, findings: Findings): void {
  const entries = records(processor.env);
  for (const [i, entry] of entries) {
    const path = [...at, 'env', i];
    const hasValue = entry.value !== undefined;
    const hasName = entry.secret_name !== undefined;
    const hasKey = entry.secret_key !== undefined;
    if (hasValue && (hasName || hasKey)) {
      findings.errors.push({ path, message: 'give either value or secret_name with secret_key, not both' });
    } else if (!hasValue && !hasName && !hasKey) {
      findings.errors.push({ path, message: 'needs value, or secret_name and secret_key' });
    } else if (hasName !== hasKey) {
      findings.errors.push({ path, message: hasName ? 'secret_name needs secret_key' : 'secret_key needs secret_name' });
    }
    if (typeof entry.name === 'string' && RESERVED_ENV.includes(entry.name)) {
      findings.errors.push({ path: [...path, 'name'], message: `${entry.name} is set by the manager for every job` });
    }
  }
  duplicates(entries, 'name', [...at, 'env'], (path, message) =>
    findings.warnings.push({ path, message: `${message}; the last one wins` }),
  );
}

function checkStorage(processor: Record<string, unknown>, at: KeyPath, findings: Findings): void {
  const entries = records(processor.storage);
  for (const [i, entry] of entries) {
    const hasClaim = entry.persistent_volume_claim_name !== undefined;
    const hasEmptyDir = 'empty_dir' in entry;
    if (hasClaim === hasEmptyDir) {
      findings.errors.push({
        path: [...at, 'storage', i],
        message: hasClaim
          ? 'needs only one of persistent_volume_claim_name or empty_dir, not both'
          : 'needs one of persistent_volume_claim_name or empty_dir',
      });
    }
  }
  const add = (path: KeyPath, message: string): void => void findings.errors.push({ path, message });
  duplicates(entries, 'name', [...at, 'storage'], add);
  duplicates(entries, 'mount_path', [...at, 'storage'], add);
}

function checkResources(processor: Record<string, unknown>, at: KeyPath, findings: Findings): void {
  const resources = processor.resources;
  if (!isRecord(resources) || !isRecord(resources.requests) || !isRecord(resources.limits)) return;
  for (const [name, request] of Object.entries(resources.requests)) {
    const limit = resources.limits[name];
    const requested = parseQuantity(String(request));
    const limited = limit === undefined ? undefined : parseQuantity(String(limit));
    if (requested !== undefined && limited !== undefined && requested > limited) {
      findings.errors.push({
        path: [...at, 'resources', 'requests', name],
        message: `${String(request)} is more than the limit ${String(limit)}`,
      });
    }
  }
}

function checkTolerations(processor: Record<string, unknown>, at: KeyPath, findings: Findings): void {
  for (const [i, toleration] of records(processor.tolerations)) {
    const path = [...at, 'tolerations', i];
    if (toleration.operator === 'Exists' && toleration.value !== undefined && toleration.value !== '') {
      findings.errors.push({ path: [...path, 'value'], message: 'must be empty when operator is Exists' });
    }
    if (toleration.toleration_seconds !== undefined && toleration.effect !== 'NoExecute') {
      findings.errors.push({ path: [...path, 'toleration_seconds'], message: 'needs effect NoExecute' });
    }
  }
}

function checkKubernetesObjects(processor: Record<string, unknown>, at: KeyPath, findings: Findings): void {
  const check = (value: unknown, kind: KubernetesObjectKind, path: KeyPath): void => {
    if (!isRecord(value)) return;
    const found = checkKubernetesObject(value, kind, path);
    findings.errors.push(...found.errors);
    findings.warnings.push(...found.warnings);
  };
  const initContainers = records(processor.init_containers);
  for (const [i, container] of initContainers) check(container, 'V1Container', [...at, 'init_containers', i]);
  duplicates(initContainers, 'name', [...at, 'init_containers'], (path, message) =>
    findings.errors.push({ path, message }),
  );
  check(processor.pod_security_context, 'V1PodSecurityContext', [...at, 'pod_security_context']);
  check(processor.container_security_context, 'V1SecurityContext', [...at, 'container_security_context']);
  check(processor.affinity, 'V1Affinity', [...at, 'affinity']);
}

function checkMetadata(entry: ProcessEntry, at: KeyPath, findings: Findings): void {
  const metadata = entry.processor.metadata;
  if (!isRecord(metadata)) return;
  const path = [...at, 'metadata'];
  if (typeof metadata.id === 'string' && metadata.id !== entry.id) {
    findings.warnings.push({
      path: [...path, 'id'],
      message: `${JSON.stringify(metadata.id)} is not the process id ${JSON.stringify(entry.id)}, which is used instead`,
    });
  }
  if (isRecord(metadata.inputs)) {
    for (const [name, input] of Object.entries(metadata.inputs)) {
      if (!isRecord(input)) continue;
      if (input.schema === undefined) {
        findings.warnings.push({ path: [...path, 'inputs', name], message: 'has no schema, so any value is accepted' });
      }
      if (typeof input.minOccurs === 'number' && typeof input.maxOccurs === 'number' && input.minOccurs > input.maxOccurs) {
        findings.errors.push({
          path: [...path, 'inputs', name, 'minOccurs'],
          message: `must not be more than maxOccurs (${input.maxOccurs})`,
        });
      }
    }
  }
}

function checkProcess(entry: ProcessEntry, settings: Settings | undefined, findings: Findings): void {
  const at: KeyPath = ['resources', entry.id];
  if (!new RegExp(LABEL_VALUE_PATTERN).test(entry.id)) {
    findings.errors.push({
      path: at,
      message: `process id must be usable as a Kubernetes label value (${LABEL_VALUE_RULE})`,
    });
  }
  if (entry.kind === undefined) return;
  const processor = entry.processor;
  const processorPath = [...at, 'processor'];
  if (processor.image_pull_secret !== undefined && processor.image_pull_secrets !== undefined) {
    findings.errors.push({ path: processorPath, message: 'give image_pull_secret or image_pull_secrets, not both' });
  }
  checkEnv(processor, processorPath, findings);
  checkStorage(processor, processorPath, findings);
  checkResources(processor, processorPath, findings);
  checkTolerations(processor, processorPath, findings);
  checkKubernetesObjects(processor, processorPath, findings);
  checkMetadata(entry, processorPath, findings);
  if (entry.kind !== 'generic-image' && typeof processor.default_image === 'string') {
    findings.warnings.push({
      path: [...processorPath, 'default_image'],
      message: `the built-in ${entry.kind} program runs with python3, which this image must provide`,
    });
  }
  const checkAuth = typeof processor.check_auth === 'boolean' ? processor.check_auth : DEFAULT_CHECK_AUTH[entry.kind];
  if (settings !== undefined && checkAuth && settings.secrets.apiToken === undefined) {
    findings.warnings.push({
      path: at,
      message: `needs the input token (check_auth), but ${ENVIRONMENT.apiToken.name} is not set: every execution will be refused`,
    });
  }
}

/** `settings` is undefined when the environment itself was invalid. */
export function checkRules(data: unknown, settings: Settings | undefined): Findings {
  const findings = emptyFindings();
  if (!isRecord(data)) return findings;
  checkServer(data, findings);
  const processes = processEntries(data);
  const resources = isRecord(data.resources) ? Object.values(data.resources) : undefined;
  if (resources !== undefined && !resources.some((r) => isRecord(r) && r.type === 'process')) {
    findings.warnings.push({ path: ['resources'], message: 'has no process (type: process), so no process is offered' });
  }
  for (const entry of processes) checkProcess(entry, settings, findings);
  return findings;
}
