/**
 * A webhook's matchConditions (CEL), as the real admission plugin applies
 * them after rules and selectors: any condition false skips the webhook;
 * otherwise an error makes the failurePolicy decide; all true calls it.
 * The variables are `object`, `oldObject` (null when absent) and `request`
 * (the AdmissionRequest's operation, userInfo, namespace, name, kind,
 * resource, subResource, dryRun); `authorizer`, `namespaceObject` and the
 * Kubernetes CEL libraries are not provided (an expression using them
 * errors).
 */
import { evaluate } from '@marcbachmann/cel-js';
import type { AdmissionAttributes } from '../registry.js';
import type { KubeObject } from '../types.js';

export interface MatchCondition {
  name: string;
  expression: string;
}

export type MatchVerdict = { call: true } | { call: false } | { call: 'error'; message: string };

export function matchConditionsVerdict(conditions: MatchCondition[] | undefined, attributes: AdmissionAttributes, object: KubeObject): MatchVerdict {
  if (!conditions || conditions.length === 0) return { call: true };
  const { type, context } = attributes;
  const variables = {
    object: attributes.operation === 'DELETE' ? null : object,
    oldObject: attributes.oldObject ?? null,
    request: {
      operation: attributes.operation,
      userInfo: { username: context.user, ...(context.uid ? { uid: context.uid } : {}), groups: context.groups ?? ['system:authenticated'] },
      namespace: attributes.namespace ?? '',
      name: attributes.name ?? object.metadata.name ?? '',
      kind: { group: type.group, version: type.version, kind: type.kind },
      resource: { group: type.group, version: type.version, resource: type.plural },
      subResource: attributes.subresource ?? '',
      dryRun: context.dryRun === true,
    },
  };
  const errors: string[] = [];
  for (const condition of conditions) {
    let value: unknown;
    try {
      value = evaluate(condition.expression, variables);
    } catch (error) {
      errors.push(`${condition.name}: ${(error as Error).message}`);
      continue;
    }
    if (value === false) return { call: false };
    if (value !== true) errors.push(`${condition.name}: evaluated to a non-boolean`);
  }
  return errors.length > 0 ? { call: 'error', message: `failed to evaluate match conditions: ${errors.join('; ')}` } : { call: true };
}
