/**
 * The OpenAPI v3 documents: every served kind has its schema with the real
 * name, descriptions and group-version-kind; the strategic-merge extensions
 * follow the patch table; every reference resolves inside its document; PATCH
 * operations advertise no body types (kubectl keeps computing client-side
 * apply patches from its compiled-in types). The checked-in schema file is
 * what the generator makes from the installed kubernetes-models.
 */
import t from 'tap';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { groupVersionDocument } from '../../local-cluster/api-server/http/openapi.js';
import { apiVersionOf, groupVersions, RESOURCE_TYPES } from '../../local-cluster/api-server/resources.js';

interface Document {
  paths: Record<string, Record<string, { requestBody?: unknown; 'x-kubernetes-group-version-kind'?: unknown }>>;
  components: { schemas: Record<string, { description?: string; properties?: Record<string, Record<string, unknown>>; 'x-kubernetes-group-version-kind'?: unknown }> };
}
const doc = (group: string, version: string): Document => groupVersionDocument(group, version) as Document;
const root = path.resolve(import.meta.dirname, '..', '..');

t.test('every served kind has a described schema with its group-version-kind', async (t) => {
  for (const type of RESOURCE_TYPES) {
    if (apiVersionOf(type) === 'authentication.k8s.io/v1beta1') continue; // no longer in kubernetes-models (documented)
    const schemas = doc(type.group, type.version).components.schemas;
    const found = Object.entries(schemas).find(([, s]) => JSON.stringify(s['x-kubernetes-group-version-kind']) === JSON.stringify([{ group: type.group, kind: type.kind, version: type.version }]));
    t.ok(found, `${apiVersionOf(type)} ${type.kind} has a schema`);
    if (!found) continue;
    t.ok(found[0].endsWith(`.${type.kind}`), `named as the real one (${found[0]})`);
    t.ok(found[1].description, `${type.kind} is described`);
  }
});

t.test('patch strategies, references and PATCH bodies', async (t) => {
  const core = doc('', 'v1').components.schemas;
  t.match(core['io.k8s.api.core.v1.PodSpec']?.properties?.containers, {
    'x-kubernetes-patch-strategy': 'merge',
    'x-kubernetes-patch-merge-key': 'name',
    'x-kubernetes-list-type': 'map',
    'x-kubernetes-list-map-keys': ['name'],
    items: { $ref: '#/components/schemas/io.k8s.api.core.v1.Container' },
  });
  t.match(core['io.k8s.api.core.v1.Container']?.properties?.env, { 'x-kubernetes-patch-merge-key': 'name' });
  t.match(core['io.k8s.api.core.v1.ServiceSpec']?.properties?.ports, { 'x-kubernetes-patch-merge-key': 'port' });
  t.match(core['io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta']?.properties?.finalizers, { 'x-kubernetes-patch-strategy': 'merge', 'x-kubernetes-list-type': 'set' });
  t.notOk(core['io.k8s.api.core.v1.Container']?.properties?.command?.['x-kubernetes-patch-strategy'], 'untagged lists are replaced');
  t.match(doc('batch', 'v1').components.schemas['io.k8s.api.batch.v1.JobSpec']?.properties?.backoffLimit, { type: 'integer', description: /number of retries/ });

  for (const { group, version } of groupVersions()) {
    const d = doc(group, version);
    const refs = [...JSON.stringify(d).matchAll(/"\$ref":"#\/components\/schemas\/([^"]+)"/g)].map((m) => m[1]!);
    const missing = [...new Set(refs)].filter((r) => !d.components.schemas[r]);
    t.same(missing, [], `${group || 'core'}/${version}: every reference resolves`);
    const bodies = Object.values(d.paths).filter((p) => p.patch?.requestBody !== undefined);
    t.equal(bodies.length, 0, `${group || 'core'}/${version}: no PATCH advertises body types`);
  }
});

t.test('the checked-in schemas are what the generator makes', async (t) => {
  const out = path.join(mkdtempSync(path.join(os.tmpdir(), 'openapi-schemas-')), 'schemas.json');
  execFileSync(process.execPath, ['--import', 'tsx', path.join(root, 'scripts/local-cluster-openapi-schema.mjs'), out], { stdio: 'pipe', cwd: root });
  const fresh = readFileSync(out, 'utf8');
  // A kind added to resources.ts without regenerating fails here: run `npx tsx scripts/local-cluster-openapi-schema.mjs`.
  t.equal(fresh, readFileSync(path.join(root, 'local-cluster/api-server/http/openapi-schemas.json'), 'utf8'), 'regenerate with npx tsx scripts/local-cluster-openapi-schema.mjs');
});
