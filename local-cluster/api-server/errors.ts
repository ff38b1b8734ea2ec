/**
 * API errors as the real server reports them: a metav1.Status with the
 * reason, code and details clients branch on (client-go's apierrors,
 * kubectl's "Error from server (Reason): message").
 */

export interface StatusCause {
  reason?: string;
  message: string;
  field?: string;
}

export interface StatusDetails {
  name?: string;
  group?: string;
  kind?: string;
  uid?: string;
  causes?: StatusCause[];
  retryAfterSeconds?: number;
}

export interface Status {
  kind: 'Status';
  apiVersion: 'v1';
  metadata: Record<string, never>;
  status: 'Success' | 'Failure';
  message?: string;
  reason?: string;
  details?: StatusDetails;
  code: number;
}

export interface GroupResource {
  group: string;
  plural: string;
}

function qualified(gr: GroupResource): string {
  return gr.group ? `${gr.plural}.${gr.group}` : gr.plural;
}

export class ApiError extends Error {
  constructor(
    readonly code: number,
    readonly reason: string,
    message: string,
    readonly details?: StatusDetails,
  ) {
    super(message);
  }

  toStatus(): Status {
    return {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: this.message,
      reason: this.reason,
      ...(this.details ? { details: this.details } : {}),
      code: this.code,
    };
  }
}

export function successStatus(details?: StatusDetails): Status {
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', ...(details ? { details } : {}), code: 200 };
}

export const notFound = (gr: GroupResource, name: string): ApiError =>
  new ApiError(404, 'NotFound', `${qualified(gr)} "${name}" not found`, { name, group: gr.group, kind: gr.plural });

export const alreadyExists = (gr: GroupResource, name: string): ApiError =>
  new ApiError(409, 'AlreadyExists', `${qualified(gr)} "${name}" already exists`, {
    name,
    group: gr.group,
    kind: gr.plural,
  });

export const conflict = (gr: GroupResource, name: string, why: string): ApiError =>
  new ApiError(409, 'Conflict', `Operation cannot be fulfilled on ${qualified(gr)} "${name}": ${why}`, {
    name,
    group: gr.group,
    kind: gr.plural,
  });

export const staleResourceVersion = (gr: GroupResource, name: string): ApiError =>
  conflict(gr, name, 'the object has been modified; please apply your changes to the latest version and try again');

/** 422 Invalid: `<Kind> "<name>" is invalid: <field>: <message>, ...` */
export function invalid(kind: string, group: string, name: string, causes: StatusCause[]): ApiError {
  const listed = causes.map((c) => (c.field ? `${c.field}: ${c.message}` : c.message));
  const qualifiedKind = group ? `${kind}.${group}` : kind;
  const message =
    listed.length === 1 ? `${qualifiedKind} "${name}" is invalid: ${listed[0]}` : `${qualifiedKind} "${name}" is invalid: [${listed.join(', ')}]`;
  return new ApiError(422, 'Invalid', message, { name, group, kind, causes });
}

export const badRequest = (message: string): ApiError => new ApiError(400, 'BadRequest', message);

export const gone = (message: string): ApiError => new ApiError(410, 'Expired', message);

export const methodNotAllowed = (message: string): ApiError => new ApiError(405, 'MethodNotAllowed', message);

export const internalError = (message: string): ApiError =>
  new ApiError(500, 'InternalError', `Internal error occurred: ${message}`, { causes: [{ message }] });

export const notAcceptable = (message: string): ApiError => new ApiError(406, 'NotAcceptable', message);

export const unsupportedMediaType = (message: string): ApiError => new ApiError(415, 'UnsupportedMediaType', message);

export const tooManyRequests = (retryAfterSeconds: number): ApiError =>
  new ApiError(429, 'TooManyRequests', 'the server has received too many requests and has asked us to try again later', {
    retryAfterSeconds,
  });

export const forbidden = (gr: GroupResource, name: string, message: string): ApiError =>
  new ApiError(403, 'Forbidden', `${qualified(gr)} "${name}" is forbidden: ${message}`, {
    name,
    group: gr.group,
    kind: gr.plural,
  });
