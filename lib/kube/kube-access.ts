/**
 * What the manager needs of a kubeconfig: the server, TLS material and
 * credentials for each request (KubeHttp), and the context's namespace.
 *
 * Why not always client-node's KubeConfig: its module loads every generated
 * API class of client-node, about 40 MB of a process that uses none of them
 * (measured: the controller rests at ~90 MB without it, ~130 MB with it).
 * `loadKubeAccess` reads the common configurations itself — in-cluster (the
 * service account's token, re-read as it rotates, and CA), or one kubeconfig
 * file whose user has a token, a token file, a client certificate or a
 * username and password — exactly as client-node would apply them
 * (test/lib/kube-access.test.ts compares the two). Anything else (exec
 * plugins, auth providers, proxies, several KUBECONFIG files, entries it does
 * not know) is left to client-node's KubeConfig, loaded only then.
 */
import { existsSync, readFileSync } from 'node:fs';
import type https from 'node:https';
import { isIPv6 } from 'node:net';
import path from 'node:path';
import type { Cluster, Context, KubeConfig } from '@kubernetes/client-node';

/** The part of client-node's KubeConfig the manager uses (a KubeConfig is one). */
export interface KubeAccess {
  getCurrentCluster(): Cluster | null;
  getCurrentContext(): string;
  getContextObject(name: string): Context | null;
  applyToHTTPSOptions(opts: https.RequestOptions): Promise<void>;
}

const SERVICE_ACCOUNT = '/var/run/secrets/kubernetes.io/serviceaccount';
/** How long a token read from a file is used before the file is read again (client-node's FileAuth: 60 s). */
const TOKEN_FILE_REFRESH_MS = 60_000;

interface LightUser {
  token?: string;
  tokenFile?: string;
  certFile?: string;
  certData?: string;
  keyFile?: string;
  keyData?: string;
  username?: string;
  password?: string;
  impersonateUser?: string;
}

class LightKubeConfig implements KubeAccess {
  private tokenRead: { token: string; at: number } | undefined;

  constructor(
    private readonly cluster: Cluster,
    private readonly user: LightUser,
    private readonly context: Context,
  ) {}

  getCurrentCluster(): Cluster {
    return this.cluster;
  }

  getCurrentContext(): string {
    return this.context.name;
  }

  getContextObject(name: string): Context | null {
    return name === this.context.name ? this.context : null;
  }

  async applyToHTTPSOptions(opts: https.RequestOptions): Promise<void> {
    const { cluster, user } = this;
    // client-node refuses plain HTTP unless TLS verification is explicitly off; so does this.
    if (cluster.server.startsWith('http:') && !cluster.skipTLSVerify) throw new Error('HTTP protocol is not allowed when skipTLSVerify is not set or false');
    if (cluster.skipTLSVerify) opts.rejectUnauthorized = false;
    if (cluster.tlsServerName) opts.servername = cluster.tlsServerName;
    const ca = fileOrData(cluster.caFile, cluster.caData);
    if (ca) opts.ca = ca;
    const cert = fileOrData(user.certFile, user.certData);
    if (cert) opts.cert = cert;
    const key = fileOrData(user.keyFile, user.keyData);
    if (key) opts.key = key;
    const headers = (opts.headers ??= {}) as Record<string, string>;
    if (user.impersonateUser) headers['Impersonate-User'] = user.impersonateUser;
    const token = user.token ?? this.fileToken();
    if (token) headers.Authorization = `Bearer ${token}`;
    if (user.username) opts.auth = `${user.username}:${user.password}`;
  }

  private fileToken(): string | undefined {
    if (!this.user.tokenFile) return undefined;
    if (!this.tokenRead || Date.now() - this.tokenRead.at > TOKEN_FILE_REFRESH_MS) {
      this.tokenRead = { token: readFileSync(this.user.tokenFile, 'utf8'), at: Date.now() };
    }
    return this.tokenRead.token;
  }
}

function fileOrData(file: string | undefined, data: string | undefined): Buffer | undefined {
  if (file) return readFileSync(file);
  return data ? Buffer.from(data, 'base64') : undefined;
}

type Entry = Record<string, unknown>;

const isEntry = (value: unknown): value is Entry => typeof value === 'object' && value !== null && !Array.isArray(value);
const text = (value: unknown): string | undefined => (typeof value === 'string' && value !== '' ? value : undefined);

/** The entry named `name` in a kubeconfig list (clusters, users, contexts), its inner object under `field`. */
function named(list: unknown, name: string, field: string): Entry | undefined {
  if (!Array.isArray(list)) return undefined;
  const matches = list.filter((e): e is Entry => isEntry(e) && e.name === name);
  const inner = matches.length === 1 ? matches[0]![field] : undefined;
  return isEntry(inner) ? inner : undefined;
}

const CLUSTER_KEYS = new Set(['server', 'certificate-authority', 'certificate-authority-data', 'insecure-skip-tls-verify', 'tls-server-name', 'extensions']);
const USER_KEYS = new Set(['token', 'token-file', 'client-certificate', 'client-certificate-data', 'client-key', 'client-key-data', 'username', 'password', 'as', 'extensions']);

/** A kubeconfig's current context when this module can apply it as client-node would; undefined otherwise. */
export async function lightFromKubeconfig(source: string, directory: string): Promise<KubeAccess | undefined> {
  // The YAML parser (~9 MB) only for a kubeconfig file: a process in a pod reads its service account and never needs it.
  const { parse } = await import('yaml');
  const doc: unknown = parse(source);
  if (!isEntry(doc)) return undefined;
  const contextName = text(doc['current-context']);
  if (!contextName) return undefined;
  const context = named(doc.contexts, contextName, 'context');
  const clusterName = text(context?.cluster);
  const userName = text(context?.user);
  if (!context || !clusterName || !userName) return undefined;
  const cluster = named(doc.clusters, clusterName, 'cluster');
  const user = named(doc.users, userName, 'user');
  if (!cluster || !user) return undefined;
  if (Object.keys(cluster).some((k) => !CLUSTER_KEYS.has(k)) || Object.keys(user).some((k) => !USER_KEYS.has(k))) return undefined;
  const server = text(cluster.server);
  if (!server) return undefined;
  // Relative file names are relative to the kubeconfig's folder, as kubectl and client-node take them.
  const file = (value: unknown): string | undefined => {
    const name = text(value);
    return name && !path.isAbsolute(name) ? path.join(directory, name) : name;
  };
  const tokenFile = file(user['token-file']);
  const namespace = text(context.namespace);
  return new LightKubeConfig(
    {
      name: clusterName,
      server: server.replace(/\/$/, ''),
      skipTLSVerify: cluster['insecure-skip-tls-verify'] === true,
      ...optional({ caFile: file(cluster['certificate-authority']), caData: text(cluster['certificate-authority-data']), tlsServerName: text(cluster['tls-server-name']) }),
    },
    optional({
      token: text(user.token) ?? (tokenFile ? readFileSync(tokenFile, 'utf8') : undefined),
      certFile: file(user['client-certificate']),
      certData: text(user['client-certificate-data']),
      keyFile: file(user['client-key']),
      keyData: text(user['client-key-data']),
      username: text(user.username),
      password: text(user.password),
      impersonateUser: text(user.as),
    }),
    { name: contextName, cluster: clusterName, user: userName, ...optional({ namespace }) },
  );
}

function optional<T extends Record<string, string | undefined>>(fields: T): Partial<Record<keyof T, string>> {
  return Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== undefined)) as Partial<Record<keyof T, string>>;
}

/** In-cluster access (service account), as client-node's loadFromCluster sets it up. */
export function lightInCluster(env: NodeJS.ProcessEnv, directory = SERVICE_ACCOUNT): KubeAccess {
  const host = env.KUBERNETES_SERVICE_HOST ?? '';
  const port = env.KUBERNETES_SERVICE_PORT ?? '';
  const scheme = port === '80' || port === '8080' || port === '8001' ? 'http' : 'https';
  const namespaceFile = path.join(directory, 'namespace');
  const namespace = existsSync(namespaceFile) ? readFileSync(namespaceFile, 'utf8') : undefined;
  return new LightKubeConfig(
    { name: 'inCluster', server: `${scheme}://${isIPv6(host) ? `[${host}]` : host}:${port}`, skipTLSVerify: false, caFile: path.join(directory, 'ca.crt') },
    // Bound service account tokens rotate: the file is read again every minute.
    { tokenFile: path.join(directory, 'token') },
    { name: 'inClusterContext', cluster: 'inCluster', user: 'inClusterUser', ...optional({ namespace }) },
  );
}

/**
 * The configuration client-node's `loadFromDefault` would find (KUBECONFIG,
 * else ~/.kube/config, else in-cluster), read here when this module can
 * apply it, else by client-node's KubeConfig (imported only then).
 */
export async function loadKubeAccess(env: NodeJS.ProcessEnv = process.env): Promise<KubeAccess> {
  return (await lightDefault(env)) ?? (await fullKubeConfig());
}

async function lightDefault(env: NodeJS.ProcessEnv): Promise<KubeAccess | undefined> {
  const files = (env.KUBECONFIG ?? '').split(path.delimiter).filter(Boolean);
  if (files.length > 1) return undefined;
  const home = env.HOME;
  const file = files[0] ?? (home && existsSync(path.join(home, '.kube', 'config')) ? path.join(home, '.kube', 'config') : undefined);
  if (file) return lightFromKubeconfig(readFileSync(file, 'utf8'), path.dirname(file));
  if (process.platform !== 'win32' && existsSync(path.join(SERVICE_ACCOUNT, 'token'))) return lightInCluster(env);
  return undefined;
}

/** The kubeconfig file `file`, read here when this module can apply it, else by client-node's KubeConfig. */
export async function loadKubeAccessFromFile(file: string): Promise<KubeAccess> {
  return (await lightFromKubeconfig(readFileSync(file, 'utf8'), path.dirname(file))) ?? (await fullKubeConfig(file));
}

async function fullKubeConfig(file?: string): Promise<KubeConfig> {
  const { KubeConfig } = await import('@kubernetes/client-node');
  const kubeConfig = new KubeConfig();
  if (file) kubeConfig.loadFromFile(file);
  else kubeConfig.loadFromDefault();
  return kubeConfig;
}
