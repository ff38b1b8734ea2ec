/**
 * Every environment variable the manager reads, in one table: the single
 * source for reading them (readSettings) and for documenting them
 * (environmentMarkdown, which the README is checked against).
 */
import { inspect } from 'node:util';
import type { V1PodSecurityContext, V1SecurityContext } from '@kubernetes/client-node';
import { DEFAULT_JOB_NAME_PREFIX, JOB_CONTROLLER_USERS } from '../contract.js';
import { ConfigError } from './errors.js';
import { checkKubernetesObject, type KubernetesObjectKind } from './kubernetes-objects.js';
import { formatPath } from './paths.js';
import { isRecord } from '../is-record.js';
import type { AuthSettings, ChecksumMode, LogArchiveLayout, SecretSettings, Settings } from './types.js';
import { AUTH_MODES, parseList, parseStaticTokens, type AuthMode, type StaticToken } from './auth-settings.js';
import { parseAllowList, type AllowEntry } from '../net/address-policy.js';

export type Env = Readonly<Record<string, string | undefined>>;

/** Thrown by a reader; readSettings adds the variable's name (and, unless secret, the value). */
class InvalidValue extends Error {}

export interface EnvironmentVariable<T> {
  readonly name: string;
  /** The default as documented. */
  readonly default: string;
  readonly description: string;
  /** Never logged, never echoed in error messages. */
  readonly secret: boolean;
  /** `python`: read by 52°North's Python manager with the same meaning; `ours`: new here. */
  readonly origin: 'python' | 'ours';
  /** Turns the raw value (undefined when unset or blank) into the setting; throws InvalidValue. */
  readonly read: (raw: string | undefined, env: Env) => T;
}

export const REDACTED = '[redacted]';

const BUCKET_ENDPOINT = 'PYGEOAPI_K8S_MANAGER_FINALIZER_BUCKET_ENDPOINT';
const AUTH_MODE = 'PYGEOAPI_K8S_MANAGER_AUTH_MODE';
const OIDC_ISSUER = 'PYGEOAPI_K8S_MANAGER_OIDC_ISSUER';

const SEVEN_DAYS = 7 * 24 * 60 * 60;
const ONE_DAY = 24 * 60 * 60;
/** Job names are prefix + job id (a UUID, 36 characters) and must stay within the 63 characters of a label value. */
const MAX_JOB_NAME_PREFIX = 63 - 36;

const BASELINE_POD_SECURITY_CONTEXT: V1PodSecurityContext = { seccompProfile: { type: 'RuntimeDefault' } };
const BASELINE_CONTAINER_SECURITY_CONTEXT: V1SecurityContext = {
  allowPrivilegeEscalation: false,
  capabilities: { drop: ['ALL'] },
};

function present(raw: string | undefined): string | undefined {
  return raw === undefined || raw.trim() === '' ? undefined : raw;
}

const text = (raw: string | undefined): string | undefined => raw?.trim();

/** A whole number of at least `minimum`; `what` names it in the error ("a whole number of seconds"). */
function wholeNumber(raw: string, minimum: number, what = 'a whole number'): number {
  const value = raw.trim();
  if (!/^[0-9]+$/.test(value)) throw new InvalidValue(`must be ${what}`);
  const number = Number(value);
  if (number < minimum) throw new InvalidValue(`must be at least ${minimum}`);
  return number;
}

function wholeSeconds(raw: string, minimum: number): number {
  return wholeNumber(raw, minimum, 'a whole number of seconds');
}

function count(fallback: number, minimum: number) {
  return (raw: string | undefined): number => (raw === undefined ? fallback : wholeNumber(raw, minimum));
}

function seconds(fallback: number, minimum: number) {
  return (raw: string | undefined): number => (raw === undefined ? fallback : wholeSeconds(raw, minimum));
}

/** Unset or 0: none. */
function optionalSeconds(raw: string | undefined): number | undefined {
  const number = raw === undefined ? 0 : wholeSeconds(raw, 0);
  return number === 0 ? undefined : number;
}

function oneOf<T extends string>(values: readonly T[], fallback: (env: Env) => T, caseInsensitive = false) {
  return (raw: string | undefined, env: Env): T => {
    if (raw === undefined) return fallback(env);
    const wanted = caseInsensitive ? raw.trim().toUpperCase() : raw.trim();
    const match = values.find((v) => v === wanted);
    if (match === undefined) throw new InvalidValue(`must be one of ${values.join(', ')}`);
    return match;
  };
}

function flag(fallback: (env: Env) => boolean) {
  return (raw: string | undefined, env: Env): boolean => {
    if (raw === undefined) return fallback(env);
    const value = raw.trim().toLowerCase();
    if (['true', '1', 'yes', 'on'].includes(value)) return true;
    if (['false', '0', 'no', 'off'].includes(value)) return false;
    throw new InvalidValue('must be true or false');
  };
}

function list(fallback: string[]) {
  return (raw: string | undefined): string[] => (raw === undefined ? fallback : parseList(raw));
}

function httpsUrl(raw: string | undefined): string | undefined {
  if (raw === undefined) return undefined;
  const value = raw.trim().replace(/\/+$/, '');
  // Plain http only on loopback (a local identity provider in development and tests).
  if (!/^https:\/\/\S+$/.test(value) && !/^http:\/\/(127\.0\.0\.1|localhost|\[::1\])(:[0-9]+)?(\/\S*)?$/.test(value)) {
    throw new InvalidValue('must be an https URL (http only for localhost)');
  }
  return value;
}

function securityContext<T extends V1PodSecurityContext | V1SecurityContext>(kind: KubernetesObjectKind, baseline: T) {
  return (raw: string | undefined): T | null => {
    if (raw === undefined) return structuredClone(baseline);
    if (/^\s*(off|none)\s*$/i.test(raw)) return null;
    let parsed: unknown;
    try {
      parsed = JSON.parse(raw);
    } catch {
      throw new InvalidValue('must be a JSON object (Kubernetes securityContext field names), "off" or "none"');
    }
    if (!isRecord(parsed)) throw new InvalidValue('must be a JSON object, "off" or "none"');
    const findings = checkKubernetesObject(parsed, kind, []);
    // Security settings are strict here: a misspelt field would silently weaken the context.
    const problems = [
      ...findings.errors.map((f) => `${formatPath(f.path)}: ${f.message}`),
      ...findings.warnings.map((f) => `${formatPath(f.path)}: unknown field`),
    ];
    if (problems.length > 0) throw new InvalidValue(problems.join('; '));
    return parsed as T;
  };
}

export const ENVIRONMENT = {
  configPath: {
    name: 'PYGEOAPI_CONFIG',
    default: '(none)',
    description: 'Path of the pygeoapi configuration file; `--config` takes precedence.',
    secret: false,
    origin: 'python',
    read: text,
  },
  namespace: {
    name: 'PYGEOAPI_K8S_MANAGER_NAMESPACE',
    default: "the manager pod's namespace",
    description:
      'Namespace in which jobs are created and watched. Unset: the namespace of the service account the manager runs as, ' +
      "else the kubeconfig context's namespace. (The Python manager prefers the service-account namespace even when this is set.)",
    secret: false,
    origin: 'python',
    read: text,
  },
  apiToken: {
    name: 'PYGEOAPI_K8S_MANAGER_API_TOKEN',
    default: '(none)',
    description:
      'Token that executions of processes with `check_auth: true` must pass as input `token`. Unset: such executions are refused.',
    secret: true,
    origin: 'python',
    read: (raw: string | undefined) => raw,
  },
  jobNamePrefix: {
    name: 'PYGEOAPI_K8S_MANAGER_JOB_NAME_PREFIX',
    default: DEFAULT_JOB_NAME_PREFIX,
    description:
      'Prefix of job names (prefix + job id). Jobs are recognised by it, so it must stay the same for the lifetime of the jobs.',
    secret: false,
    origin: 'python',
    read: (raw: string | undefined): string => {
      if (raw === undefined) return DEFAULT_JOB_NAME_PREFIX;
      const value = raw.trim();
      if (!/^[a-z0-9][-a-z0-9]*$/.test(value)) {
        throw new InvalidValue('must be lower-case letters, digits and "-", starting with a letter or digit');
      }
      if (value.length > MAX_JOB_NAME_PREFIX) {
        throw new InvalidValue(`must have at most ${MAX_JOB_NAME_PREFIX} characters so that job names stay within 63`);
      }
      return value;
    },
  },
  podSecurityContext: {
    name: 'PYGEOAPI_K8S_MANAGER_JOB_POD_SECURITY_CONTEXT',
    default: JSON.stringify(BASELINE_POD_SECURITY_CONTEXT),
    description:
      'Pod `securityContext` of job pods, as JSON with Kubernetes field names; `off` or `none` for none. ' +
      "A process's `pod_security_context` takes precedence.",
    secret: false,
    origin: 'python',
    read: securityContext('V1PodSecurityContext', BASELINE_POD_SECURITY_CONTEXT),
  },
  containerSecurityContext: {
    name: 'PYGEOAPI_K8S_MANAGER_JOB_CONTAINER_SECURITY_CONTEXT',
    default: JSON.stringify(BASELINE_CONTAINER_SECURITY_CONTEXT),
    description:
      'Container `securityContext` of every job container and init container, as JSON; `off` or `none` for none. ' +
      "A process's `container_security_context` takes precedence.",
    secret: false,
    origin: 'python',
    read: securityContext('V1SecurityContext', BASELINE_CONTAINER_SECURITY_CONTEXT),
  },
  defaultTtlSecondsAfterFinished: {
    name: 'PYGEOAPI_K8S_MANAGER_DEFAULT_TTL_SECONDS_AFTER_FINISHED',
    default: String(SEVEN_DAYS),
    description:
      'How long Kubernetes keeps a finished job (and with it its status and result) before deleting it; ' +
      "a process's `ttl_seconds_after_finished` takes precedence. The Python manager used 100 days.",
    secret: false,
    origin: 'ours',
    read: seconds(SEVEN_DAYS, 0),
  },
  defaultActiveDeadlineSeconds: {
    name: 'PYGEOAPI_K8S_MANAGER_DEFAULT_ACTIVE_DEADLINE_SECONDS',
    default: String(ONE_DAY),
    description:
      'Longest time a job may run before Kubernetes stops it and marks it failed, so a runaway job cannot run forever; `0`: no limit, ' +
      "as in the Python manager. A process's `active_deadline_seconds` takes precedence (`0` there: no limit for that process). " +
      'The webhook applies it to managed Jobs created with kubectl too.',
    secret: false,
    origin: 'ours',
    read: (raw: string | undefined) => optionalSeconds(raw ?? String(ONE_DAY)),
  },
  syncExecutionTimeoutSeconds: {
    name: 'PYGEOAPI_K8S_MANAGER_SYNC_EXECUTION_TIMEOUT_SECONDS',
    default: '300',
    description: 'How long a synchronous execution request waits for its job to finish.',
    secret: false,
    origin: 'ours',
    read: seconds(300, 1),
  },
  bucketEndpoint: {
    name: BUCKET_ENDPOINT,
    default: '(AWS S3)',
    description: 'Endpoint of an S3-compatible service for the job log archive, e.g. `https://obs.eu-de.otc.t-systems.com`.',
    secret: false,
    origin: 'python',
    read: (raw: string | undefined): string | undefined => {
      if (raw === undefined) return undefined;
      const value = raw.trim();
      if (!/^https?:\/\/\S+$/.test(value)) throw new InvalidValue('must be an http(s) URL');
      return value;
    },
  },
  bucketKey: {
    name: 'PYGEOAPI_K8S_MANAGER_FINALIZER_BUCKET_KEY',
    default: '(none)',
    description: 'Access key id with permission to write to the log archive.',
    secret: false,
    origin: 'python',
    read: text,
  },
  bucketSecret: {
    name: 'PYGEOAPI_K8S_MANAGER_FINALIZER_BUCKET_SECRET',
    default: '(none)',
    description: 'Secret access key belonging to the access key id.',
    secret: true,
    origin: 'python',
    read: (raw: string | undefined) => raw,
  },
  bucketName: {
    name: 'PYGEOAPI_K8S_MANAGER_FINALIZER_BUCKET_NAME',
    default: '(none)',
    description: 'Bucket of the log archive. It must not be public: job logs may contain confidential data.',
    secret: false,
    origin: 'python',
    read: text,
  },
  bucketPathPrefix: {
    name: 'PYGEOAPI_K8S_MANAGER_FINALIZER_BUCKET_PATH_PREFIX',
    default: '(bucket root)',
    description: 'Key prefix ("folder") of archived logs; a missing trailing `/` is added, as the Python manager does.',
    secret: false,
    origin: 'python',
    read: (raw: string | undefined): string => {
      const value = raw?.trim() ?? '';
      return value === '' || value.endsWith('/') ? value : `${value}/`;
    },
  },
  bucketRegion: {
    name: 'PYGEOAPI_K8S_MANAGER_FINALIZER_BUCKET_REGION',
    default: 'us-east-1',
    description: 'Region used to sign S3 requests; most S3-compatible services accept any.',
    secret: false,
    origin: 'ours',
    read: (raw: string | undefined): string => raw?.trim() ?? 'us-east-1',
  },
  bucketForcePathStyle: {
    name: 'PYGEOAPI_K8S_MANAGER_FINALIZER_BUCKET_FORCE_PATH_STYLE',
    default: 'true with a custom endpoint, else false',
    description: 'Address the bucket as `endpoint/bucket/key` instead of `bucket.endpoint/key` (MinIO, Garage and most others need it).',
    secret: false,
    origin: 'ours',
    read: flag((env) => present(env[BUCKET_ENDPOINT]) !== undefined),
  },
  bucketChecksums: {
    name: 'PYGEOAPI_K8S_MANAGER_FINALIZER_BUCKET_CHECKSUMS',
    default: 'WHEN_REQUIRED with a custom endpoint, else WHEN_SUPPORTED',
    description:
      'When the S3 client adds and checks CRC checksums: `WHEN_REQUIRED` (what the Python manager sets; many S3-compatible services ' +
      'reject the newer checksum headers) or `WHEN_SUPPORTED`.',
    secret: false,
    origin: 'ours',
    read: oneOf<ChecksumMode>(
      ['WHEN_REQUIRED', 'WHEN_SUPPORTED'],
      (env) => (present(env[BUCKET_ENDPOINT]) !== undefined ? 'WHEN_REQUIRED' : 'WHEN_SUPPORTED'),
      true,
    ),
  },
  logArchiveLayout: {
    name: 'PYGEOAPI_K8S_MANAGER_LOG_ARCHIVE_LAYOUT',
    default: 'per-container',
    description:
      '`per-container`: one archive object per container of a job pod; `python`: one file per pod named ' +
      '`<prefix><date>_<job name>-logs.txt`, as the Python manager writes it.',
    secret: false,
    origin: 'ours',
    read: oneOf<LogArchiveLayout>(['per-container', 'python'], () => 'per-container'),
  },
  callbackAllow: {
    name: 'PYGEOAPI_K8S_MANAGER_CALLBACK_ALLOW',
    default: '(none)',
    description:
      'Callback receivers allowed although their addresses are not public: host names, `*.domain` suffixes and CIDRs, comma separated ' +
      '(e.g. `receiver.tools.svc.cluster.local,10.8.0.0/16`). Without an entry, callbacks to loopback, private, link-local, CGNAT, ' +
      'multicast, reserved and cloud metadata addresses are refused.',
    secret: false,
    origin: 'ours',
    read: (raw: string | undefined): AllowEntry[] => {
      try {
        return parseAllowList(raw ?? '');
      } catch (error) {
        throw new InvalidValue((error as Error).message);
      }
    },
  },
  callbackHttpsOnly: {
    name: 'PYGEOAPI_K8S_MANAGER_CALLBACK_HTTPS_ONLY',
    default: 'false',
    description: 'Refuse `http:` subscriber URLs; only `https:` callbacks are sent.',
    secret: false,
    origin: 'ours',
    read: flag(() => false),
  },
  callbackMaxAttempts: {
    name: 'PYGEOAPI_K8S_MANAGER_CALLBACK_MAX_ATTEMPTS',
    default: '12',
    description:
      'Attempts per callback (exponential back-off with jitter from 5 s up to 1 h between them) before giving up with a log line, ' +
      'an Event on the Job and the metric `ogc_callbacks_given_up_total`.',
    secret: false,
    origin: 'ours',
    read: count(12, 1),
  },
  callbackRetryHorizonSeconds: {
    name: 'PYGEOAPI_K8S_MANAGER_CALLBACK_RETRY_HORIZON_SECONDS',
    default: String(ONE_DAY),
    description: 'Give up on a callback that has been failing for this long, whatever the attempts left.',
    secret: false,
    origin: 'ours',
    read: seconds(ONE_DAY, 1),
  },
  callbackTimeoutSeconds: {
    name: 'PYGEOAPI_K8S_MANAGER_CALLBACK_TIMEOUT_SECONDS',
    default: '10',
    description: 'Longest time one callback attempt may take, connecting included (connecting alone: at most 5 s).',
    secret: false,
    origin: 'ours',
    read: seconds(10, 1),
  },
  maxInputsBytes: {
    name: 'PYGEOAPI_K8S_MANAGER_MAX_INPUTS_BYTES',
    default: String(64 * 1024),
    description:
      'Largest serialized `inputs` of an execute request, in bytes (they are stored in an annotation and an environment variable ' +
      'of the job, where Kubernetes and the kernel set hard limits); larger requests get 413.',
    secret: false,
    origin: 'ours',
    read: count(64 * 1024, 2),
  },
  requestsPerMinute: {
    name: 'PYGEOAPI_K8S_MANAGER_RATE_LIMIT_PER_MINUTE',
    default: '600',
    description: 'Requests per minute the API accepts from one client address, and from one principal; beyond: 429 with `Retry-After`. `0`: no limit.',
    secret: false,
    origin: 'ours',
    read: count(600, 0),
  },
  maxActiveJobs: {
    name: 'PYGEOAPI_K8S_MANAGER_MAX_ACTIVE_JOBS',
    default: '500',
    description: 'Unfinished (accepted or running) jobs in the namespace above which executions get 429. `0`: no limit.',
    secret: false,
    origin: 'ours',
    read: count(500, 0),
  },
  maxActiveJobsPerPrincipal: {
    name: 'PYGEOAPI_K8S_MANAGER_MAX_ACTIVE_JOBS_PER_PRINCIPAL',
    default: '50',
    description:
      'Unfinished jobs one principal (the authenticated subject, else the client address) may have; beyond: 429. `0`: no limit.',
    secret: false,
    origin: 'ours',
    read: count(50, 0),
  },
  finalizerGiveUpSeconds: {
    name: 'PYGEOAPI_K8S_MANAGER_FINALIZER_GIVE_UP_SECONDS',
    default: String(SEVEN_DAYS),
    description:
      'How long the controller keeps retrying to archive the logs of a pod before it removes the finalizer without them ' +
      '(so the pod can be deleted); `0`: never give up.',
    secret: false,
    origin: 'ours',
    read: seconds(SEVEN_DAYS, 0),
  },
  controllerSpoolDir: {
    name: 'PYGEOAPI_K8S_MANAGER_CONTROLLER_SPOOL_DIR',
    default: '(a temp dir)',
    description:
      'Directory where the controller spools the logs of running containers before they are archived (an absolute path; ' +
      'the manifests mount an emptyDir here). Unset: a fresh directory under the system temp dir, removed on exit.',
    secret: false,
    origin: 'ours',
    read: (raw: string | undefined): string | undefined => {
      const value = text(raw);
      if (value !== undefined && !value.startsWith('/')) throw new InvalidValue('must be an absolute path');
      return value;
    },
  },
  controllerPartSizeMib: {
    name: 'PYGEOAPI_K8S_MANAGER_CONTROLLER_PART_SIZE_MIB',
    default: '8',
    description:
      'Size in MiB of the parts the controller uploads to S3 while a container runs (a multipart upload per log; at the end only ' +
      'the last part and the completion remain). At least 5 (S3\'s minimum part size). Memory: parts are read from the spool as ' +
      'they are sent, never held whole (see *Operations*).',
    secret: false,
    origin: 'ours',
    read: count(8, 5),
  },
  controllerStandbyCapture: {
    name: 'PYGEOAPI_K8S_MANAGER_CONTROLLER_STANDBY_CAPTURE',
    default: 'true',
    description:
      'Whether controller replicas that do not lead also capture every log into their own spool (not uploading it), so that ' +
      'a replica taking over from a leader that died has the logs already, even of pods whose containers the node removed ' +
      'meanwhile. Costs each such replica the log reads and spool space the leader has. See *Hand-over between replicas*.',
    secret: false,
    origin: 'ours',
    read: flag(() => true),
  },
  authMode: {
    name: AUTH_MODE,
    default: 'kubernetes',
    description:
      'How API callers authenticate: `kubernetes` (a Kubernetes bearer token, checked with a TokenReview; every request authorised ' +
      'with a SubjectAccessReview), `oidc` (JWTs of an OpenID Connect issuer), `token` (the static tokens of ' +
      '`PYGEOAPI_K8S_MANAGER_AUTH_TOKENS`) or `none` (no access control at all: only for a single user on a loopback address). ' +
      'See *Access control*.',
    secret: false,
    origin: 'ours',
    read: oneOf<AuthMode>(AUTH_MODES, () => 'kubernetes'),
  },
  authTokens: {
    name: 'PYGEOAPI_K8S_MANAGER_AUTH_TOKENS',
    default: '(none)',
    description:
      '`token` mode: the bearer tokens, as `name:role:token` entries separated by commas or newlines; role `user` or `operator`, ' +
      'tokens of at least 16 characters. The name is the owner of the jobs executed with the token.',
    secret: true,
    origin: 'ours',
    read: (raw: string | undefined): readonly StaticToken[] | undefined => {
      if (raw === undefined) return undefined;
      try {
        return Object.freeze(parseStaticTokens(raw));
      } catch (error) {
        throw new InvalidValue((error as Error).message);
      }
    },
  },
  authPublicDiscovery: {
    name: 'PYGEOAPI_K8S_MANAGER_AUTH_PUBLIC_DISCOVERY',
    default: 'true',
    description:
      'Whether the landing page, `/conformance`, the OpenAPI document and `/processes` answer without credentials. ' +
      'Job routes and execution always need them (unless the mode is `none`).',
    secret: false,
    origin: 'ours',
    read: flag(() => true),
  },
  authCacheSeconds: {
    name: 'PYGEOAPI_K8S_MANAGER_AUTH_CACHE_SECONDS',
    default: '10',
    description:
      '`kubernetes` mode: how long TokenReview and SubjectAccessReview answers are reused (keyed by a hash of the token, ' +
      'at most 10 000 entries); `0`: ask the API server on every request. A revoked token or right may work this long.',
    secret: false,
    origin: 'ours',
    read: seconds(10, 0),
  },
  authOwnerCheck: {
    name: 'PYGEOAPI_K8S_MANAGER_AUTH_OWNER_CHECK',
    default: 'true',
    description:
      '`kubernetes` mode: a caller sees only the jobs it owns unless it may also `get pods/log` in the jobs namespace (the operator ' +
      'right). `false`: whoever RBAC lets `get`/`list` jobs sees all of them, as with kubectl.',
    secret: false,
    origin: 'ours',
    read: flag(() => true),
  },
  oidcIssuer: {
    name: OIDC_ISSUER,
    default: '(none)',
    description: '`oidc` mode: the issuer URL; tokens must carry it as `iss`. Required in `oidc` mode.',
    secret: false,
    origin: 'ours',
    read: httpsUrl,
  },
  oidcAudience: {
    name: 'PYGEOAPI_K8S_MANAGER_OIDC_AUDIENCE',
    default: '(none)',
    description: '`oidc` mode: the audience tokens must name in `aud` (the client id of the API). Required in `oidc` mode.',
    secret: false,
    origin: 'ours',
    read: text,
  },
  oidcJwksUri: {
    name: 'PYGEOAPI_K8S_MANAGER_OIDC_JWKS_URI',
    default: "the issuer's discovery document",
    description:
      '`oidc` mode: where the signing keys are; unset: the `jwks_uri` of `<issuer>/.well-known/openid-configuration`. ' +
      'Keys are cached; a token with an unknown `kid` refetches them at most every 30 seconds.',
    secret: false,
    origin: 'ours',
    read: httpsUrl,
  },
  oidcUsernameClaim: {
    name: 'PYGEOAPI_K8S_MANAGER_OIDC_USERNAME_CLAIM',
    default: 'sub',
    description: '`oidc` mode: the claim that names the caller (the job owner); keep a stable one such as `sub`.',
    secret: false,
    origin: 'ours',
    read: (raw: string | undefined): string => raw?.trim() ?? 'sub',
  },
  oidcRolesClaim: {
    name: 'PYGEOAPI_K8S_MANAGER_OIDC_ROLES_CLAIM',
    default: 'groups',
    description: '`oidc` mode: the claim (a list or a string) holding the groups or roles that are mapped to `user` and `operator`.',
    secret: false,
    origin: 'ours',
    read: (raw: string | undefined): string => raw?.trim() ?? 'groups',
  },
  oidcOperatorRoles: {
    name: 'PYGEOAPI_K8S_MANAGER_OIDC_OPERATOR_ROLES',
    default: '(none)',
    description: '`oidc` mode: comma-separated values of the roles claim that make a caller an `operator`.',
    secret: false,
    origin: 'ours',
    read: list([]),
  },
  oidcUserRoles: {
    name: 'PYGEOAPI_K8S_MANAGER_OIDC_USER_ROLES',
    default: '(any)',
    description:
      '`oidc` mode: comma-separated values of the roles claim that make a caller a `user`; unset: every valid token of the issuer ' +
      'and audience is a `user`. A caller with neither gets 403.',
    secret: false,
    origin: 'ours',
    read: list([]),
  },
  oidcClockSkewSeconds: {
    name: 'PYGEOAPI_K8S_MANAGER_OIDC_CLOCK_SKEW_SECONDS',
    default: '30',
    description: '`oidc` mode: tolerated clock difference when checking `exp` and `nbf`.',
    secret: false,
    origin: 'ours',
    read: seconds(30, 0),
  },
  trustedJobCreators: {
    name: 'PYGEOAPI_K8S_MANAGER_TRUSTED_JOB_CREATORS',
    default: "the API's service account",
    description:
      'Webhook: comma-separated usernames (as the API server authenticates them) whose Jobs keep the `pygeoapi.io/identifier` and ' +
      '`pygeoapi.io/owner` they carry. Unset: `system:serviceaccount:<the webhook\'s namespace>:k8s-job-manager-api`, the API of ' +
      'the shipped manifests. For everyone else the webhook sets both (a fresh id and the creator as owner) and keeps them when ' +
      'they update the Job. Add the Python ' +
      'manager\'s service account when both run side by side.',
    secret: false,
    origin: 'ours',
    read: (raw: string | undefined): string[] | undefined => (raw === undefined ? undefined : parseList(raw)),
  },
  jobControllerUsers: {
    name: 'PYGEOAPI_K8S_MANAGER_JOB_CONTROLLER_USERS',
    default: JOB_CONTROLLER_USERS.join(','),
    description:
      'Webhook: comma-separated usernames of the Kubernetes Job controller, the only ones who may create a pod in the jobs namespace that ' +
      'claims a Job (labels `controller-uid`, `job-name`, their `batch.kubernetes.io/` forms, or an ownerReference of kind Job), or add ' +
      'such a claim to a pod; anyone else is refused. The default covers kube-controller-manager with and without ' +
      '`--use-service-account-credentials`. Keep the list in the `not-the-job-controller` matchCondition of the shipped webhook ' +
      'configuration the same. See *Security*.',
    secret: false,
    origin: 'ours',
    read: (raw: string | undefined): string[] => {
      const users = raw === undefined ? [...JOB_CONTROLLER_USERS] : parseList(raw);
      if (users.length === 0) throw new InvalidValue('must name at least one user (else no Job could start a pod)');
      return users;
    },
  },
  historyCacheEntries: {
    name: 'PYGEOAPI_K8S_MANAGER_HISTORY_CACHE_ENTRIES',
    default: '100000',
    description:
      'How many job history entries (archived jobs in `GET /jobs`) the API keeps in memory, by hour of creation; ' +
      'the least recently listed hours are dropped beyond it (about 0.5 KB each).',
    secret: false,
    origin: 'ours',
    read: count(100_000, 1_000),
  },
  historyRecordCacheBytes: {
    name: 'PYGEOAPI_K8S_MANAGER_HISTORY_RECORD_CACHE_BYTES',
    default: '16777216',
    description: 'Bytes of archived job records (`GET /jobs/{id}`, results, logs of jobs no longer in the cluster) the API keeps in memory (LRU).',
    secret: false,
    origin: 'ours',
    read: count(16 * 1024 * 1024, 0),
  },
} satisfies Record<string, EnvironmentVariable<unknown>>;

/** The table as a list, in documentation order. */
export const ENVIRONMENT_VARIABLES: ReadonlyArray<EnvironmentVariable<unknown>> = Object.values(ENVIRONMENT);

function secretSettings(values: { apiToken?: string; bucketSecret?: string; authTokens?: readonly StaticToken[] }): SecretSettings {
  const redacted = (): Record<string, string> =>
    Object.fromEntries(Object.entries(values).flatMap(([k, v]) => (v === undefined ? [] : [[k, REDACTED]])));
  // Non-enumerable, so neither shows up as data; loggers and console use them instead of the values.
  return Object.freeze(
    Object.defineProperties({ ...values }, { toJSON: { value: redacted }, [inspect.custom]: { value: redacted } }),
  );
}

/** Reads all settings; a ConfigError lists every variable with a bad value. */
export function readSettings(env: Env = process.env): Settings {
  const problems: string[] = [];
  const read = <T>(variable: EnvironmentVariable<T>): T => {
    const raw = present(env[variable.name]);
    try {
      return variable.read(raw, env);
    } catch (error) {
      if (!(error instanceof InvalidValue)) throw error;
      const got = variable.secret ? '' : ` (got ${JSON.stringify(raw)})`;
      problems.push(`${variable.name}: ${error.message}${got}`);
      return variable.read(undefined, env);
    }
  };
  const settings: Settings = {
    configPath: read(ENVIRONMENT.configPath),
    namespace: read(ENVIRONMENT.namespace),
    jobNamePrefix: read(ENVIRONMENT.jobNamePrefix),
    podSecurityContext: read(ENVIRONMENT.podSecurityContext),
    containerSecurityContext: read(ENVIRONMENT.containerSecurityContext),
    defaultTtlSecondsAfterFinished: read(ENVIRONMENT.defaultTtlSecondsAfterFinished),
    defaultActiveDeadlineSeconds: read(ENVIRONMENT.defaultActiveDeadlineSeconds),
    syncExecutionTimeoutSeconds: read(ENVIRONMENT.syncExecutionTimeoutSeconds),
    finalizerGiveUpSeconds: read(ENVIRONMENT.finalizerGiveUpSeconds),
    logArchiveLayout: read(ENVIRONMENT.logArchiveLayout),
    controllerSpoolDir: read(ENVIRONMENT.controllerSpoolDir),
    controllerPartSizeMib: read(ENVIRONMENT.controllerPartSizeMib),
    controllerStandbyCapture: read(ENVIRONMENT.controllerStandbyCapture),
    history: { cacheEntries: read(ENVIRONMENT.historyCacheEntries), recordCacheBytes: read(ENVIRONMENT.historyRecordCacheBytes) },
    bucket: {
      endpoint: read(ENVIRONMENT.bucketEndpoint),
      accessKeyId: read(ENVIRONMENT.bucketKey),
      name: read(ENVIRONMENT.bucketName),
      pathPrefix: read(ENVIRONMENT.bucketPathPrefix),
      region: read(ENVIRONMENT.bucketRegion),
      forcePathStyle: read(ENVIRONMENT.bucketForcePathStyle),
      checksums: read(ENVIRONMENT.bucketChecksums),
    },
    auth: authSettings(read),
    ...optional('trustedJobCreators', read(ENVIRONMENT.trustedJobCreators)),
    jobControllerUsers: read(ENVIRONMENT.jobControllerUsers),
    secrets: secretSettings({
      apiToken: read(ENVIRONMENT.apiToken),
      bucketSecret: read(ENVIRONMENT.bucketSecret),
      authTokens: read(ENVIRONMENT.authTokens),
    }),
    callbacks: {
      allow: read(ENVIRONMENT.callbackAllow),
      httpsOnly: read(ENVIRONMENT.callbackHttpsOnly),
      maxAttempts: read(ENVIRONMENT.callbackMaxAttempts),
      retryHorizonSeconds: read(ENVIRONMENT.callbackRetryHorizonSeconds),
      timeoutSeconds: read(ENVIRONMENT.callbackTimeoutSeconds),
    },
    limits: {
      maxInputsBytes: read(ENVIRONMENT.maxInputsBytes),
      requestsPerMinute: read(ENVIRONMENT.requestsPerMinute),
      maxActiveJobs: read(ENVIRONMENT.maxActiveJobs),
      maxActiveJobsPerPrincipal: read(ENVIRONMENT.maxActiveJobsPerPrincipal),
    },
  };
  // What a mode cannot work without, named at start-up rather than at the first request.
  if (settings.auth.mode === 'oidc') {
    if (!settings.auth.oidc.issuer) problems.push(`${OIDC_ISSUER}: required when ${AUTH_MODE} is oidc`);
    if (!settings.auth.oidc.audience) problems.push(`${ENVIRONMENT.oidcAudience.name}: required when ${AUTH_MODE} is oidc`);
  }
  if (settings.auth.mode === 'token' && !settings.secrets.authTokens?.length) {
    problems.push(`${ENVIRONMENT.authTokens.name}: required when ${AUTH_MODE} is token`);
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return settings;
}

function optional<K extends string, T>(key: K, value: T | undefined): Partial<Record<K, T>> {
  return value === undefined ? {} : ({ [key]: value } as Partial<Record<K, T>>);
}

function authSettings(read: <T>(variable: EnvironmentVariable<T>) => T): AuthSettings {
  const issuer = read(ENVIRONMENT.oidcIssuer);
  const audience = read(ENVIRONMENT.oidcAudience);
  const jwksUri = read(ENVIRONMENT.oidcJwksUri);
  return {
    mode: read(ENVIRONMENT.authMode),
    publicDiscovery: read(ENVIRONMENT.authPublicDiscovery),
    cacheSeconds: read(ENVIRONMENT.authCacheSeconds),
    ownerCheck: read(ENVIRONMENT.authOwnerCheck),
    oidc: {
      ...(issuer ? { issuer } : {}),
      ...(audience ? { audience } : {}),
      ...(jwksUri ? { jwksUri } : {}),
      usernameClaim: read(ENVIRONMENT.oidcUsernameClaim),
      rolesClaim: read(ENVIRONMENT.oidcRolesClaim),
      operatorRoles: read(ENVIRONMENT.oidcOperatorRoles),
      userRoles: read(ENVIRONMENT.oidcUserRoles),
      clockSkewSeconds: read(ENVIRONMENT.oidcClockSkewSeconds),
    },
  };
}

function cell(value: string): string {
  return value.replace(/\|/g, '\\|');
}

/** Literal values in code style; explanations such as "(none)" as text. */
function defaultCell(value: string): string {
  return /^[^(\s][^\s]*$/.test(value) ? `\`${value}\`` : cell(value);
}

/** The table as Markdown, for the README. */
export function environmentMarkdown(): string {
  const rows = ENVIRONMENT_VARIABLES.map(
    (v) =>
      `| \`${v.name}\` | ${defaultCell(v.default)} | ${v.secret ? 'yes' : 'no'} | ${v.origin === 'python' ? 'Python manager' : 'new'} | ${cell(v.description)} |`,
  );
  return [
    '| Variable | Default | Secret | Origin | Description |',
    '| --- | --- | --- | --- | --- |',
    ...rows,
  ].join('\n');
}
