/**
 * Parses an API path into what it addresses, as the real server's
 * RequestInfoFactory does: group, version, namespace, resource, name,
 * subresource and the verb.
 */
import { findResource, NAMESPACE, type ResourceType } from '../resources.js';

export type Verb = 'get' | 'list' | 'watch' | 'create' | 'update' | 'patch' | 'delete' | 'deletecollection';

export interface ResourceRequest {
  type: ResourceType;
  namespace?: string;
  name?: string;
  subresource?: string;
  verb: Verb;
}

function verbFor(method: string, hasName: boolean, watch: boolean): Verb | undefined {
  switch (method) {
    case 'GET':
      return hasName ? 'get' : watch ? 'watch' : 'list';
    case 'POST':
      return hasName ? undefined : 'create';
    case 'PUT':
      return hasName ? 'update' : undefined;
    case 'PATCH':
      return hasName ? 'patch' : undefined;
    case 'DELETE':
      return hasName ? 'delete' : 'deletecollection';
    default:
      return undefined;
  }
}

/** Returns undefined for paths that address no resource (discovery, unknown types). */
export function parseResourcePath(method: string, pathname: string, watch: boolean): ResourceRequest | undefined {
  const parts = pathname.split('/').filter(Boolean).map(decodeURIComponent);
  let group: string;
  let version: string;
  let rest: string[];
  if (parts[0] === 'api' && parts.length >= 2) {
    group = '';
    version = parts[1]!;
    rest = parts.slice(2);
  } else if (parts[0] === 'apis' && parts.length >= 3) {
    group = parts[1]!;
    version = parts[2]!;
    rest = parts.slice(3);
  } else return undefined;

  let namespace: string | undefined;
  // namespaces/{ns}/{resource}... addresses a namespaced resource; namespaces/{ns}[/status] the namespace itself.
  if (rest[0] === 'namespaces' && rest.length >= 3 && rest[2] !== 'status' && rest[2] !== 'finalize') {
    namespace = rest[1];
    rest = rest.slice(2);
  }
  const [plural, name, subresource, ...extra] = rest;
  if (!plural || extra.length) return undefined;
  const type = findResource(group, version, plural);
  if (!type) return undefined;
  if (type.namespaced === false && namespace !== undefined) return undefined;
  const verb = verbFor(method, name !== undefined, watch);
  if (!verb) return undefined;
  if (type === NAMESPACE && name !== undefined) namespace = undefined;
  return { type, namespace, name, subresource, verb };
}
