/** Process definitions for the API's unit tests, as the configuration layer would produce them. */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { InputDescription, OutputDescription, ProcessDefinition } from '../../lib/config/types.js';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const SHIPPED_CONFIG = path.join(REPO_ROOT, 'pygeoapi-config.yaml');
export const API_FIXTURES = path.join(REPO_ROOT, 'test', 'fixtures', 'api');

/** A generic-image process with the given inputs and outputs; everything else minimal. */
export function processDefinition(
  id: string,
  inputs: Record<string, InputDescription>,
  outputs: Record<string, OutputDescription> = { result: { schema: { type: 'string' } } },
  overrides: Partial<ProcessDefinition> = {},
): ProcessDefinition {
  return {
    id,
    kind: 'generic-image',
    processorName: 'GenericImageProcessor',
    metadata: { id, version: '1.0.0', title: id, jobControlOptions: ['sync-execute', 'async-execute'], links: [], inputs, outputs },
    checkAuth: false,
    mimetype: 'application/json',
    image: 'busybox:1.37',
    command: ['sh', '-c', 'true'],
    env: [],
    storage: [],
    initContainers: [],
    tolerations: [],
    imagePullSecrets: [],
    backoffLimit: 0,
    ttlSecondsAfterFinished: 3600,
    freeFormInputs: false,
    hrefInputs: [],
    ...overrides,
  };
}
