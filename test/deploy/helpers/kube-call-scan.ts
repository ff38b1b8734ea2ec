/**
 * Finding the Kubernetes calls in the source, so that the RBAC test's table
 * of calls cannot silently fall behind the code: API paths written in the
 * code (`/api/v1/namespaces/${ns}/pods/${name}/log`), @kubernetes/client-node
 * methods (`createNamespacedJob(`), and the helpers that imply calls
 * (`new Log(`, `new Reflector`, `new LeaderElector(`).
 */
import * as k8s from '@kubernetes/client-node';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';

/** What a file's code shows it does; `verb` undefined when only the resource can be read off (a path). */
export interface FoundCall {
  file: string;
  group: string;
  resource: string;
  verb?: string;
  /** What in the code shows it. */
  evidence: string;
}

/** Comments describe paths without calling them. */
export function stripComments(source: string): string {
  return source.replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '');
}

/** (group, resource[/subresource], collection?) of a Kubernetes API path, or undefined. */
export function resourceOfPath(apiPath: string): { group: string; resource: string; collection: boolean } | undefined {
  const parts = apiPath.split('?')[0]!.split('/').filter(Boolean);
  let rest: string[];
  let group: string;
  if (parts[0] === 'api' && parts.length >= 3) {
    group = '';
    rest = parts.slice(2);
  } else if (parts[0] === 'apis' && parts.length >= 4) {
    group = parts[1]!;
    rest = parts.slice(3);
  } else return undefined;
  if (rest[0] === 'namespaces' && rest.length >= 3) rest = rest.slice(2);
  const [resource, name, subresource] = rest;
  if (!resource || resource.startsWith('$')) return undefined;
  return { group, resource: subresource ? `${resource}/${subresource}` : resource, collection: name === undefined };
}

const CLIENT_VERBS: Record<string, string> = { create: 'create', read: 'get', replace: 'update', patch: 'patch', delete: 'delete', list: 'list' };
/** Kinds whose client-node methods address a subresource. */
const SUBRESOURCE_KINDS: Record<string, string> = { PodLog: 'pods/log', PodStatus: 'pods/status', JobStatus: 'jobs/status' };
const GROUP_OF_KIND: Record<string, string> = {
  Job: 'batch',
  Lease: 'coordination.k8s.io',
  MutatingWebhookConfiguration: 'admissionregistration.k8s.io',
  ValidatingWebhookConfiguration: 'admissionregistration.k8s.io',
  TokenReview: 'authentication.k8s.io',
  SubjectAccessReview: 'authorization.k8s.io',
};

function isKubernetesKind(kind: string): boolean {
  return kind in SUBRESOURCE_KINDS || typeof (k8s as Record<string, unknown>)[`V1${kind}`] === 'function';
}

export function findCalls(file: string, source: string): FoundCall[] {
  const code = stripComments(source);
  const found: FoundCall[] = [];
  const usesReflector = /new Reflector\b/.test(code);
  for (const match of code.matchAll(/[`'"](\/apis?\/[^`'"\s]*)[`'"]/g)) {
    const resource = resourceOfPath(match[1]!);
    if (!resource) continue;
    const base = { file, group: resource.group, resource: resource.resource, evidence: match[0] };
    // A Reflector lists and watches the collections its file names.
    if (usesReflector && resource.collection) found.push({ ...base, verb: 'list' }, { ...base, verb: 'watch' });
    else found.push(base);
  }
  for (const match of code.matchAll(/\.(create|read|replace|patch|delete|list)(Namespaced)?([A-Z][A-Za-z]*)\s*\(/g)) {
    const kind = match[3]!;
    if (!isKubernetesKind(kind)) continue;
    const resource = SUBRESOURCE_KINDS[kind] ?? `${kind.toLowerCase()}s`;
    found.push({ file, group: GROUP_OF_KIND[kind] ?? '', resource, verb: CLIENT_VERBS[match[1]!]!, evidence: match[0] });
  }
  if (/new Log\(/.test(code)) found.push({ file, group: '', resource: 'pods/log', verb: 'get', evidence: 'new Log(' });
  if (/new LeaderElector\(/.test(code)) {
    for (const verb of ['get', 'create', 'update']) found.push({ file, group: 'coordination.k8s.io', resource: 'leases', verb, evidence: 'new LeaderElector(' });
  }
  return found;
}

/** Every .ts file under the given folders of the repository, as repository-relative paths. */
export async function sourceFiles(root: string, folders: string[]): Promise<string[]> {
  const out: string[] = [];
  const walk = async (dir: string): Promise<void> => {
    let entries;
    try {
      entries = await readdir(path.join(root, dir), { withFileTypes: true });
    } catch {
      return;
    }
    for (const entry of entries) {
      const rel = path.posix.join(dir, entry.name);
      if (entry.isDirectory()) await walk(rel);
      else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts')) out.push(rel);
    }
  };
  for (const folder of folders) await walk(folder);
  return out.sort();
}

export async function scanCalls(root: string, files: string[]): Promise<FoundCall[]> {
  const all = await Promise.all(files.map(async (file) => findCalls(file, await readFile(path.join(root, file), 'utf8'))));
  return all.flat();
}
