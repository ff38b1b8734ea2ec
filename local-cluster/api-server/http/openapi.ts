/**
 * OpenAPI v3 documents, one per group-version: each resource's operations
 * with its group-version-kind and the `fieldValidation` parameter, which
 * tells kubectl (1.27+) that the server validates fields itself, and the
 * component schemas of its kinds with descriptions (`kubectl explain`).
 * The PATCH operations list no request body types: kubectl therefore builds
 * client-side apply patches from its compiled-in types (as for built-in kinds
 * on any server) rather than from these schemas.
 * Documents are built once (a fixed set) and their hashes with them.
 */
import { createHash } from 'node:crypto';
import { groupVersions, RESOURCE_TYPES } from '../resources.js';
import { schemaNameOf, schemasFor } from './openapi-schemas.js';

function gvPath(group: string, version: string): string {
  return group ? `apis/${group}/${version}` : `api/${version}`;
}

const QUERY_PARAMETERS = ['dryRun', 'fieldManager', 'fieldValidation', 'force', 'pretty'].map((name) => ({
  name,
  in: 'query',
  schema: { type: name === 'force' ? 'boolean' : 'string', uniqueItems: true },
}));

function buildDocument(group: string, version: string): unknown | undefined {
  const types = RESOURCE_TYPES.filter((r) => r.group === group && r.version === version);
  if (!types.length) return undefined;
  const paths: Record<string, unknown> = {};
  for (const r of types) {
    const base = `/${gvPath(group, version)}${r.namespaced ? '/namespaces/{namespace}' : ''}/${r.plural}`;
    const gvk = { group, version, kind: r.kind };
    // kubectl looks for the parameter on the operation itself, not on the path.
    const schemaName = schemaNameOf(r);
    const content = schemaName ? { 'application/json': { schema: { $ref: `#/components/schemas/${schemaName}` } } } : undefined;
    const operation = (verb: string) => ({
      operationId: `${verb}${r.kind}`,
      'x-kubernetes-action': verb,
      'x-kubernetes-group-version-kind': gvk,
      parameters: QUERY_PARAMETERS,
      responses: { '200': { description: 'OK', ...(content && verb !== 'list' && verb !== 'delete' ? { content } : {}) } },
    });
    if (r.createOnly) {
      paths[base] = { post: operation('post') };
      continue;
    }
    paths[base] = { post: operation('post'), get: operation('list') };
    paths[`${base}/{name}`] = {
      get: operation('get'),
      put: operation('put'),
      patch: operation('patch'),
      delete: operation('delete'),
      parameters: [{ name: 'name', in: 'path', required: true, schema: { type: 'string' } }],
    };
  }
  return { openapi: '3.0.0', info: { title: 'Kubernetes', version: 'v1.32.0' }, paths, components: { schemas: schemasFor(types) } };
}

const DOCUMENTS = new Map(groupVersions().map(({ group, version }) => [gvPath(group, version), buildDocument(group, version)]));

export function groupVersionDocument(group: string, version: string): unknown | undefined {
  return DOCUMENTS.get(gvPath(group, version));
}

const INDEX = {
  paths: Object.fromEntries(
    [...DOCUMENTS].map(([gv, document]) => {
      const hash = createHash('sha512').update(JSON.stringify(document)).digest('hex').slice(0, 32).toUpperCase();
      return [gv, { serverRelativeURL: `/openapi/v3/${gv}?hash=${hash}` }];
    }),
  ),
};

export function openApiIndex(): unknown {
  return INDEX;
}
