/**
 * Server-side printing (meta.k8s.io/v1 Table), which `kubectl get` asks for:
 * the columns kubectl shows for Jobs, Pods, Events and Namespaces; name and
 * age for everything else.
 */
import { isRecord, type KubeObject } from '../types.js';
import type { ResourceType } from '../resources.js';

interface Column {
  name: string;
  type: string;
  format: string;
  description: string;
  priority: number;
}

const col = (name: string, type = 'string', priority = 0, format = ''): Column => ({ name, type, format, description: name, priority });

export function wantsTable(accept: string | undefined): boolean {
  return (accept ?? '').split(',').some((part) => part.includes('as=Table') && part.includes('g=meta.k8s.io'));
}

/** kubectl's human durations: 45s, 3m20s, 25m, 5h3m, 2d4h, 40d. */
export function humanDuration(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 120) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 10) return s % 60 ? `${m}m${s % 60}s` : `${m}m`;
  if (m < 180) return `${m}m`;
  const h = Math.floor(m / 60);
  if (h < 8) return m % 60 ? `${h}h${m % 60}m` : `${h}h`;
  if (h < 48) return `${h}h`;
  const d = Math.floor(h / 24);
  if (d < 8) return h % 24 ? `${d}d${h % 24}h` : `${d}d`;
  return `${d}d`;
}

function age(timestamp: unknown, now: number): string {
  return typeof timestamp === 'string' ? humanDuration(now - Date.parse(timestamp)) : '<unknown>';
}

function record(value: unknown): Record<string, unknown> {
  return isRecord(value) ? value : {};
}

function podCells(pod: KubeObject, now: number): unknown[] {
  const status = record(pod.status);
  const statuses = (Array.isArray(status.containerStatuses) ? status.containerStatuses : []).map(record);
  const inits = (Array.isArray(status.initContainerStatuses) ? status.initContainerStatuses : []).map(record);
  const total = Array.isArray(record(pod.spec).containers) ? (record(pod.spec).containers as unknown[]).length : 0;
  const ready = statuses.filter((c) => c.ready === true).length;
  const restarts = statuses.reduce((n, c) => n + Number(c.restartCount ?? 0), 0);
  let reason = String(status.phase ?? 'Pending');
  const pendingInit = inits.findIndex((c) => !(record(c.state).terminated && record(record(c.state).terminated).exitCode === 0));
  if (pendingInit >= 0 && inits.length) {
    const state = record(inits[pendingInit]!.state);
    reason = state.terminated ? `Init:${String(record(state.terminated).reason ?? 'Error')}` : state.waiting && record(state.waiting).reason !== 'PodInitializing' ? `Init:${String(record(state.waiting).reason)}` : `Init:${pendingInit}/${inits.length}`;
  } else {
    for (const c of statuses) {
      const state = record(c.state);
      if (state.waiting && record(state.waiting).reason) reason = String(record(state.waiting).reason);
      else if (state.terminated) reason = String(record(state.terminated).reason ?? 'Completed');
    }
    if (statuses.some((c) => record(c.state).running) && reason !== 'Running' && ready === total) reason = 'Running';
  }
  if (pod.metadata.deletionTimestamp) reason = 'Terminating';
  const spec = record(pod.spec);
  const gates = Array.isArray(spec.readinessGates) ? spec.readinessGates.map(record) : [];
  return [
    pod.metadata.name,
    `${ready}/${total}`,
    reason,
    restarts,
    age(pod.metadata.creationTimestamp, now),
    // -o wide (priority 1):
    status.podIP ?? '<none>',
    spec.nodeName ?? '<none>',
    status.nominatedNodeName ?? '<none>',
    gates.length ? `0/${gates.length}` : '<none>',
  ];
}

function jobCells(job: KubeObject, now: number): unknown[] {
  const spec = record(job.spec);
  const status = record(job.status);
  const conditions = (Array.isArray(status.conditions) ? status.conditions : []).map(record);
  const has = (type: string): boolean => conditions.some((c) => c.type === type && c.status === 'True');
  const state = job.metadata.deletionTimestamp ? 'Terminating' : has('Complete') ? 'Complete' : has('Failed') ? 'Failed' : has('Suspended') ? 'Suspended' : has('FailureTarget') ? 'FailureTarget' : 'Running';
  const start = typeof status.startTime === 'string' ? Date.parse(status.startTime) : undefined;
  const end = typeof status.completionTime === 'string' ? Date.parse(status.completionTime) : now;
  return [
    job.metadata.name,
    state,
    `${Number(status.succeeded ?? 0)}/${Number(spec.completions ?? 1)}`,
    start === undefined ? '' : humanDuration(end - start),
    age(job.metadata.creationTimestamp, now),
    ...containerCells(record(record(spec.template).spec)),
    selectorText(record(spec.selector)),
  ];
}

/** The Containers and Images wide columns: names and images joined by commas. */
function containerCells(podSpec: Record<string, unknown>): [string, string] {
  const containers = (Array.isArray(podSpec.containers) ? podSpec.containers : []).map(record);
  return [containers.map((c) => String(c.name ?? '')).join(','), containers.map((c) => String(c.image ?? '')).join(',')];
}

/** A label selector as kubectl prints it: `k=v,k2 in (a,b)`. */
function selectorText(selector: Record<string, unknown>): string {
  const parts = Object.entries(record(selector.matchLabels)).map(([k, v]) => `${k}=${String(v)}`);
  for (const e of (Array.isArray(selector.matchExpressions) ? selector.matchExpressions : []).map(record)) {
    const values = Array.isArray(e.values) ? e.values.join(',') : '';
    if (e.operator === 'In') parts.push(`${String(e.key)} in (${values})`);
    else if (e.operator === 'NotIn') parts.push(`${String(e.key)} notin (${values})`);
    else if (e.operator === 'Exists') parts.push(String(e.key));
    else if (e.operator === 'DoesNotExist') parts.push(`!${String(e.key)}`);
  }
  return parts.length ? parts.join(',') : '<none>';
}

function serviceCells(service: KubeObject, now: number): unknown[] {
  const spec = record(service.spec);
  const ports = (Array.isArray(spec.ports) ? spec.ports : []).map(record);
  const selector = Object.entries(record(spec.selector)).map(([k, v]) => `${k}=${String(v)}`).join(',');
  return [
    service.metadata.name,
    spec.type ?? 'ClusterIP',
    spec.clusterIP ?? '<none>',
    '<none>',
    ports.length ? ports.map((p) => `${String(p.port)}${p.nodePort ? `:${String(p.nodePort)}` : ''}/${String(p.protocol ?? 'TCP')}`).join(',') : '<none>',
    age(service.metadata.creationTimestamp, now),
    selector || '<none>',
  ];
}

function eventCells(event: KubeObject, now: number): unknown[] {
  const involved = record(event.involvedObject);
  return [
    age(event.lastTimestamp ?? event.metadata.creationTimestamp, now),
    event.type,
    event.reason,
    `${String(involved.kind ?? '').toLowerCase()}/${String(involved.name ?? '')}`,
    event.message,
  ];
}

function layout(type: ResourceType): { columns: Column[]; cells: (o: KubeObject, now: number) => unknown[] } {
  switch (type.kind) {
    case 'Pod':
      return {
        columns: [col('Name'), col('Ready'), col('Status'), col('Restarts', 'integer'), col('Age'), col('IP', 'string', 1), col('Node', 'string', 1), col('Nominated Node', 'string', 1), col('Readiness Gates', 'string', 1)],
        cells: podCells,
      };
    case 'Job':
      return {
        columns: [col('Name'), col('Status'), col('Completions'), col('Duration'), col('Age'), col('Containers', 'string', 1), col('Images', 'string', 1), col('Selector', 'string', 1)],
        cells: jobCells,
      };
    case 'Service':
      return {
        columns: [col('Name'), col('Type'), col('Cluster-IP'), col('External-IP'), col('Port(s)'), col('Age'), col('Selector', 'string', 1)],
        cells: serviceCells,
      };
    case 'Event':
      return { columns: [col('Last Seen'), col('Type'), col('Reason'), col('Object'), col('Message')], cells: eventCells };
    case 'Namespace':
      return {
        columns: [col('Name'), col('Status'), col('Age')],
        cells: (o, now) => [o.metadata.name, o.metadata.deletionTimestamp ? 'Terminating' : 'Active', age(o.metadata.creationTimestamp, now)],
      };
    default:
      return { columns: [col('Name'), col('Age')], cells: (o, now) => [o.metadata.name, age(o.metadata.creationTimestamp, now)] };
  }
}

export function toTable(type: ResourceType, items: KubeObject[], listMeta: Record<string, unknown>): unknown {
  const now = Date.now();
  const { columns, cells } = layout(type);
  return {
    kind: 'Table',
    apiVersion: 'meta.k8s.io/v1',
    metadata: listMeta,
    columnDefinitions: columns,
    rows: items.map((o) => ({
      cells: cells(o, now),
      object: { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: o.metadata },
    })),
  };
}
