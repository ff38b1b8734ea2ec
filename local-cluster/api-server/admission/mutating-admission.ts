/**
 * Mutating admission: every matching webhook of every
 * MutatingWebhookConfiguration is called in order, its JSONPatch applied, its
 * denial returned to the client; failurePolicy, dry-run side effects and
 * reinvocation (IfNeeded) follow the real admission plugin.
 */
import { randomUUID } from 'node:crypto';
import { applyJsonPatch } from '../patch/json-patch.js';
import { ApiError, badRequest, internalError } from '../errors.js';
import { MUTATING_WEBHOOK_CONFIGURATION, NAMESPACE } from '../resources.js';
import { clone, isRecord, type KubeObject } from '../types.js';
import type { ObjectStore } from '../store.js';
import type { AdmissionAttributes, MutatingAdmission } from '../registry.js';
import { orderedWebhooks, webhookMatches, type MutatingWebhook } from './webhook-match.js';
import { matchConditionsVerdict } from './match-conditions.js';
import { admissionResponse, postAdmissionReview, webhookTarget, type ServiceResolver } from './call-webhook.js';

export interface AdmissionObserver {
  /** Called for every webhook call (for tests and events). */
  onCall?(webhook: string, outcome: 'patched' | 'unchanged' | 'denied' | 'failed-open' | 'failed-closed'): void;
}

function reviewFor(attributes: AdmissionAttributes, object: KubeObject, uid: string): unknown {
  const { type } = attributes;
  const gvk = { group: type.group, version: type.version, kind: type.kind };
  const gvr = { group: type.group, version: type.version, resource: type.plural };
  return {
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: {
      uid,
      kind: gvk,
      resource: gvr,
      ...(attributes.subresource ? { subResource: attributes.subresource, requestSubResource: attributes.subresource } : {}),
      requestKind: gvk,
      requestResource: gvr,
      name: attributes.name ?? object.metadata.name ?? '',
      ...(attributes.namespace ? { namespace: attributes.namespace } : {}),
      operation: attributes.operation,
      userInfo: {
        username: attributes.context.user,
        ...(attributes.context.uid ? { uid: attributes.context.uid } : {}),
        groups: attributes.context.groups ?? ['system:authenticated'],
      },
      object,
      oldObject: attributes.oldObject ?? null,
      dryRun: attributes.context.dryRun === true,
      options: {
        apiVersion: 'meta.k8s.io/v1',
        kind: attributes.operation === 'CREATE' ? 'CreateOptions' : 'UpdateOptions',
      },
    },
  };
}

function denial(webhook: string, status: { code?: number; message?: string; reason?: string } | undefined): ApiError {
  const code = status?.code !== undefined && status.code >= 400 ? status.code : 400;
  const why = status?.message ? `: ${status.message}` : ' without explanation';
  return new ApiError(code, status?.reason ?? 'BadRequest', `admission webhook "${webhook}" denied the request${why}`);
}

export function mutatingAdmission(store: ObjectStore, resolveService: ServiceResolver, observer: AdmissionObserver = {}): MutatingAdmission {
  async function callOne(webhook: MutatingWebhook, attributes: AdmissionAttributes, object: KubeObject): Promise<KubeObject> {
    if (attributes.context.dryRun && !['None', 'NoneOnDryRun'].includes(webhook.sideEffects ?? 'Unknown')) {
      throw badRequest(`admission webhook "${webhook.name}" does not support dry run`);
    }
    const uid = randomUUID();
    const timeoutMs = Math.min(Math.max(webhook.timeoutSeconds ?? 10, 1), 30) * 1000;
    let response;
    try {
      const target = webhookTarget(webhook, resolveService);
      response = admissionResponse(await postAdmissionReview(target, webhook.clientConfig.caBundle, reviewFor(attributes, object, uid), timeoutMs), uid);
    } catch (error) {
      if ((webhook.failurePolicy ?? 'Fail') === 'Ignore') {
        observer.onCall?.(webhook.name, 'failed-open');
        return object;
      }
      observer.onCall?.(webhook.name, 'failed-closed');
      throw internalError(`failed calling webhook "${webhook.name}": ${(error as Error).message}`);
    }
    if (response.allowed !== true) {
      observer.onCall?.(webhook.name, 'denied');
      throw denial(webhook.name, response.status);
    }
    if (!response.patch) {
      observer.onCall?.(webhook.name, 'unchanged');
      return object;
    }
    if (response.patchType !== 'JSONPatch') {
      throw internalError(`failed calling webhook "${webhook.name}": unsupported patch type "${String(response.patchType)}"`);
    }
    try {
      const patch: unknown = JSON.parse(Buffer.from(response.patch, 'base64').toString('utf8'));
      const patched = applyJsonPatch(object, patch);
      if (!isRecord(patched) || !isRecord(patched.metadata)) throw new Error('patch removed the object metadata');
      observer.onCall?.(webhook.name, 'patched');
      return patched as KubeObject;
    } catch (error) {
      throw internalError(`JSON patch of webhook "${webhook.name}" could not be applied: ${(error as Error).message}`);
    }
  }

  return async (attributes) => {
    const webhooks = orderedWebhooks(store.list(MUTATING_WEBHOOK_CONFIGURATION));
    if (webhooks.length === 0) return attributes.object;
    const namespace = attributes.namespace ? store.get(NAMESPACE, undefined, attributes.namespace) : undefined;
    const nsLabels = namespace?.metadata.labels ?? (attributes.namespace ? { 'kubernetes.io/metadata.name': attributes.namespace } : undefined);

    let object = clone(attributes.object);
    const invoked: Array<{ index: number; webhook: MutatingWebhook }> = [];
    let lastChange = -1;
    for (const [index, webhook] of webhooks.entries()) {
      if (!webhookMatches(webhook, { ...attributes, object }, nsLabels)) continue;
      const verdict = matchConditionsVerdict(webhook.matchConditions, attributes, object);
      if (verdict.call === false) continue;
      if (verdict.call === 'error') {
        if ((webhook.failurePolicy ?? 'Fail') === 'Ignore') continue;
        throw internalError(`webhook "${webhook.name}": ${verdict.message}`);
      }
      const before = JSON.stringify(object);
      object = await callOne(webhook, attributes, object);
      invoked.push({ index, webhook });
      if (JSON.stringify(object) !== before) lastChange = index;
    }
    // Reinvocation: IfNeeded webhooks that ran before a later webhook changed the object see it once more.
    for (const { index, webhook } of invoked) {
      if (webhook.reinvocationPolicy === 'IfNeeded' && index < lastChange) {
        object = await callOne(webhook, attributes, object);
      }
    }
    return object;
  };
}
