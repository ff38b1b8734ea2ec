/**
 * The API operations every client goes through — the HTTP handlers and the
 * in-process controllers and kubelet alike — so that admission, defaulting,
 * validation, optimistic concurrency and deletion rules apply to all writes,
 * as they do in a real cluster.
 */
import { ObjectStore } from './store.js';
import { applyDefaults } from './defaults.js';
import { checkSchema, validateCreate, validateUpdate } from './validation.js';
import { dropEmptyMetadata, prepareForCreate, prepareForUpdate, rfc3339 } from './strategies.js';
import { conflictMessage, serverSideApply } from './patch/server-side-apply.js';
import { completesDeletion, planDeletion, type PropagationPolicy } from './deletion.js';
import { applyPatch, type PatchType } from './patch/apply-patch.js';
import { continueRevision, selectObjects, type ListOptions, type ListResult } from './list.js';
import {
  ApiError,
  alreadyExists,
  badRequest,
  conflict,
  forbidden,
  invalid,
  notFound,
  staleResourceVersion,
} from './errors.js';
import { apiVersionOf, NAMESPACE, SERVICE, SERVICE_ACCOUNT, type ResourceType } from './resources.js';
import { admitPodCreate, NAME_ALPHABET } from './admission/pod-admission.js';
import { randomBytes } from 'node:crypto';
import { clone, isRecord, type KubeObject } from './types.js';

export type Operation = 'CREATE' | 'UPDATE' | 'DELETE';

export interface RequestContext {
  /** Who asks; webhooks see it as userInfo.username. */
  user: string;
  uid?: string;
  groups?: string[];
  dryRun?: boolean;
}

export interface AdmissionAttributes {
  type: ResourceType;
  operation: Operation;
  subresource?: string;
  namespace?: string;
  name?: string;
  object: KubeObject;
  oldObject?: KubeObject;
  context: RequestContext;
}

/** Mutating admission: returns the (possibly patched) object or throws an ApiError. */
export type MutatingAdmission = (attributes: AdmissionAttributes) => Promise<KubeObject>;

export interface DeleteOptions {
  propagationPolicy?: PropagationPolicy;
  gracePeriodSeconds?: number;
  preconditions?: { uid?: string; resourceVersion?: string };
}

export interface DeleteResult {
  object: KubeObject;
  /** False when finalizers or a grace period keep the object for now. */
  deleted: boolean;
}

const MAX_CONFLICT_RETRIES = 10;

export class Registry {
  constructor(
    readonly store: ObjectStore,
    private readonly admit: MutatingAdmission,
    private readonly now: () => Date = () => new Date(),
  ) {}

  get(type: ResourceType, namespace: string | undefined, name: string): KubeObject {
    const found = this.store.get(type, namespace, name);
    if (!found) throw notFound(type, name);
    return found;
  }

  list(type: ResourceType, namespace: string | undefined, options: ListOptions = {}): ListResult {
    // A continued list reads the objects as they were at its first page (selectObjects answers 410 once that is compacted).
    const at = continueRevision(options.continue);
    const snapshot = at === undefined ? undefined : this.store.listAt(type, namespace, at);
    const objects = snapshot === undefined || snapshot === 'expired' ? this.store.listStored(type, namespace) : snapshot;
    // Only the page handed out is copied, not the whole collection for every page.
    const selected = selectObjects(type, objects, this.store.currentRevision, options, this.store.oldestWatchableRevision);
    return { ...selected, items: selected.items.map(clone) };
  }

  async create(type: ResourceType, namespace: string | undefined, body: unknown, context: RequestContext): Promise<KubeObject> {
    const obj = this.decode(type, body);
    this.placeInNamespace(type, obj, namespace);
    applyDefaults(obj);
    const schemaError = checkSchema(obj);
    if (schemaError) throw schemaError;
    // The namespace lifecycle check and the built-in pod plugins run before the webhooks, as in the real chain.
    this.ensureNamespaceExists(type, obj.metadata.namespace);
    if (type.kind === 'Pod' && type.group === '') this.admitPod(type, obj);
    const admitted = await this.admit({
      type,
      operation: 'CREATE',
      namespace: obj.metadata.namespace,
      name: obj.metadata.name,
      object: obj,
      context,
    });
    prepareForCreate(type, admitted, this.now());
    this.throwIfInvalid(checkSchema(admitted) ?? validateCreate(type, admitted));
    const name = admitted.metadata.name ?? '';
    if (this.store.get(type, admitted.metadata.namespace, name)) throw alreadyExists(type, name);
    dropEmptyMetadata(admitted);
    if (type.kind === 'Service') this.allocateClusterIp(admitted);
    if (context.dryRun) return admitted;
    delete admitted.metadata.resourceVersion;
    return this.store.put(type, admitted);
  }

  async update(
    type: ResourceType,
    namespace: string | undefined,
    name: string,
    body: unknown,
    context: RequestContext,
    subresource?: 'status',
  ): Promise<KubeObject> {
    const obj = this.decode(type, body);
    if (obj.metadata.name !== name) {
      throw badRequest(`the name of the object (${obj.metadata.name ?? ''}) does not match the name on the URL (${name})`);
    }
    this.placeInNamespace(type, obj, namespace);
    const requestedVersion = obj.metadata.resourceVersion;
    if (type.unconditionalUpdate === false && !requestedVersion) {
      throw invalid(type.kind, type.group, name, [{ reason: 'FieldValueInvalid', field: 'metadata.resourceVersion', message: 'Invalid value: 0x0: must be specified for an update' }]);
    }
    return this.guaranteedUpdate(type, namespace, name, context, subresource, requestedVersion, () => clone(obj));
  }

  async patch(
    type: ResourceType,
    namespace: string | undefined,
    name: string,
    patchType: PatchType,
    patch: unknown,
    context: RequestContext,
    subresource?: 'status',
  ): Promise<KubeObject> {
    return this.guaranteedUpdate(type, namespace, name, context, subresource, undefined, (current) => {
      const patched = applyPatch(patchType, current, patch, type.kind);
      if (!isRecord(patched) || !isRecord(patched.metadata)) throw badRequest('the patch removed the object metadata');
      const result = patched as KubeObject;
      // A resourceVersion in the patch is a precondition, as on the real server.
      const wanted = result.metadata.resourceVersion;
      if (wanted !== undefined && wanted !== current.metadata.resourceVersion) throw staleResourceVersion(type, name);
      return result;
    });
  }

  /**
   * Server-side apply: creates the object when it does not exist, else merges
   * the configuration with field ownership; a 409 names the conflicting fields.
   */
  async apply(
    type: ResourceType,
    namespace: string | undefined,
    name: string,
    body: unknown,
    manager: string,
    force: boolean,
    context: RequestContext,
  ): Promise<{ object: KubeObject; created: boolean }> {
    const config = this.decode(type, body);
    if (config.metadata.name !== undefined && config.metadata.name !== name) {
      throw badRequest(`the name of the object (${config.metadata.name}) does not match the name on the URL (${name})`);
    }
    config.metadata.name = name;
    this.placeInNamespace(type, config, namespace);
    const now = rfc3339(this.now());
    const outcome = (live: KubeObject | undefined): KubeObject => {
      const result = serverSideApply(live, config, manager, force, now);
      if ('conflicts' in result) {
        throw new ApiError(409, 'Conflict', conflictMessage(result.conflicts), {
          causes: result.conflicts.map((c) => ({ reason: 'FieldManagerConflict', message: `conflict with "${c.manager}"`, field: c.field })),
        });
      }
      return result.object;
    };
    if (!this.store.get(type, config.metadata.namespace, name)) {
      return { object: await this.create(type, namespace, outcome(undefined), context), created: true };
    }
    return { object: await this.guaranteedUpdate(type, namespace, name, context, undefined, undefined, outcome), created: false };
  }

  async delete(
    type: ResourceType,
    namespace: string | undefined,
    name: string,
    options: DeleteOptions,
    context: RequestContext,
  ): Promise<DeleteResult> {
    const existing = this.get(type, namespace, name);
    const pre = options.preconditions;
    if (pre?.uid !== undefined && pre.uid !== existing.metadata.uid) {
      throw conflict(type, name, `Precondition failed: UID in precondition: ${pre.uid}, UID in object meta: ${existing.metadata.uid ?? ''}`);
    }
    if (pre?.resourceVersion !== undefined && pre.resourceVersion !== existing.metadata.resourceVersion) {
      throw conflict(
        type,
        name,
        `Precondition failed: ResourceVersion in precondition: ${pre.resourceVersion}, ResourceVersion in object meta: ${existing.metadata.resourceVersion ?? ''}`,
      );
    }
    const plan = planDeletion(type, existing, options, this.now());
    if (context.dryRun) return { object: existing, deleted: plan.action === 'remove' };
    if (plan.action === 'unchanged') return { object: existing, deleted: false };
    if (plan.action === 'mark') return { object: this.store.put(type, plan.object), deleted: false };
    return { object: this.store.remove(type, existing) ?? existing, deleted: true };
  }

  async deleteCollection(
    type: ResourceType,
    namespace: string | undefined,
    listOptions: ListOptions,
    options: DeleteOptions,
    context: RequestContext,
  ): Promise<KubeObject[]> {
    const { items } = this.list(type, namespace, { ...listOptions, limit: undefined, continue: undefined });
    const results: KubeObject[] = [];
    for (const item of items) {
      try {
        results.push((await this.delete(type, item.metadata.namespace, item.metadata.name ?? '', options, context)).object);
      } catch (error) {
        if ((error as ApiError).code !== 404) throw error;
      }
    }
    return results;
  }

  /**
   * Read-modify-write with compare-and-swap, as the storage layer's
   * GuaranteedUpdate: retried when someone else wrote in between, unless the
   * client pinned a resourceVersion (then it gets the 409).
   */
  private async guaranteedUpdate(
    type: ResourceType,
    namespace: string | undefined,
    name: string,
    context: RequestContext,
    subresource: 'status' | undefined,
    requestedVersion: string | undefined,
    modify: (current: KubeObject) => KubeObject,
  ): Promise<KubeObject> {
    for (let attempt = 0; attempt < MAX_CONFLICT_RETRIES; attempt++) {
      const current = this.get(type, namespace, name);
      if (requestedVersion !== undefined && requestedVersion !== '' && requestedVersion !== current.metadata.resourceVersion) {
        throw staleResourceVersion(type, name);
      }
      const next = modify(clone(current));
      this.checkIdentity(type, next, current);
      prepareForUpdate(type, next, current, subresource);
      applyDefaults(next);
      const schemaError = checkSchema(next);
      if (schemaError) throw schemaError;
      const admitted = await this.admit({
        type,
        operation: 'UPDATE',
        subresource,
        namespace,
        name,
        object: next,
        oldObject: current,
        context,
      });
      prepareForUpdate(type, admitted, current, subresource);
      dropEmptyMetadata(admitted);
      this.throwIfInvalid(validateUpdate(type, admitted, current));
      if (context.dryRun) return admitted;
      const latest = this.store.get(type, namespace, name);
      if (!latest) throw notFound(type, name);
      if (latest.metadata.resourceVersion !== current.metadata.resourceVersion) {
        if (requestedVersion) throw staleResourceVersion(type, name);
        continue;
      }
      if (completesDeletion(admitted)) return this.store.remove(type, admitted) ?? admitted;
      if (JSON.stringify({ ...admitted, metadata: { ...admitted.metadata, resourceVersion: '' } }) ===
        JSON.stringify({ ...current, metadata: { ...current.metadata, resourceVersion: '' } })) {
        // A no-op write keeps the resourceVersion and sends no watch event, as on the real server.
        return current;
      }
      return this.store.put(type, admitted);
    }
    throw conflict(type, name, 'too many concurrent writers; please retry');
  }

  /** The service IP allocator: a free address of the service range 10.96.0.0/12 (clusterIP: None stays headless). */
  private allocateClusterIp(service: KubeObject): void {
    const spec = isRecord(service.spec) ? service.spec : {};
    if (spec.type === 'ExternalName') return;
    if (spec.clusterIP === undefined || spec.clusterIP === '') {
      const used = new Set(this.store.list(SERVICE).map((s) => (isRecord(s.spec) ? s.spec.clusterIP : undefined)));
      let ip: string;
      do {
        const n = 1 + Math.floor(Math.random() * (2 ** 20 - 2));
        ip = `10.${96 + (n >> 16)}.${(n >> 8) & 0xff}.${n & 0xff}`;
      } while (used.has(ip));
      spec.clusterIP = ip;
    }
    if (spec.clusterIPs === undefined) spec.clusterIPs = [spec.clusterIP];
  }

  private decode(type: ResourceType, body: unknown): KubeObject {
    if (!isRecord(body)) throw badRequest(`the body of the request was not a JSON object`);
    const apiVersion = body.apiVersion ?? apiVersionOf(type);
    const kind = body.kind ?? type.kind;
    if (apiVersion !== apiVersionOf(type) || kind !== type.kind) {
      throw badRequest(
        `the API version in the data (${String(apiVersion)}) does not match the expected API version (${apiVersionOf(type)}) or kind (${String(kind)}) is not ${type.kind}`,
      );
    }
    const metadata = body.metadata === undefined ? {} : body.metadata;
    if (!isRecord(metadata)) throw badRequest(`${type.kind}.metadata must be an object`);
    return { ...clone(body), apiVersion: apiVersionOf(type), kind: type.kind, metadata: clone(metadata) };
  }

  private placeInNamespace(type: ResourceType, obj: KubeObject, namespace: string | undefined): void {
    if (!type.namespaced) {
      delete obj.metadata.namespace;
      return;
    }
    const given = obj.metadata.namespace;
    if (given && namespace && given !== namespace) {
      throw badRequest('the namespace of the provided object does not match the namespace sent on the request');
    }
    obj.metadata.namespace = given || namespace;
  }

  private admitPod(type: ResourceType, pod: KubeObject): void {
    const namespace = pod.metadata.namespace;
    const verdict = admitPodCreate({
      pod,
      serviceAccount: (name) => this.store.get(SERVICE_ACCOUNT, namespace, name),
      suffix: Array.from(randomBytes(5), (b) => NAME_ALPHABET[b % NAME_ALPHABET.length]).join(''),
    });
    if (!verdict.allowed) throw forbidden(type, pod.metadata.name ?? '', verdict.message);
  }

  private ensureNamespaceExists(type: ResourceType, namespace: string | undefined): void {
    if (!type.namespaced || namespace === undefined) return;
    const ns = this.store.get(NAMESPACE, undefined, namespace);
    if (!ns) throw notFound(NAMESPACE, namespace);
    if (ns.metadata.deletionTimestamp) {
      throw forbidden(type, '', `unable to create new content in namespace ${namespace} because it is being terminated`);
    }
  }

  private checkIdentity(type: ResourceType, next: KubeObject, current: KubeObject): void {
    if (next.metadata.name !== undefined && next.metadata.name !== current.metadata.name) {
      throw badRequest(`the name of the object (${next.metadata.name}) does not match the name on the URL (${current.metadata.name ?? ''})`);
    }
    if (type.namespaced && next.metadata.namespace && next.metadata.namespace !== current.metadata.namespace) {
      throw badRequest('the namespace of the provided object does not match the namespace sent on the request');
    }
  }

  private throwIfInvalid(error: ApiError | undefined): void {
    if (error) throw error;
  }
}
