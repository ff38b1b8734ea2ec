/** Discovery documents, derived from the resource table. */
import { type ResourceType, apiVersionOf, groupVersions, RESOURCE_TYPES, verbsOf } from '../resources.js';

export const KUBERNETES_VERSION = { major: '1', minor: '32', gitVersion: 'v1.32.0-local-cluster' };

export function versionInfo(): unknown {
  return {
    ...KUBERNETES_VERSION,
    gitCommit: 'local-cluster',
    gitTreeState: 'clean',
    buildDate: '2026-01-01T00:00:00Z',
    goVersion: 'node',
    compiler: 'node',
    platform: `${process.platform}/${process.arch}`,
  };
}

export function coreVersions(): unknown {
  return { kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress: '' }] };
}

function groupEntry(group: string) {
  const versions = groupVersions()
    .filter((gv) => gv.group === group)
    .map((gv) => ({ groupVersion: `${gv.group}/${gv.version}`, version: gv.version }));
  return { name: group, versions, preferredVersion: versions[0] };
}

export function apiGroupList(): unknown {
  const groups = [...new Set(groupVersions().map((gv) => gv.group).filter(Boolean))];
  return { kind: 'APIGroupList', apiVersion: 'v1', groups: groups.map(groupEntry) };
}

export function apiGroup(group: string): unknown | undefined {
  if (!groupVersions().some((gv) => gv.group === group)) return undefined;
  return { kind: 'APIGroup', apiVersion: 'v1', ...groupEntry(group) };
}

function subresourceEntry(r: ResourceType, sub: ResourceType['subresources'][number]) {
  const base = { name: `${r.plural}/${sub}`, singularName: '', namespaced: r.namespaced };
  if (sub === 'log') return { ...base, kind: 'Pod', verbs: ['get'] };
  // The TokenRequest API: POST serviceaccounts/<name>/token answers an authentication.k8s.io/v1 TokenRequest.
  if (sub === 'token') return { ...base, group: 'authentication.k8s.io', version: 'v1', kind: 'TokenRequest', verbs: ['create'] };
  return { ...base, kind: r.kind, verbs: ['get', 'patch', 'update'] };
}

export function apiResourceList(group: string, version: string): unknown | undefined {
  const types = RESOURCE_TYPES.filter((r) => r.group === group && r.version === version);
  if (!types.length) return undefined;
  const resources = types.flatMap((r) => [
    {
      name: r.plural,
      singularName: r.singular,
      namespaced: r.namespaced,
      kind: r.kind,
      verbs: verbsOf(r),
      ...(r.shortNames.length ? { shortNames: r.shortNames } : {}),
      ...(r.categories ? { categories: r.categories } : {}),
    },
    ...r.subresources.map((sub) => subresourceEntry(r, sub)),
  ]);
  return { kind: 'APIResourceList', apiVersion: 'v1', groupVersion: apiVersionOf(types[0]!), resources };
}
