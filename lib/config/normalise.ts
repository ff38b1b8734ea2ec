/**
 * From the validated configuration as written to the typed ManagerConfig:
 * camelCase, defaults filled in, environment defaults applied.
 */
import type { V1Affinity, V1Container, V1PodSecurityContext, V1SecurityContext, V1Toleration } from '@kubernetes/client-node';
import { echoCommand, echoMetadata, helloWorldCommand, helloWorldMetadata, SCRIPT_IMAGE } from './builtin-processes.js';
import { isRecord } from '../is-record.js';
import { DEFAULT_CHECK_AUTH, type ProcessKind } from './processors.js';
import type { ProcessEntry, RawConfig, RawEnvEntry, RawProcessor, RawQuantities, RawScalar, RawStorageEntry } from './raw-config.js';
import type {
  EnvSetting,
  InputDescription,
  ManagerConfig,
  OutputDescription,
  ProcessDefinition,
  ProcessMetadata,
  ResourceSetting,
  ServerConfig,
  Settings,
  StorageSetting,
} from './types.js';

const JSON_MIMETYPE = 'application/json';

/** Python's str(): the YAML loader already kept numbers as written, booleans become True/False. */
function pythonText(value: RawScalar): string {
  if (typeof value === 'boolean') return value ? 'True' : 'False';
  return String(value);
}

function normaliseServer(raw: RawConfig): ServerConfig {
  const { server } = raw;
  const defaultItems = server.limits?.default_items ?? server.limit ?? 10;
  return {
    host: server.bind.host,
    port: server.bind.port,
    url: server.url.replace(/\/+$/, ''),
    cors: server.cors ?? false,
    limits: { defaultItems, maxItems: server.limits?.max_items ?? Math.max(defaultItems, 1000) },
    manager: { name: server.manager?.name, finalizerController: server.manager?.finalizer_controller ?? false },
    identification: {
      title: raw.metadata?.identification?.title,
      description: raw.metadata?.identification?.description,
    },
  };
}

function normaliseParameters<T extends InputDescription | OutputDescription>(value: unknown): Record<string, T> {
  if (!isRecord(value)) return {};
  const out: Record<string, T> = {};
  for (const [id, description] of Object.entries(value)) {
    // Validated as a mapping; a missing schema (warned about) means "any value".
    out[id] = { schema: {}, ...(description as Record<string, unknown>) } as T;
  }
  return out;
}

/** The Python GenericImageProcessor merges the configured description over these defaults. */
function genericMetadata(id: string, configured: Record<string, unknown>): ProcessMetadata {
  const version = configured.version;
  return {
    jobControlOptions: ['async-execute'],
    links: [],
    ...configured,
    id,
    version: version === undefined ? '1.0.0' : String(version),
    title: (configured.title as ProcessMetadata['title'] | undefined) ?? id,
    inputs: normaliseParameters<InputDescription>(configured.inputs),
    outputs: normaliseParameters<OutputDescription>(configured.outputs),
  };
}

function metadataFor(kind: ProcessKind, id: string, processor: RawProcessor): ProcessMetadata {
  switch (kind) {
    case 'generic-image':
      return genericMetadata(id, processor.metadata ?? {});
    case 'hello-world':
      return { ...helloWorldMetadata(), id };
    case 'echo':
      return { ...echoMetadata(), id };
  }
}

/** As the Python manager: none for no outputs, the output's contentMediaType for one, JSON for several. */
function outputMimetype(metadata: ProcessMetadata): string | undefined {
  const outputs = Object.values(metadata.outputs);
  if (outputs.length === 0) return undefined;
  if (outputs.length > 1) return JSON_MIMETYPE;
  const mediaType = outputs[0]?.schema.contentMediaType;
  return typeof mediaType === 'string' ? mediaType : JSON_MIMETYPE;
}

function commandFor(kind: ProcessKind, processor: RawProcessor, metadata: ProcessMetadata): string[] | undefined {
  const { command } = processor;
  switch (kind) {
    case 'generic-image':
      return Array.isArray(command) ? command.map(String) : undefined;
    case 'hello-world':
      return helloWorldCommand(command === undefined ? [] : Array.isArray(command) ? command.map(String) : [command]);
    case 'echo':
      return echoCommand(Object.keys(metadata.outputs));
  }
}

function normaliseEnv(entry: RawEnvEntry): EnvSetting {
  if (entry.secret_name !== undefined && entry.secret_key !== undefined) {
    return { name: entry.name, secretName: entry.secret_name, secretKey: entry.secret_key };
  }
  return { name: entry.name, value: pythonText(entry.value ?? '') };
}

function normaliseStorage(entry: RawStorageEntry): StorageSetting {
  const { name, mount_path: mountPath } = entry;
  if (entry.persistent_volume_claim_name !== undefined) {
    return { name, mountPath, persistentVolumeClaimName: entry.persistent_volume_claim_name };
  }
  const emptyDir = entry.empty_dir ?? {};
  return {
    name,
    mountPath,
    emptyDir: {
      ...(emptyDir.medium === undefined ? {} : { medium: emptyDir.medium }),
      ...(emptyDir.size_limit === undefined ? {} : { sizeLimit: String(emptyDir.size_limit) }),
    },
  };
}

function quantities(raw: RawQuantities | undefined): Record<string, string> | undefined {
  return raw === undefined ? undefined : Object.fromEntries(Object.entries(raw).map(([k, v]) => [k, String(v)]));
}

function normaliseResources(processor: RawProcessor): ResourceSetting | undefined {
  const { resources } = processor;
  if (resources === undefined) return undefined;
  const requests = quantities(resources.requests);
  const limits = quantities(resources.limits);
  return { ...(requests && { requests }), ...(limits && { limits }) };
}

function normaliseTolerations(processor: RawProcessor): V1Toleration[] {
  return (processor.tolerations ?? []).map(({ toleration_seconds: tolerationSeconds, ...rest }) => ({
    ...rest,
    ...(tolerationSeconds === undefined ? {} : { tolerationSeconds }),
  }));
}

function imagePullSecrets(processor: RawProcessor): string[] {
  const value = processor.image_pull_secrets ?? processor.image_pull_secret;
  return value === undefined ? [] : Array.isArray(value) ? value : [value];
}

/** The processor's own context if it has the key (null: none), else the environment's (null: off). */
function securityContext<T extends V1PodSecurityContext | V1SecurityContext>(
  processor: RawProcessor,
  key: 'pod_security_context' | 'container_security_context',
  fromEnvironment: T | null,
): T | undefined {
  // Validated against the Kubernetes schema in kubernetes-objects.ts.
  const own = key in processor ? (processor[key] as T | null) : fromEnvironment;
  return own ?? undefined;
}

function normaliseProcess(entry: ProcessEntry, kind: ProcessKind, settings: Settings): ProcessDefinition {
  const processor = entry.processor as unknown as RawProcessor;
  const metadata = metadataFor(kind, entry.id, processor);
  return {
    id: entry.id,
    kind,
    processorName: processor.name,
    metadata,
    checkAuth: processor.check_auth ?? DEFAULT_CHECK_AUTH[kind],
    mimetype: outputMimetype(metadata) ?? processor.mimetype ?? JSON_MIMETYPE,
    image: processor.default_image ?? SCRIPT_IMAGE,
    command: commandFor(kind, processor, metadata),
    args: processor.args?.map(String),
    env: (processor.env ?? []).map(normaliseEnv),
    resources: normaliseResources(processor),
    storage: (processor.storage ?? []).map(normaliseStorage),
    // Kubernetes containers as written, validated against the Kubernetes schema.
    initContainers: (processor.init_containers ?? []) as unknown as V1Container[],
    tolerations: normaliseTolerations(processor),
    imagePullSecrets: imagePullSecrets(processor),
    nodeSelector: processor.node_selector,
    affinity: processor.affinity as V1Affinity | undefined,
    serviceAccount: processor.service_account,
    podSecurityContext: securityContext(processor, 'pod_security_context', settings.podSecurityContext),
    containerSecurityContext: securityContext(processor, 'container_security_context', settings.containerSecurityContext),
    backoffLimit: processor.backoff_limit ?? 0,
    ttlSecondsAfterFinished: processor.ttl_seconds_after_finished ?? settings.defaultTtlSecondsAfterFinished,
    activeDeadlineSeconds: processor.active_deadline_seconds ?? settings.defaultActiveDeadlineSeconds,
  };
}

/** Only for data that passed the schema and the rules without errors. */
export function normaliseConfig(
  file: string,
  data: unknown,
  processes: readonly ProcessEntry[],
  settings: Settings,
): ManagerConfig {
  const raw = data as RawConfig;
  return {
    file,
    server: normaliseServer(raw),
    processes: processes.flatMap((entry) => (entry.kind === undefined ? [] : [normaliseProcess(entry, entry.kind, settings)])),
    settings,
  };
}
