/**
 * Kubernetes objects that a processor block passes through unchanged
 * (init containers, security contexts, affinity). Their types are checked with
 * the Kubernetes OpenAPI schemas shipped in kubernetes-models; unknown field
 * names are found with the attribute maps of @kubernetes/client-node, so a
 * misspelt or snake_case field is reported instead of silently dropped.
 */
// The models a Job holds, not the client's whole model set (~700 modules) or its index (every API class too).
import { modelNamed, type ModelAttribute } from '../kube/models.js';
import type { ErrorObject } from 'ajv';
import { Affinity } from 'kubernetes-models/v1/Affinity';
import { Container } from 'kubernetes-models/v1/Container';
import { PodSecurityContext } from 'kubernetes-models/v1/PodSecurityContext';
import { SecurityContext } from 'kubernetes-models/v1/SecurityContext';
import { emptyFindings, type Findings } from './findings.js';
import { describeSchemaError, unknownKeyMessage } from './messages.js';
import { pointerToPath, type KeyPath } from './paths.js';
import { isRecord } from '../is-record.js';

export type KubernetesObjectKind = 'V1Container' | 'V1PodSecurityContext' | 'V1SecurityContext' | 'V1Affinity';

interface Validatable {
  validate(): void;
}

// The models only hold the data until validate() checks it, so untyped data is what they are for here.
const MODELS: Readonly<Record<KubernetesObjectKind, (data: Record<string, unknown>) => Validatable>> = {
  V1Container: (data) => new Container(data as unknown as ConstructorParameters<typeof Container>[0]),
  V1PodSecurityContext: (data) => new PodSecurityContext(data),
  V1SecurityContext: (data) => new SecurityContext(data),
  V1Affinity: (data) => new Affinity(data),
};

function attributesOf(typeName: string): readonly ModelAttribute[] | undefined {
  return modelNamed(typeName)?.attributeTypeMap;
}

function collectUnknownKeys(value: unknown, typeName: string, path: KeyPath, out: Findings): void {
  const list = /^Array<(.+)>$/.exec(typeName);
  if (list) {
    if (Array.isArray(value)) value.forEach((item, i) => collectUnknownKeys(item, list[1] ?? '', [...path, i], out));
    return;
  }
  const attributes = attributesOf(typeName);
  if (attributes === undefined || !isRecord(value)) return;
  const known = attributes.map((a) => a.baseName);
  for (const [key, child] of Object.entries(value)) {
    const attribute = attributes.find((a) => a.baseName === key);
    if (attribute) collectUnknownKeys(child, attribute.type, [...path, key], out);
    else out.warnings.push({ path: [...path, key], message: unknownKeyMessage(key, known) });
  }
}

function validationErrors(model: Validatable): ErrorObject[] {
  try {
    model.validate();
    return [];
  } catch (error) {
    if (isRecord(error) && Array.isArray(error.errors)) return error.errors as ErrorObject[];
    throw error;
  }
}

/** Type errors (as errors) and unknown field names (as warnings) of one Kubernetes object at `path`. */
export function checkKubernetesObject(value: Record<string, unknown>, kind: KubernetesObjectKind, path: KeyPath): Findings {
  const findings = emptyFindings();
  for (const error of validationErrors(MODELS[kind](value))) {
    const at = pointerToPath(error.instancePath, value);
    const params: Record<string, unknown> = error.params;
    if (error.keyword === 'required') {
      findings.errors.push({ path: [...path, ...at, String(params.missingProperty)], message: 'required' });
    } else {
      findings.errors.push({ path: [...path, ...at], message: describeSchemaError(error) });
    }
  }
  collectUnknownKeys(value, kind, path, findings);
  return findings;
}
