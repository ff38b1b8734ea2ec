/**
 * OpenAPI v3 documents, just enough for clients that read them: each
 * resource's PATCH operation carries its group-version-kind and the
 * `fieldValidation` parameter, which tells kubectl (1.27+) that the server
 * validates fields itself, so it sends objects without client-side schema
 * validation — the path it takes against every current real server.
 * Full schemas are not served (a documented deviation): kubectl then builds
 * strategic merge patches from its compiled-in types, as it does for
 * built-in kinds.
 */
import { createHash } from 'node:crypto';
import { groupVersions, RESOURCE_TYPES } from '../resources.js';

function gvPath(group: string, version: string): string {
  return group ? `apis/${group}/${version}` : `api/${version}`;
}

const QUERY_PARAMETERS = ['dryRun', 'fieldManager', 'fieldValidation', 'force', 'pretty'].map((name) => ({
  name,
  in: 'query',
  schema: { type: name === 'force' ? 'boolean' : 'string', uniqueItems: true },
}));

export function groupVersionDocument(group: string, version: string): unknown | undefined {
  const types = RESOURCE_TYPES.filter((r) => r.group === group && r.version === version);
  if (!types.length) return undefined;
  const paths: Record<string, unknown> = {};
  for (const r of types) {
    const base = `/${gvPath(group, version)}${r.namespaced ? '/namespaces/{namespace}' : ''}/${r.plural}`;
    const gvk = { group, version, kind: r.kind };
    // kubectl looks for the parameter on the operation itself, not on the path.
    const operation = (verb: string) => ({
      operationId: `${verb}${r.kind}`,
      'x-kubernetes-action': verb,
      'x-kubernetes-group-version-kind': gvk,
      parameters: QUERY_PARAMETERS,
      responses: { '200': { description: 'OK' } },
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
  return { openapi: '3.0.0', info: { title: 'Kubernetes', version: 'v1.32.0' }, paths, components: { schemas: {} } };
}

export function openApiIndex(): unknown {
  const paths: Record<string, { serverRelativeURL: string }> = {};
  for (const { group, version } of groupVersions()) {
    const doc = JSON.stringify(groupVersionDocument(group, version));
    const hash = createHash('sha512').update(doc).digest('hex').slice(0, 32).toUpperCase();
    paths[gvPath(group, version)] = { serverRelativeURL: `/openapi/v3/${gvPath(group, version)}?hash=${hash}` };
  }
  return { paths };
}
