/**
 * Strategic-merge metadata of the kinds the local cluster serves: the `patchStrategy` and
 * `patchMergeKey` struct tags of k8s.io/api (core/v1, batch/v1, coordination/v1,
 * admissionregistration/v1, meta/v1). Lists not described here are replaced wholesale, maps are
 * merged key by key — exactly what untagged Go fields do.
 */

export interface FieldPatchMeta {
  /** `patchStrategy:"merge"`: the list is merged into the live list instead of replacing it. */
  readonly merge?: true;
  /** `patchMergeKey`: the member that identifies the items of a merged list of objects. */
  readonly mergeKey?: string;
  /** Metadata of the members of this object, or of each item when the field is a list. */
  readonly fields?: PatchSchema;
}

export type PatchSchema = Readonly<Record<string, FieldPatchMeta>>;

const mergeByKey = (mergeKey: string, fields?: PatchSchema): FieldPatchMeta => ({
  merge: true,
  mergeKey,
  ...(fields && { fields }),
});
const struct = (fields: PatchSchema): FieldPatchMeta => ({ fields });

const OBJECT_META = struct({
  finalizers: { merge: true },
  ownerReferences: mergeByKey('uid'),
});

const CONDITIONS_BY_TYPE = mergeByKey('type');

// Container, and EphemeralContainerCommon which carries the same tags.
const CONTAINER: PatchSchema = {
  env: mergeByKey('name'),
  ports: mergeByKey('containerPort'),
  volumeMounts: mergeByKey('mountPath'),
  volumeDevices: mergeByKey('devicePath'),
};

const POD_SPEC = struct({
  containers: mergeByKey('name', CONTAINER),
  initContainers: mergeByKey('name', CONTAINER),
  ephemeralContainers: mergeByKey('name', CONTAINER),
  // Tagged "merge,retainKeys": retainKeys only shapes the patches clients compute; applying one
  // honours a `$retainKeys` directive wherever it appears.
  volumes: mergeByKey('name'),
  resourceClaims: mergeByKey('name'),
  imagePullSecrets: mergeByKey('name'),
  hostAliases: mergeByKey('ip'),
  topologySpreadConstraints: mergeByKey('topologyKey'),
  schedulingGates: mergeByKey('name'),
});

const POD_STATUS = struct({
  conditions: CONDITIONS_BY_TYPE,
  podIPs: mergeByKey('ip'),
  hostIPs: mergeByKey('ip'),
  resourceClaimStatuses: mergeByKey('name'),
});

const WEBHOOK_CONFIGURATION: PatchSchema = { metadata: OBJECT_META, webhooks: mergeByKey('name') };
const STATUS_CONDITIONS = struct({ conditions: CONDITIONS_BY_TYPE });

const KINDS: Readonly<Record<string, PatchSchema>> = {
  Pod: { metadata: OBJECT_META, spec: POD_SPEC, status: POD_STATUS },
  Job: {
    metadata: OBJECT_META,
    spec: struct({ template: struct({ metadata: OBJECT_META, spec: POD_SPEC }) }),
    status: STATUS_CONDITIONS,
  },
  Namespace: { metadata: OBJECT_META, status: STATUS_CONDITIONS },
  Service: { metadata: OBJECT_META, spec: struct({ ports: mergeByKey('port') }), status: STATUS_CONDITIONS },
  PersistentVolumeClaim: { metadata: OBJECT_META, status: STATUS_CONDITIONS },
  ServiceAccount: { metadata: OBJECT_META, secrets: mergeByKey('name') },
  MutatingWebhookConfiguration: WEBHOOK_CONFIGURATION,
  ValidatingWebhookConfiguration: WEBHOOK_CONFIGURATION,
};

/** Kinds with nothing tagged beyond ObjectMeta (Event, Secret, ConfigMap, Lease, ...) and unknown kinds. */
const METADATA_ONLY: PatchSchema = { metadata: OBJECT_META };

export function patchSchemaFor(kind: string): PatchSchema {
  return Object.hasOwn(KINDS, kind) ? KINDS[kind]! : METADATA_ONLY;
}

export function fieldPatchMeta(schema: PatchSchema | undefined, field: string): FieldPatchMeta | undefined {
  return schema && Object.hasOwn(schema, field) ? schema[field] : undefined;
}
