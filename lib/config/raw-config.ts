/**
 * The configuration as written (snake_case), in the shape CONFIG_SCHEMA
 * accepts. Only code running after a successful validation may treat data
 * as these types.
 */
import { isRecord } from '../is-record.js';
import { processKindOf, type ProcessKind } from './processors.js';

export type RawScalar = string | number | boolean;

export interface RawEnvEntry {
  name: string;
  value?: RawScalar;
  secret_name?: string;
  secret_key?: string;
}

export interface RawStorageEntry {
  name: string;
  mount_path: string;
  persistent_volume_claim_name?: string;
  empty_dir?: { medium?: string; size_limit?: string | number } | null;
}

export interface RawToleration {
  key?: string;
  operator?: 'Exists' | 'Equal';
  value?: string;
  effect?: 'NoSchedule' | 'PreferNoSchedule' | 'NoExecute';
  toleration_seconds?: number;
}

export type RawQuantities = Record<string, string | number>;

export interface RawProcessor {
  name: string;
  default_image?: string;
  image_pull_secrets?: string | string[];
  image_pull_secret?: string | string[];
  mimetype?: string;
  check_auth?: boolean;
  resources?: { requests?: RawQuantities; limits?: RawQuantities };
  tolerations?: RawToleration[];
  node_selector?: Record<string, string>;
  affinity?: Record<string, unknown>;
  service_account?: string;
  backoff_limit?: number;
  ttl_seconds_after_finished?: number;
  active_deadline_seconds?: number;
  pod_security_context?: Record<string, unknown> | null;
  container_security_context?: Record<string, unknown> | null;
  metadata?: Record<string, unknown>;
  command?: string | Array<string | number>;
  args?: Array<string | number>;
  env?: RawEnvEntry[];
  storage?: RawStorageEntry[];
  init_containers?: Array<Record<string, unknown>>;
}

export interface RawServer {
  bind: { host: string; port: number };
  url: string;
  /** pygeoapi's own keys, accepted so its configuration files validate; the manager does not use them. */
  language?: string;
  languages?: string[];
  pretty_print?: boolean;
  cors?: boolean;
  limit?: number;
  limits?: { default_items?: number; max_items?: number };
  manager?: { name?: string; finalizer_controller?: boolean };
}

export interface RawConfig {
  server: RawServer;
  metadata?: { identification?: { title?: string | Record<string, string>; description?: string | Record<string, string> } };
  resources: Record<string, Record<string, unknown>>;
}

/** A `type: process` resource, found without trusting the data's shape. */
export interface ProcessEntry {
  id: string;
  processor: Record<string, unknown>;
  /** undefined when processor.name is not one we know. */
  kind: ProcessKind | undefined;
}

export function processEntries(data: unknown): ProcessEntry[] {
  if (!isRecord(data) || !isRecord(data.resources)) return [];
  const entries: ProcessEntry[] = [];
  for (const [id, resource] of Object.entries(data.resources)) {
    if (!isRecord(resource) || resource.type !== 'process' || !isRecord(resource.processor)) continue;
    const name = resource.processor.name;
    entries.push({ id, processor: resource.processor, kind: typeof name === 'string' ? processKindOf(name) : undefined });
  }
  return entries;
}

/** The mappings in a list, with their indices (anything else is the schema's to report). */
export function recordItems(value: unknown): Array<[number, Record<string, unknown>]> {
  if (!Array.isArray(value)) return [];
  return value.flatMap((item: unknown, i): Array<[number, Record<string, unknown>]> => (isRecord(item) ? [[i, item]] : []));
}
