/** Chooses the patch algorithm from the request's Content-Type, as the real server does. */
import { applyJsonPatch } from './json-patch.js';
import { applyMergePatch } from './merge-patch.js';
import { applyStrategicMergePatch } from './strategic-merge-patch.js';

export const PATCH_TYPES = {
  'application/json-patch+json': 'json',
  'application/merge-patch+json': 'merge',
  'application/strategic-merge-patch+json': 'strategic',
} as const;

export type PatchType = (typeof PATCH_TYPES)[keyof typeof PATCH_TYPES];

export function patchTypeOf(contentType: string | undefined): PatchType | undefined {
  const base = (contentType ?? '').split(';')[0]!.trim().toLowerCase();
  return (PATCH_TYPES as Record<string, PatchType>)[base];
}

export function applyPatch(type: PatchType, doc: unknown, patch: unknown, kind: string): unknown {
  switch (type) {
    case 'json':
      return applyJsonPatch(doc, patch);
    case 'merge':
      return applyMergePatch(doc, patch);
    case 'strategic':
      return applyStrategicMergePatch(doc, patch, kind);
  }
}
