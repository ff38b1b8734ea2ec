/**
 * The review APIs: computed answers, never stored. TokenReview
 * (authentication.k8s.io), SubjectAccessReview, LocalSubjectAccessReview,
 * SelfSubjectAccessReview and SelfSubjectRulesReview (authorization.k8s.io),
 * SelfSubjectReview (`kubectl auth whoami`), and the TokenRequest
 * subresource of ServiceAccounts (`kubectl create token`).
 */
import { badRequest, invalid, type ApiError } from '../api-server/errors.js';
import { isRecord, type KubeObject } from '../api-server/types.js';
import { apiVersionOf, type ResourceType } from '../api-server/resources.js';
import type { AccessControl } from './access.js';
import { applicableRules, type Attributes, type UserInfo } from './rbac.js';
import { API_AUDIENCES, DEFAULT_EXPIRATION_SECONDS, MAX_EXPIRATION_SECONDS, MIN_EXPIRATION_SECONDS } from './tokens.js';

type Json = Record<string, unknown>;

function str(value: unknown): string {
  return typeof value === 'string' ? value : '';
}

function strings(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];
}

function specOf(kind: string, body: unknown): Json {
  if (!isRecord(body)) throw badRequest(`the body of the request was not a JSON object`);
  if (body.spec !== undefined && !isRecord(body.spec)) throw badRequest(`${kind}.spec must be an object`);
  return isRecord(body.spec) ? body.spec : {};
}

function answer(type: ResourceType, body: unknown, spec: Json, status: Json): KubeObject {
  const metadata = isRecord(body) && isRecord(body.metadata) ? body.metadata : {};
  return { kind: type.kind, apiVersion: apiVersionOf(type), metadata: { ...metadata, creationTimestamp: null as unknown as string }, spec, status };
}

function userJson(user: UserInfo): Json {
  return { username: user.username, ...(user.uid ? { uid: user.uid } : {}), groups: user.groups, ...(user.extra ? { extra: user.extra } : {}) };
}

function userFromSpec(spec: Json): UserInfo {
  const extra = isRecord(spec.extra) ? (Object.fromEntries(Object.entries(spec.extra).map(([k, v]) => [k, strings(v)])) as Record<string, string[]>) : undefined;
  return { username: str(spec.user), ...(spec.uid ? { uid: str(spec.uid) } : {}), groups: strings(spec.groups), ...(extra ? { extra } : {}) };
}

function accessAttributes(kind: string, spec: Json, user: UserInfo, namespaceOfRequest?: string): Attributes {
  const resource = spec.resourceAttributes;
  const nonResource = spec.nonResourceAttributes;
  if ((resource === undefined) === (nonResource === undefined)) {
    throw invalid(kind, 'authorization.k8s.io', '', [
      { reason: 'FieldValueRequired', field: 'spec.resourceAttributes', message: 'Required value: exactly one of nonResourceAttributes or resourceAttributes must be specified' },
    ]);
  }
  if (isRecord(nonResource)) return { user, resourceRequest: false, verb: str(nonResource.verb), path: str(nonResource.path) };
  const r = isRecord(resource) ? resource : {};
  const namespace = str(r.namespace) || undefined;
  if (namespaceOfRequest !== undefined && namespace !== namespaceOfRequest) {
    throw invalid(kind, 'authorization.k8s.io', '', [
      { reason: 'FieldValueInvalid', field: 'spec.resourceAttributes.namespace', message: `Invalid value: "${namespace ?? ''}": must match metadata.namespace` },
    ]);
  }
  return {
    user,
    resourceRequest: true,
    verb: str(r.verb),
    apiGroup: str(r.group),
    resource: str(r.resource),
    ...(r.subresource ? { subresource: str(r.subresource) } : {}),
    ...(r.name ? { name: str(r.name) } : {}),
    ...(namespace ? { namespace } : {}),
  };
}

function accessStatus(access: AccessControl, attributes: Attributes): Json {
  const decision = access.decide(attributes);
  return { allowed: decision.allowed, ...(decision.reason ? { reason: decision.reason } : {}) };
}

export interface ReviewRequest {
  type: ResourceType;
  namespace?: string;
  body: unknown;
  user: UserInfo;
}

export async function review(access: AccessControl, { type, namespace, body, user }: ReviewRequest): Promise<KubeObject> {
  const spec = specOf(type.kind, body);
  switch (type.kind) {
    case 'TokenReview': {
      const token = str(spec.token);
      const audiences = strings(spec.audiences);
      const result = await access.tokens.authenticate(token, audiences.length ? audiences : API_AUDIENCES);
      if ('error' in result || result.audiences.length === 0) {
        return answer(type, body, spec, { authenticated: false, user: {}, error: 'error' in result ? result.error : 'token audiences do not match', audiences: [] });
      }
      return answer(type, body, spec, { authenticated: true, user: userJson(result.user), audiences: result.audiences });
    }
    case 'SelfSubjectReview':
      return answer(type, body, spec, { userInfo: userJson(user) });
    case 'SubjectAccessReview':
    case 'LocalSubjectAccessReview': {
      const subject = userFromSpec(spec);
      if (!subject.username && subject.groups.length === 0) {
        throw invalid(type.kind, 'authorization.k8s.io', '', [
          { reason: 'FieldValueRequired', field: 'spec.user', message: 'Invalid value: "": at least one of user or group must be specified' },
        ]);
      }
      const attributes = accessAttributes(type.kind, spec, subject, type.kind === 'LocalSubjectAccessReview' ? namespace : undefined);
      return answer(type, body, spec, accessStatus(access, attributes));
    }
    case 'SelfSubjectAccessReview':
      return answer(type, body, spec, accessStatus(access, accessAttributes(type.kind, spec, user)));
    case 'SelfSubjectRulesReview': {
      const resourceRules: Json[] = [];
      const nonResourceRules: Json[] = [];
      for (const { rule } of applicableRules(access.policy(), user, str(spec.namespace) || undefined)) {
        if (rule.nonResourceURLs?.length) nonResourceRules.push({ verbs: rule.verbs, nonResourceURLs: rule.nonResourceURLs });
        else resourceRules.push({ verbs: rule.verbs, apiGroups: rule.apiGroups ?? [], resources: rule.resources ?? [], ...(rule.resourceNames ? { resourceNames: rule.resourceNames } : {}) });
      }
      return answer(type, body, spec, { resourceRules, nonResourceRules, incomplete: false });
    }
    default:
      throw badRequest(`${type.kind} cannot be created here`);
  }
}

/** POST serviceaccounts/<name>/token: a TokenRequest answered with a signed token for that account. */
export async function requestToken(access: AccessControl, serviceAccount: KubeObject, body: unknown): Promise<KubeObject> {
  const spec = body === undefined ? {} : specOf('TokenRequest', body);
  const expirationSeconds = spec.expirationSeconds ?? DEFAULT_EXPIRATION_SECONDS;
  const name = serviceAccount.metadata.name ?? '';
  const fail = (field: string, message: string): ApiError => invalid('TokenRequest', 'authentication.k8s.io', name, [{ reason: 'FieldValueInvalid', field, message }]);
  if (typeof expirationSeconds !== 'number' || !Number.isInteger(expirationSeconds)) throw fail('spec.expirationSeconds', 'Invalid value: must be an integer');
  if (expirationSeconds < MIN_EXPIRATION_SECONDS) throw fail('spec.expirationSeconds', `Invalid value: ${expirationSeconds}: may not specify a duration less than 10 minutes`);
  if (expirationSeconds > MAX_EXPIRATION_SECONDS) throw fail('spec.expirationSeconds', `Invalid value: ${expirationSeconds}: may not specify a duration larger than 2^32 seconds`);
  const audiences = strings(spec.audiences);
  const effectiveAudiences = audiences.length ? audiences : API_AUDIENCES;
  const issued = await access.tokens.issue(serviceAccount.metadata.namespace ?? '', name, serviceAccount.metadata.uid ?? '', effectiveAudiences, expirationSeconds);
  return {
    kind: 'TokenRequest',
    apiVersion: 'authentication.k8s.io/v1',
    metadata: { name, namespace: serviceAccount.metadata.namespace, creationTimestamp: null as unknown as string },
    spec: { audiences: effectiveAudiences, expirationSeconds, boundObjectRef: spec.boundObjectRef ?? null },
    status: issued,
  };
}
