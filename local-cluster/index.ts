/**
 * local-cluster: an in-process stand-in for a Kubernetes API server with the
 * Job, TTL-after-finished and garbage-collection controllers and a kubelet
 * that runs pods as local processes. See README.md for what differs from a
 * real cluster.
 */
import { writeFile } from 'node:fs/promises';
import { KubeConfig } from '@kubernetes/client-node';
import { ObjectStore } from './api-server/store.js';
import { Registry } from './api-server/registry.js';
import { CLUSTER_ROLE, CLUSTER_ROLE_BINDING, NAMESPACE, SERVICE_ACCOUNT } from './api-server/resources.js';
import { Faults } from './api-server/http/faults.js';
import { startApiServer, type RunningApiServer } from './api-server/http/server.js';
import { mutatingAdmission, type AdmissionObserver } from './api-server/admission/mutating-admission.js';
import type { ServiceResolver } from './api-server/admission/call-webhook.js';
import { EventRecorder } from './controllers/events.js';
import { JobController } from './controllers/job-controller.js';
import { TtlAfterFinishedController } from './controllers/ttl-after-finished.js';
import { GarbageCollector } from './controllers/garbage-collector.js';
import { NamespaceAccountsController } from './controllers/namespace-accounts.js';
import { NamespaceController } from './controllers/namespace-controller.js';
import { Kubelet } from './kubelet/kubelet.js';
import { kubeletLogSource } from './kubelet/serve-logs.js';
import { kubeconfigYaml } from './kubeconfig.js';
import { AccessControl, type AuditObserver } from './auth/access.js';
import { BOOTSTRAP_CLUSTER_ROLE_BINDINGS, BOOTSTRAP_CLUSTER_ROLES } from './auth/bootstrap-policy.js';
import { newTokenSecrets, TokenAuthority, DEFAULT_EXPIRATION_SECONDS, API_AUDIENCES } from './auth/tokens.js';
import { clusterCertificates, type ClusterCertificates } from './pki.js';
import { Journal } from './api-server/journal.js';
import { keepCa, keepTokenSecrets, statePaths } from './state-dir.js';
import type { KubeObject } from './api-server/types.js';
import type { ResourceType } from './api-server/resources.js';

export interface LocalClusterOptions {
  host?: string;
  /** 0 (default) picks a free port. */
  port?: number;
  /** How long after a deleted pod's containers stopped the kubelet removes them and their logs. */
  containerRemovalDelayMs?: number;
  /** First back-off of container restarts (CrashLoopBackOff). Real: 10 s. */
  restartBackoffBaseMs?: number;
  /** First back-off before a Job replaces a failed pod. Real: 10 s. */
  jobBackoffBaseMs?: number;
  /** Server-side watch timeout when the client gives none (randomised up to twice this). Real: 1800 s. */
  watchTimeoutSeconds?: number;
  bookmarkIntervalMs?: number;
  /** Namespaces to create besides default, kube-system, kube-public and kube-node-lease. */
  namespaces?: string[];
  admissionObserver?: AdmissionObserver;
  /**
   * Refuse requests RBAC does not allow (403), as a real cluster does. Off by
   * default: every authenticated or anonymous request is then allowed.
   */
  enforceRbac?: boolean;
  /**
   * Called with every request's authorization attributes and RBAC's decision
   * (enforced or not), as an audit log would record them: which calls a
   * client makes, and which of them RBAC refuses.
   */
  auditObserver?: AuditObserver;
  /**
   * A folder that keeps the cluster's state across restarts, as etcd's data
   * folder and a node's disk do: objects and resource versions (a journal:
   * write-ahead log and snapshot), the CA, the token signing key and the
   * administrator's token, and pods' logs. Pods that were running when the
   * cluster stopped come back failed (their processes died with it). One
   * cluster at a time per folder: the caller locks it. Without it, state
   * lives in memory and is gone on stop().
   */
  stateDir?: string;
  /** Write-ahead log size after which a snapshot replaces it (default 16 MiB). */
  journalCompactionBytes?: number;
}

export interface TokenOptions {
  audiences?: string[];
  /** Default 3600, at least 600 (TokenRequest's limits). */
  expirationSeconds?: number;
}

/** Whose credentials a kubeconfig carries: the administrator's (default) or a bearer token's. */
export interface KubeconfigOptions {
  namespace?: string;
  token?: string;
}

export interface LocalCluster {
  url: string;
  /** The cluster CA (PEM) that signed the API server's certificate. */
  caPem: string;
  registry: Registry;
  faults: Faults;
  /** Whether RBAC refuses requests (LocalClusterOptions.enforceRbac). */
  enforceRbac: boolean;
  /** Kubeconfigs for the administrator (kubernetes-admin in system:masters) or, with `token`, another identity. */
  kubeConfig(namespace?: string | KubeconfigOptions): KubeConfig;
  kubeconfigYaml(namespace?: string | KubeconfigOptions): string;
  writeKubeconfig(path: string, namespace?: string | KubeconfigOptions): Promise<void>;
  /** A ServiceAccount token, as `kubectl create token` gets it (the account must exist). */
  createToken(namespace: string, serviceAccount: string, options?: TokenOptions): Promise<string>;
  /** Maps a Service to a local address, for webhooks configured with `clientConfig.service`. */
  exposeService(namespace: string, name: string, port: number, target: { host: string; port: number }): void;
  stop(): Promise<void>;
}

const BUILT_IN_NAMESPACES = ['default', 'kube-system', 'kube-public', 'kube-node-lease'];

export async function startLocalCluster(options: LocalClusterOptions = {}): Promise<LocalCluster> {
  const paths = options.stateDir ? statePaths(options.stateDir) : undefined;
  const store = new ObjectStore();
  if (paths) {
    const { journal, recovered } = Journal.open(paths.store, options.journalCompactionBytes);
    store.restore(journal, recovered);
  }
  const services = new Map<string, { host: string; port: number }>();
  const resolve: ServiceResolver = (namespace, name, port) => services.get(`${namespace}/${name}:${port}`);
  const registry = new Registry(store, mutatingAdmission(store, resolve, options.admissionObserver));
  const system = { user: 'system:apiserver' };
  // Bootstrap objects are created once; a restarted cluster finds them (and any change made to them) in its store.
  const ensure = async (type: ResourceType, object: KubeObject): Promise<void> => {
    if (!store.get(type, undefined, object.metadata.name ?? '')) await registry.create(type, undefined, object, system);
  };
  for (const name of [...BUILT_IN_NAMESPACES, ...(options.namespaces ?? [])]) await ensure(NAMESPACE, { apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
  for (const role of BOOTSTRAP_CLUSTER_ROLES) await ensure(CLUSTER_ROLE, role);
  for (const binding of BOOTSTRAP_CLUSTER_ROLE_BINDINGS) await ensure(CLUSTER_ROLE_BINDING, binding);
  const secrets = paths ? await keepTokenSecrets(paths.pki, newTokenSecrets) : await newTokenSecrets();
  const tokens = await TokenAuthority.create(secrets, (namespace, name) => store.get(SERVICE_ACCOUNT, namespace, name)?.metadata.uid);
  const access = new AccessControl(store, tokens, options.enforceRbac === true, options.auditObserver);

  // HTTPS with a CA of its own, as a real API server: clients verify it through the kubeconfig.
  const host = options.host ?? '127.0.0.1';
  const hosts = ['127.0.0.1', '::1', host];
  let certificates: ClusterCertificates;
  if (paths) {
    // The CA is made once and kept; the serving certificate is new each start (the listen address may differ).
    const made: ClusterCertificates[] = [];
    const ca = await keepCa(paths.pki, () => {
      const first = clusterCertificates(hosts);
      made.push(first);
      return first;
    });
    certificates = made[0] ?? clusterCertificates(hosts, ca);
  } else certificates = clusterCertificates(hosts);

  const faults = new Faults(store);
  const events = new EventRecorder(registry);
  const kubelet = new Kubelet(registry, events, {
    nodeName: 'local-node',
    containerRemovalDelayMs: options.containerRemovalDelayMs ?? 30_000,
    restartBackoffBaseMs: options.restartBackoffBaseMs ?? 10_000,
    ...(paths ? { rootDir: paths.kubelet } : {}),
  });
  const jobs = new JobController(registry, events, options.jobBackoffBaseMs ?? 10_000);
  const ttl = new TtlAfterFinishedController(registry);
  const gc = new GarbageCollector(registry);
  const accounts = new NamespaceAccountsController(registry, certificates.caPem);
  const namespaces = new NamespaceController(registry);
  accounts.start();
  namespaces.start();
  await kubelet.start();
  jobs.start();
  ttl.start();
  gc.start();

  let server: RunningApiServer;
  try {
    server = await startApiServer({
      host,
      port: options.port ?? 0,
      tls: { key: certificates.keyPem, cert: certificates.certPem },
      registry,
      faults,
      logs: kubeletLogSource(kubelet),
      access,
      watchTimeoutSeconds: options.watchTimeoutSeconds ?? 1800,
      bookmarkIntervalMs: options.bookmarkIntervalMs ?? 60_000,
    });
  } catch (error) {
    accounts.stop();
    await Promise.all([jobs.stop(), ttl.stop(), gc.stop(), namespaces.stop(), kubelet.stop()]);
    store.closeJournal();
    throw error;
  }

  const yaml = (which: string | KubeconfigOptions = {}): string => {
    const { namespace, token } = typeof which === 'string' ? { namespace: which, token: undefined } : which;
    return kubeconfigYaml(server.url, certificates.caPem, token ?? tokens.secrets.adminToken, namespace);
  };
  return {
    url: server.url,
    caPem: certificates.caPem,
    registry,
    faults,
    enforceRbac: access.enforce,
    kubeconfigYaml: yaml,
    kubeConfig: (which) => {
      const kc = new KubeConfig();
      kc.loadFromString(yaml(which));
      return kc;
    },
    writeKubeconfig: (path, which) => writeFile(path, yaml(which), { mode: 0o600 }),
    createToken: async (namespace, name, tokenOptions = {}) => {
      const account = registry.get(SERVICE_ACCOUNT, namespace, name);
      const issued = await tokens.issue(namespace, name, account.metadata.uid ?? '', tokenOptions.audiences ?? API_AUDIENCES, tokenOptions.expirationSeconds ?? DEFAULT_EXPIRATION_SECONDS);
      return issued.token;
    },
    exposeService: (namespace, name, port, target) => services.set(`${namespace}/${name}:${port}`, target),
    stop: async () => {
      await server.close();
      accounts.stop();
      await Promise.all([jobs.stop(), ttl.stop(), gc.stop(), namespaces.stop()]);
      await kubelet.stop();
      store.closeJournal();
    },
  };
}
