/**
 * A container's environment as the kubelet builds it: env values, references
 * to Secrets and ConfigMaps (envFrom and valueFrom), the downward API, and
 * $(VAR) expansion in values, command and args.
 */
import { isRecord, type KubeObject } from '../api-server/types.js';

export type ObjectLookup = (kind: 'Secret' | 'ConfigMap', namespace: string, name: string) => KubeObject | undefined;

export type EnvResult = { env: Record<string, string> } | { error: string };

/** Expands $(NAME) from `vars`; $$ escapes a dollar; unknown references stay as written. */
export function expandVars(text: string, vars: Record<string, string>): string {
  return text.replace(/\$\$|\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)/g, (match, name: string | undefined) => {
    if (match === '$$') return '$';
    return name !== undefined && vars[name] !== undefined ? vars[name]! : match;
  });
}

function dataOf(obj: KubeObject): Record<string, string> {
  const out: Record<string, string> = {};
  if (obj.kind === 'Secret') {
    if (isRecord(obj.data)) for (const [k, v] of Object.entries(obj.data)) out[k] = Buffer.from(String(v), 'base64').toString('utf8');
    if (isRecord(obj.stringData)) for (const [k, v] of Object.entries(obj.stringData)) out[k] = String(v);
  } else if (isRecord(obj.data)) for (const [k, v] of Object.entries(obj.data)) out[k] = String(v);
  return out;
}

function fieldRefValue(pod: KubeObject, path: string): string | undefined {
  const meta = pod.metadata;
  const spec = isRecord(pod.spec) ? pod.spec : {};
  const status = isRecord(pod.status) ? pod.status : {};
  const keyed = /^metadata\.(labels|annotations)\['(.+)'\]$/.exec(path);
  if (keyed) return (keyed[1] === 'labels' ? meta.labels : meta.annotations)?.[keyed[2]!] ?? '';
  switch (path) {
    case 'metadata.name':
      return meta.name;
    case 'metadata.namespace':
      return meta.namespace;
    case 'metadata.uid':
      return meta.uid;
    case 'spec.nodeName':
      return String(spec.nodeName ?? '');
    case 'spec.serviceAccountName':
      return String(spec.serviceAccountName ?? 'default');
    case 'status.hostIP':
    case 'status.podIP':
      return String(status.podIP ?? '127.0.0.1');
    default:
      return undefined;
  }
}

export function resolveEnv(pod: KubeObject, container: Record<string, unknown>, lookup: ObjectLookup): EnvResult {
  const namespace = pod.metadata.namespace ?? 'default';
  const env: Record<string, string> = {};
  const source = (kind: 'Secret' | 'ConfigMap', name: string): KubeObject | undefined => lookup(kind, namespace, name);

  for (const from of Array.isArray(container.envFrom) ? container.envFrom : []) {
    if (!isRecord(from)) continue;
    const ref = isRecord(from.secretRef) ? { kind: 'Secret' as const, r: from.secretRef } : isRecord(from.configMapRef) ? { kind: 'ConfigMap' as const, r: from.configMapRef } : undefined;
    if (!ref) continue;
    const obj = source(ref.kind, String(ref.r.name ?? ''));
    if (!obj) {
      if (ref.r.optional === true) continue;
      return { error: `${ref.kind === 'Secret' ? 'secret' : 'configmap'} "${String(ref.r.name)}" not found` };
    }
    const prefix = typeof from.prefix === 'string' ? from.prefix : '';
    for (const [k, v] of Object.entries(dataOf(obj))) env[`${prefix}${k}`] = v;
  }

  for (const item of Array.isArray(container.env) ? container.env : []) {
    if (!isRecord(item) || typeof item.name !== 'string') continue;
    if (typeof item.value === 'string') {
      env[item.name] = expandVars(item.value, env);
      continue;
    }
    const valueFrom = isRecord(item.valueFrom) ? item.valueFrom : undefined;
    if (!valueFrom) {
      env[item.name] = '';
      continue;
    }
    const keyRef = isRecord(valueFrom.secretKeyRef) ? { kind: 'Secret' as const, r: valueFrom.secretKeyRef } : isRecord(valueFrom.configMapKeyRef) ? { kind: 'ConfigMap' as const, r: valueFrom.configMapKeyRef } : undefined;
    if (keyRef) {
      const name = String(keyRef.r.name ?? '');
      const key = String(keyRef.r.key ?? '');
      const obj = source(keyRef.kind, name);
      const value = obj ? dataOf(obj)[key] : undefined;
      if (value === undefined) {
        if (keyRef.r.optional === true) continue;
        const what = keyRef.kind === 'Secret' ? 'secret' : 'configmap';
        return { error: obj ? `couldn't find key ${key} in ${what.charAt(0).toUpperCase() + what.slice(1)} ${namespace}/${name}` : `${what} "${name}" not found` };
      }
      env[item.name] = value;
      continue;
    }
    if (isRecord(valueFrom.fieldRef)) {
      const value = fieldRefValue(pod, String(valueFrom.fieldRef.fieldPath ?? ''));
      if (value === undefined) return { error: `unsupported fieldPath: ${String(valueFrom.fieldRef.fieldPath)}` };
      env[item.name] = value;
      continue;
    }
    return { error: `env ${item.name}: only value, secretKeyRef, configMapKeyRef and fieldRef are supported by local-cluster` };
  }
  return { env };
}
