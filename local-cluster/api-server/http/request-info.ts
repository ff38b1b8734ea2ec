/**
 * Parses an API path into what it addresses, as the real server's
 * RequestInfoFactory does: group, version, namespace, resource, name,
 * subresource and the verb — including the legacy `/watch/` path prefix and a
 * list or watch narrowed to one name by `fieldSelector=metadata.name=…`
 * (authorized as that name).
 */
import { findResource, NAMESPACE, type ResourceType } from '../resources.js';
import { queryBool } from './query.js';

export type Verb = 'get' | 'list' | 'watch' | 'create' | 'update' | 'patch' | 'delete' | 'deletecollection';

export interface ResourceRequest {
  type: ResourceType;
  namespace?: string;
  name?: string;
  subresource?: string;
  verb: Verb;
  /** The name a list/watch is narrowed to by its field selector or legacy watch path (authorized as that name). */
  selectedName?: string;
  /** The request's field selector, with the name of a legacy `/watch/…/<name>` path added. */
  fieldSelector?: string;
}

function verbFor(method: string, hasName: boolean, hasSubresource: boolean, watch: boolean): Verb | undefined {
  switch (method) {
    case 'GET':
      return hasName ? 'get' : watch ? 'watch' : 'list';
    case 'POST':
      // POST to a subresource of a named object (serviceaccounts/<n>/token) creates it.
      return !hasName || hasSubresource ? 'create' : undefined;
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

/** `metadata.name=x` or `metadata.name==x` as the whole field selector. */
function nameFromFieldSelector(selector: string | null): string | undefined {
  if (!selector) return undefined;
  const match = /^metadata\.name==?([^,]*)$/.exec(selector.trim());
  return match ? match[1] : undefined;
}

/** Returns undefined for paths that address no resource (discovery, unknown types). */
export function parseResourcePath(method: string, pathname: string, query: URLSearchParams): ResourceRequest | undefined {
  let parts: string[];
  try {
    parts = pathname.split('/').filter(Boolean).map(decodeURIComponent);
  } catch {
    return undefined;
  }
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

  // Deprecated but still served: /api/v1/watch/namespaces/ns/pods[/name].
  let watch = queryBool(query, 'watch') === true;
  const legacyWatch = rest[0] === 'watch';
  if (legacyWatch) {
    if (method !== 'GET') return undefined;
    watch = true;
    rest = rest.slice(1);
  }

  let namespace: string | undefined;
  // namespaces/{ns}/{resource}... addresses a namespaced resource; namespaces/{ns}[/status] the namespace itself.
  if (rest[0] === 'namespaces' && rest.length >= 3 && rest[2] !== 'status' && rest[2] !== 'finalize') {
    namespace = rest[1];
    rest = rest.slice(2);
  }
  const [plural, pathName, subresource, ...extra] = rest;
  if (!plural || extra.length) return undefined;
  const type = findResource(group, version, plural);
  if (!type) return undefined;
  if (type.namespaced === false && namespace !== undefined) return undefined;
  let name: string | undefined = pathName;
  let selectedName: string | undefined;
  let verb: Verb | undefined;
  if (legacyWatch && name !== undefined) {
    if (subresource !== undefined) return undefined;
    // /watch/…/pods/<name> watches that one object.
    selectedName = name;
    name = undefined;
    verb = 'watch';
  } else verb = verbFor(method, name !== undefined, subresource !== undefined, watch);
  if (!verb) return undefined;
  if (type === NAMESPACE && name !== undefined) namespace = undefined;
  if ((verb === 'list' || verb === 'watch') && selectedName === undefined) selectedName = nameFromFieldSelector(query.get('fieldSelector'));
  const querySelector = query.get('fieldSelector') || undefined;
  const fieldSelector = legacyWatch && selectedName !== undefined ? [`metadata.name=${selectedName}`, querySelector].filter(Boolean).join(',') : querySelector;
  return {
    type,
    namespace,
    name,
    subresource,
    verb,
    ...(selectedName !== undefined ? { selectedName } : {}),
    ...(fieldSelector !== undefined ? { fieldSelector } : {}),
  };
}
