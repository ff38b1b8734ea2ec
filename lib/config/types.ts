/**
 * The normalised configuration that the rest of the manager works with:
 * pygeoapi's snake_case keys become camelCase, defaults are filled in and
 * environment defaults (lifetimes, security contexts) are already applied.
 */
import type { V1Affinity, V1Container, V1PodSecurityContext, V1SecurityContext, V1Toleration } from '@kubernetes/client-node';
import type { ProcessKind } from './processors.js';
import type { AuthMode, StaticToken } from './auth-settings.js';
import type { AllowEntry } from '../net/address-policy.js';

export type { ProcessKind } from './processors.js';

/** A text, or one text per language (pygeoapi picks the request's language). */
export type LocalizedText = string | Readonly<Record<string, string>>;

export type JobControlOption = 'sync-execute' | 'async-execute' | 'dismiss';

export interface Link {
  href: string;
  rel?: string;
  type?: string;
  title?: string;
  hreflang?: string;
}

interface ParameterDescription {
  title?: LocalizedText;
  description?: LocalizedText;
  keywords?: string[];
  /** JSON schema of the value; `{}` when the configuration gave none. */
  schema: Record<string, unknown>;
  [extra: string]: unknown;
}

export interface InputDescription extends ParameterDescription {
  minOccurs?: number;
  maxOccurs?: number | 'unbounded';
}

export type OutputDescription = ParameterDescription;

/** The OGC API – Processes process description (other keys of the configuration are kept). */
export interface ProcessMetadata {
  /** Always the process id (the key under `resources:`). */
  id: string;
  version: string;
  title: LocalizedText;
  description?: LocalizedText;
  keywords?: string[] | Record<string, string[]>;
  jobControlOptions: JobControlOption[];
  outputTransmission?: Array<'value' | 'reference'>;
  links: Link[];
  inputs: Record<string, InputDescription>;
  outputs: Record<string, OutputDescription>;
  example?: unknown;
  [extra: string]: unknown;
}

/** A job environment variable: a literal, or a key of a Secret in the job's namespace. */
export type EnvSetting = { name: string; value: string } | { name: string; secretName: string; secretKey: string };

/** A volume mounted into the main container. */
export type StorageSetting =
  | { name: string; mountPath: string; persistentVolumeClaimName: string }
  | { name: string; mountPath: string; emptyDir: { medium?: string; sizeLimit?: string } };

export interface ResourceSetting {
  requests?: Record<string, string>;
  limits?: Record<string, string>;
}

export interface ProcessDefinition {
  /** The key under `resources:`; the OGC process id. */
  id: string;
  kind: ProcessKind;
  /** The `processor.name` as written in the configuration. */
  processorName: string;
  metadata: ProcessMetadata;
  /** Whether executions must carry the `token` input matching PYGEOAPI_K8S_MANAGER_API_TOKEN. */
  checkAuth: boolean;
  /** Mimetype the Python manager writes to the `mimetype` annotation: from the outputs, else `mimetype`, else JSON. */
  mimetype: string;
  image: string;
  /** The main container's command (argv, never a shell string built from inputs). */
  command?: string[];
  args?: string[];
  env: EnvSetting[];
  resources?: ResourceSetting;
  storage: StorageSetting[];
  initContainers: V1Container[];
  tolerations: V1Toleration[];
  imagePullSecrets: string[];
  nodeSelector?: Record<string, string>;
  affinity?: V1Affinity;
  serviceAccount?: string;
  /** Resolved: processor setting, else PYGEOAPI_K8S_MANAGER_JOB_POD_SECURITY_CONTEXT, else the baseline; undefined = none. */
  podSecurityContext?: V1PodSecurityContext;
  /** Resolved like podSecurityContext; meant for every container and init container. */
  containerSecurityContext?: V1SecurityContext;
  backoffLimit: number;
  /** Resolved: processor setting, else PYGEOAPI_K8S_MANAGER_DEFAULT_TTL_SECONDS_AFTER_FINISHED. */
  ttlSecondsAfterFinished: number;
  /** Resolved: processor setting, else PYGEOAPI_K8S_MANAGER_DEFAULT_ACTIVE_DEADLINE_SECONDS; undefined = no deadline. */
  activeDeadlineSeconds?: number;
  /** `free_form_inputs`: inputs the description does not declare are passed on instead of refused. */
  freeFormInputs: boolean;
  /** `href_inputs`: inputs that may be given by reference (`{"href": ...}`). */
  hrefInputs: string[];
}

/** `server.cors`: which browser origins may call the API. */
export interface CorsPolicy {
  /** Exact origins; `*` only from pygeoapi's `cors: true`, which then allows reads (GET, HEAD) without credentials. */
  origins: '*' | string[];
  methods: string[];
  headers: string[];
  /** Access-Control-Allow-Credentials for listed origins (never with `*`). */
  credentials: boolean;
}

export interface ServerConfig {
  host: string;
  port: number;
  /** Public base URL, without a trailing slash. */
  url: string;
  /** Undefined: no CORS headers at all (the default). */
  cors?: CorsPolicy;
  limits: { defaultItems: number; maxItems: number };
  manager: {
    name?: string;
    /** `server.manager.finalizer_controller`: archive job logs through the pod finalizer. */
    finalizerController: boolean;
  };
  /** `metadata.identification` title and description, for the landing page. */
  identification: { title?: LocalizedText; description?: LocalizedText };
}

export type LogArchiveLayout = 'per-container' | 'python';
export type ChecksumMode = 'WHEN_REQUIRED' | 'WHEN_SUPPORTED';

export interface BucketSettings {
  endpoint?: string;
  accessKeyId?: string;
  name?: string;
  /** Key prefix; empty, or ending with `/`. */
  pathPrefix: string;
  region: string;
  forcePathStyle: boolean;
  checksums: ChecksumMode;
}

/** Access control of the API (see environment.ts and the README's *Access control*). */
export interface AuthSettings {
  mode: AuthMode;
  /** Landing page, conformance, OpenAPI and /processes without credentials. */
  publicDiscovery: boolean;
  /** `kubernetes` mode: seconds TokenReview/SubjectAccessReview answers are reused; 0 = not at all. */
  cacheSeconds: number;
  /** `kubernetes` mode: callers without the operator right see only their own jobs. */
  ownerCheck: boolean;
  oidc: {
    issuer?: string;
    audience?: string;
    jwksUri?: string;
    usernameClaim: string;
    rolesClaim: string;
    operatorRoles: string[];
    /** Empty: every valid token is a user. */
    userRoles: string[];
    clockSkewSeconds: number;
  };
}

/** Secrets: readable by code, but `[redacted]` in JSON.stringify and util.inspect, so loggers never print them. */
export interface SecretSettings {
  readonly apiToken?: string;
  readonly bucketSecret?: string;
  /** `token` mode's bearer tokens. */
  readonly authTokens?: readonly StaticToken[];
}

/** Settings from environment variables (see environment.ts for the table). */
export interface Settings {
  configPath?: string;
  namespace?: string;
  jobNamePrefix: string;
  /** null = switched off (`off`/`none`). */
  podSecurityContext: V1PodSecurityContext | null;
  containerSecurityContext: V1SecurityContext | null;
  defaultTtlSecondsAfterFinished: number;
  /** undefined = no deadline. */
  defaultActiveDeadlineSeconds?: number;
  syncExecutionTimeoutSeconds: number;
  /** 0 = never give up. */
  finalizerGiveUpSeconds: number;
  logArchiveLayout: LogArchiveLayout;
  /** undefined = a fresh temp dir per process. */
  controllerSpoolDir?: string;
  /** Multipart part size of the controller's log uploads, MiB (≥ 5). */
  controllerPartSizeMib: number;
  /** Replicas that do not lead capture every log too, so one taking over has them. */
  controllerStandbyCapture: boolean;
  /** Memory budgets of the API's view of the job history. */
  history: { cacheEntries: number; recordCacheBytes: number };
  bucket: BucketSettings;
  auth: AuthSettings;
  /** Webhook: usernames whose Jobs keep their identifier and owner annotations; undefined: the API's service account. */
  trustedJobCreators?: string[];
  /** Webhook: usernames of the Job controller, the only ones who may create pods that claim a Job. */
  jobControllerUsers: string[];
  callbacks: CallbackSettings;
  limits: LimitSettings;
  secrets: SecretSettings;
}

/** Where and how OGC callbacks may be sent (see lib/net/address-policy.ts). */
export interface CallbackSettings {
  /** Hosts, `*.domains` and CIDRs allowed even though they are not public. */
  allow: AllowEntry[];
  httpsOnly: boolean;
  /** Attempts per callback before giving up. */
  maxAttempts: number;
  /** Give up once a callback has failed for this long. */
  retryHorizonSeconds: number;
  /** Whole exchange, per attempt. */
  timeoutSeconds: number;
}

/** Protection of the API and the cluster; 0 switches a limit off. */
export interface LimitSettings {
  /** Serialized `inputs` of one execute request, in bytes. */
  maxInputsBytes: number;
  /** Requests per minute per client address and per principal. */
  requestsPerMinute: number;
  /** Unfinished jobs in the namespace. */
  maxActiveJobs: number;
  /** Unfinished jobs one principal started. */
  maxActiveJobsPerPrincipal: number;
}

export interface ManagerConfig {
  /** The configuration file as given. */
  file: string;
  server: ServerConfig;
  processes: ProcessDefinition[];
  settings: Settings;
}
