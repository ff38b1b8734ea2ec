/**
 * Which webhooks of a MutatingWebhookConfiguration see a request: rules
 * (operations, groups, versions, resources with subresource notation, scope),
 * namespaceSelector and objectSelector — as the real admission plugin decides.
 */
import { matchesLabels, selectorFromLabelSelector } from '../selectors/label-selector.js';
import { isRecord, type KubeObject } from '../types.js';
import type { AdmissionAttributes } from '../registry.js';
import type { MatchCondition } from './match-conditions.js';

export interface RuleWithOperations {
  operations?: string[];
  apiGroups?: string[];
  apiVersions?: string[];
  resources?: string[];
  scope?: string;
}

export interface LabelSelectorSpec {
  matchLabels?: Record<string, string>;
  matchExpressions?: Array<{ key: string; operator: string; values?: string[] }>;
}

export interface MutatingWebhook {
  name: string;
  clientConfig: {
    url?: string;
    service?: { namespace: string; name: string; path?: string; port?: number };
    caBundle?: string;
  };
  rules?: RuleWithOperations[];
  failurePolicy?: 'Fail' | 'Ignore';
  namespaceSelector?: LabelSelectorSpec;
  objectSelector?: LabelSelectorSpec;
  sideEffects?: string;
  timeoutSeconds?: number;
  admissionReviewVersions?: string[];
  reinvocationPolicy?: 'Never' | 'IfNeeded';
  matchConditions?: MatchCondition[];
}

function listed(values: string[] | undefined, value: string): boolean {
  return (values ?? []).some((v) => v === '*' || v === value);
}

function resourceMatches(patterns: string[] | undefined, resource: string, subresource: string | undefined): boolean {
  return (patterns ?? []).some((pattern) => {
    if (pattern === '*/*') return true;
    const [res, sub] = pattern.split('/', 2);
    if (sub === undefined) return subresource === undefined && (res === '*' || res === resource);
    if (res === '*') return sub === subresource;
    return res === resource && (sub === '*' ? subresource !== undefined : sub === subresource);
  });
}

export function ruleMatches(rule: RuleWithOperations, attributes: AdmissionAttributes): boolean {
  const { type } = attributes;
  const scope = rule.scope ?? '*';
  if (scope === 'Namespaced' && !type.namespaced) return false;
  if (scope === 'Cluster' && type.namespaced) return false;
  return (
    listed(rule.operations, attributes.operation) &&
    listed(rule.apiGroups, type.group) &&
    listed(rule.apiVersions, type.version) &&
    resourceMatches(rule.resources, type.plural, attributes.subresource)
  );
}

function selects(selector: LabelSelectorSpec | undefined, labels: Record<string, string> | undefined): boolean {
  if (!selector) return true;
  return matchesLabels(selectorFromLabelSelector(selector), labels);
}

/**
 * True when the webhook must be called. `namespaceLabels` are the labels of
 * the request's namespace (undefined for cluster-scoped objects).
 */
export function webhookMatches(
  webhook: MutatingWebhook,
  attributes: AdmissionAttributes,
  namespaceLabels: Record<string, string> | undefined,
): boolean {
  if (!(webhook.rules ?? []).some((rule) => ruleMatches(rule, attributes))) return false;
  const isNamespace = attributes.type.kind === 'Namespace';
  const nsLabels = isNamespace ? attributes.object.metadata.labels : namespaceLabels;
  if ((attributes.type.namespaced || isNamespace) && !selects(webhook.namespaceSelector, nsLabels)) return false;
  const candidates: Array<KubeObject | undefined> = [attributes.object, attributes.oldObject];
  return candidates.some((o) => o !== undefined && selects(webhook.objectSelector, o.metadata.labels));
}

/** The webhooks of all configurations, in the order the real server calls them (by configuration name). */
export function orderedWebhooks(configurations: KubeObject[]): MutatingWebhook[] {
  return [...configurations]
    .sort((a, b) => ((a.metadata.name ?? '') < (b.metadata.name ?? '') ? -1 : 1))
    .flatMap((c) => (Array.isArray(c.webhooks) ? c.webhooks.filter(isRecord) : []) as unknown as MutatingWebhook[]);
}
