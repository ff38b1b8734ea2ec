/** The OGC exception documents of access control. */
import { OgcError } from '../ogc/exceptions.js';

const TYPE_BASE = 'http://www.opengis.net/def/exceptions/ogcapi-processes-1/1.0/';
export const REALM = 'k8s-job-manager';

/** 401: no credentials, or credentials that are not valid (RFC 6750 §3: the challenge says which). */
export const unauthenticated = (invalid: boolean): OgcError =>
  new OgcError(401, `${TYPE_BASE}unauthorized`, 'Unauthorized', invalid ? 'the bearer token is not valid' : 'this resource needs an Authorization: Bearer token', {
    'www-authenticate': invalid ? `Bearer realm="${REALM}", error="invalid_token"` : `Bearer realm="${REALM}"`,
  });

/** 403: the caller is known but lacks the right. */
export const forbidden = (detail: string): OgcError => new OgcError(403, `${TYPE_BASE}forbidden`, 'Forbidden', detail);
