/**
 * Per-kind rules of the real registries beyond names and pods/Jobs: Lease
 * durations, and Secrets/ConfigMaps marked `immutable`.
 */
import type { StatusCause } from './errors.js';
import { isRecord, type KubeObject } from './types.js';

function leaseCauses(lease: KubeObject): StatusCause[] {
  const spec = isRecord(lease.spec) ? lease.spec : {};
  const causes: StatusCause[] = [];
  for (const [field, minimum] of [['leaseDurationSeconds', 1], ['leaseTransitions', 0]] as const) {
    const value = spec[field];
    if (typeof value === 'number' && value < minimum) {
      causes.push({ reason: 'FieldValueInvalid', field: `spec.${field}`, message: `Invalid value: ${value}: must be ${minimum === 1 ? 'greater than 0' : 'greater than or equal to 0'}` });
    }
  }
  return causes;
}

/** Once `immutable: true` is stored, the data and the flag stay as they are. */
function immutableCauses(next: KubeObject, previous: KubeObject): StatusCause[] {
  if (previous.immutable !== true) return [];
  const causes: StatusCause[] = [];
  if (next.immutable !== true) causes.push({ reason: 'FieldValueForbidden', field: 'immutable', message: 'Forbidden: field is immutable when `immutable` is set' });
  for (const field of ['data', 'binaryData']) {
    if (JSON.stringify(next[field] ?? {}) !== JSON.stringify(previous[field] ?? {})) {
      causes.push({ reason: 'FieldValueForbidden', field, message: 'Forbidden: field is immutable when `immutable` is set' });
    }
  }
  return causes;
}

export function kindCauses(obj: KubeObject, previous?: KubeObject): StatusCause[] {
  if (obj.kind === 'Lease') return leaseCauses(obj);
  if ((obj.kind === 'Secret' || obj.kind === 'ConfigMap') && previous) return immutableCauses(obj, previous);
  return [];
}
