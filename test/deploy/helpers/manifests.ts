/**
 * The rendered manifests as the tests see them: `kubectl kustomize` of an
 * overlay, parsed into objects, with lookups by kind and name and the facts
 * the checks keep needing (namespaces, a part's Deployment and its flags).
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import type { V1ConfigMap, V1Container, V1Deployment } from '@kubernetes/client-node';
import { kubectlOk } from './kubectl.js';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
export const MANIFESTS = path.join(REPO_ROOT, 'k8s-manifests');

export const OVERLAYS = {
  plain: path.join(MANIFESTS, 'overlays/plain'),
  'cert-manager': path.join(MANIFESTS, 'overlays/cert-manager'),
} as const;
export type OverlayName = keyof typeof OVERLAYS;

export const PARTS = ['api', 'webhook', 'controller'] as const;
export type Part = (typeof PARTS)[number];

export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  [field: string]: unknown;
}

function isKubeObject(value: unknown): value is KubeObject {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  const meta = v.metadata as Record<string, unknown> | undefined;
  return typeof v.apiVersion === 'string' && typeof v.kind === 'string' && typeof meta?.name === 'string';
}

/** Parses multi-document YAML; every document must be a Kubernetes object. */
export function parseObjects(text: string): KubeObject[] {
  return parseAllDocuments(text).map((doc, i) => {
    if (doc.errors.length > 0) throw new Error(`document ${i}: ${doc.errors.map((e) => e.message).join('; ')}`);
    const value: unknown = doc.toJS();
    if (!isKubeObject(value)) throw new Error(`document ${i} is not a Kubernetes object: ${JSON.stringify(value).slice(0, 200)}`);
    return value;
  });
}

export interface Rendered {
  text: string;
  objects: KubeObject[];
}

export async function render(dir: string, binary?: string): Promise<Rendered> {
  const text = await kubectlOk(['kustomize', dir], { ...(binary ? { binary } : {}), timeoutMs: 60_000 });
  return { text, objects: parseObjects(text) };
}

export const idOf = (o: KubeObject): string => `${o.kind}/${o.metadata.namespace ? `${o.metadata.namespace}/` : ''}${o.metadata.name}`;

export function ofKind<T = KubeObject>(objects: KubeObject[], kind: string): T[] {
  return objects.filter((o) => o.kind === kind) as unknown as T[];
}

export function findObject<T = KubeObject>(objects: KubeObject[], kind: string, name: string, namespace?: string): T {
  const found = objects.filter((o) => o.kind === kind && o.metadata.name === name && (namespace === undefined || o.metadata.namespace === namespace));
  if (found.length !== 1) throw new Error(`expected one ${kind} ${namespace ?? '*'}/${name}, found ${found.length}`);
  return found[0] as unknown as T;
}

export function maybeObject<T = KubeObject>(objects: KubeObject[], kind: string, name: string): T | undefined {
  return objects.find((o) => o.kind === kind && o.metadata.name === name) as unknown as T | undefined;
}

/** The manager's namespace (where its ServiceAccounts are) and the jobs namespace (what the API is told). */
export interface Namespaces {
  system: string;
  jobs: string;
}

export function namespacesOf(objects: KubeObject[]): Namespaces {
  const system = findObject(objects, 'ServiceAccount', 'k8s-job-manager-webhook').metadata.namespace;
  const jobsConfig = ofKind<V1ConfigMap>(objects, 'ConfigMap').find((c) => c.metadata?.name?.startsWith('k8s-job-manager-jobs-namespace-'));
  const jobs = jobsConfig?.data?.PYGEOAPI_K8S_MANAGER_NAMESPACE;
  if (!system || !jobs) throw new Error('cannot tell the namespaces from the rendered manifests');
  return { system, jobs };
}

export function deploymentOf(objects: KubeObject[], part: Part): V1Deployment {
  return findObject<V1Deployment>(objects, 'Deployment', `k8s-job-manager-${part}`);
}

export function containerOf(deployment: V1Deployment): V1Container {
  const containers = deployment.spec?.template.spec?.containers ?? [];
  if (containers.length !== 1) throw new Error(`${deployment.metadata?.name}: expected one container, found ${containers.length}`);
  return containers[0]!;
}

/** The value after `--flag` in an argument list (flags are passed as separate words). */
export function flagValue(args: readonly string[], flag: string): string | undefined {
  const i = args.indexOf(flag);
  return i >= 0 ? args[i + 1] : undefined;
}

/** The names the webhook works with: its flags, or the CLI's defaults (cmd/commands/serve.ts). */
export function webhookNames(objects: KubeObject[]): { service: string; secret: string; caSecret: string; configuration: string; tlsDir?: string } {
  const args = containerOf(deploymentOf(objects, 'webhook')).args ?? [];
  const tlsDir = flagValue(args, '--tls-dir');
  const secret = flagValue(args, '--webhook-secret') ?? 'k8s-job-manager-webhook-tls';
  return {
    service: flagValue(args, '--webhook-service') ?? 'k8s-job-manager-webhook',
    secret,
    caSecret: flagValue(args, '--webhook-ca-secret') ?? `${secret}-ca`,
    configuration: flagValue(args, '--webhook-configuration') ?? 'k8s-job-manager',
    ...(tlsDir ? { tlsDir } : {}),
  };
}
