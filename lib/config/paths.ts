/** Key paths into the parsed configuration, and how problems name them. */
import { isRecord } from '../is-record.js';

export type PathSegment = string | number;
export type KeyPath = readonly PathSegment[];

const PLAIN_KEY = /^[A-Za-z0-9_-]+$/;

/**
 * `resources.my-proc.processor.env[0].name`; keys that would be ambiguous
 * with dots (e.g. label keys such as `kubernetes.io/arch`) are quoted.
 */
export function formatPath(path: KeyPath): string {
  let out = '';
  for (const segment of path) {
    if (typeof segment === 'number') out += `[${segment}]`;
    else if (PLAIN_KEY.test(segment)) out += out === '' ? segment : `.${segment}`;
    else out += `[${JSON.stringify(segment)}]`;
  }
  return out === '' ? '(top level)' : out;
}

/** Turns an ajv `instancePath` (JSON pointer) into segments, using the data to tell list indices from keys. */
export function pointerToPath(pointer: string, data: unknown): PathSegment[] {
  if (pointer === '') return [];
  const path: PathSegment[] = [];
  let node = data;
  for (const raw of pointer.slice(1).split('/')) {
    const key = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (Array.isArray(node)) {
      const index = Number(key);
      path.push(index);
      node = node[index];
    } else {
      path.push(key);
      node = isRecord(node) ? node[key] : undefined;
    }
  }
  return path;
}

