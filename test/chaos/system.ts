/**
 * The whole system of a chaos run, each part a process of its own:
 * local-cluster (with fault injection), s3rver behind the S3 fault proxy,
 * the admission webhook, the API and N controller replicas — the manager's
 * parts as `k8s-job-manager serve …`. A part that exits on its own is
 * restarted after a second, as a Deployment would (and counted as a crash).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { KubeHttp } from '../../lib/kube/http.js';
import { ENVIRONMENT_VARIABLES } from '../../lib/config/environment.js';
import { registerWebhook } from '../../cmd/local/register-webhook.js';
import type { ClusterCommand, ClusterMessage } from './cluster-process.js';
import type { S3Command, S3Message } from './s3-process.js';
import { forkHelper, startPart, type Part } from './processes.js';
import { transpileProduct } from './build.js';
import type { S3FaultStats } from './s3-fault-proxy.js';

export const JOBS_NAMESPACE = 'default';
export const SYSTEM_NAMESPACE = 'k8s-job-manager';
export const BUCKET = 'chaos-archive';
export const PREFIX = 'logs/';
export const LEASE = 'k8s-job-manager-controller';
const WEBHOOK_SERVICE = 'k8s-job-manager-webhook';
const S3_CREDENTIALS = { key: 'S3RVER', secret: 'S3RVER' };

export interface SystemOptions {
  dir: string;
  seed: string;
  replicas: number;
  /** Job program (job.mjs) and the node that runs it. */
  jobProgram: string;
  removalDelayMs: number;
  s3Faults: { refuse: number; cut: number };
  /** Called for everything worth a line in the run's timeline. */
  note(event: string): void;
}

export interface System {
  kube: KubeHttp;
  apiUrl: string;
  s3Direct: string;
  replicas: Part[];
  /** Parts that exited without being told to, by name. */
  crashes: Record<string, number>;
  cluster(command: ClusterCommand): void;
  clusterStats(): Promise<Extract<ClusterMessage, { type: 'stats' }>>;
  s3Stats(): Promise<S3FaultStats>;
  setS3Faults(enabled: boolean): Promise<void>;
  /** SIGKILL replica i (its restart is the caller's). */
  killReplica(i: number): Promise<void>;
  startReplica(i: number): Promise<void>;
  leader(): Promise<string | undefined>;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

function chaosConfig(node: string, program: string): string {
  const quote = (s: string): string => JSON.stringify(s);
  return `# Written by the chaos run: one process whose containers run test/chaos/job.mjs.
server:
  bind: { host: 127.0.0.1, port: 5000 }
  url: http://127.0.0.1:5000
  manager:
    finalizer_controller: true
resources:
  chaos:
    type: process
    processor:
      name: GenericImageProcessor
      default_image: node:20-alpine
      command: [${quote(node)}, ${quote(program)}, main]
      check_auth: false
      backoff_limit: 1
      init_containers:
        - name: prepare
          image: node:20-alpine
          command: [${quote(node)}, ${quote(program)}, init]
      metadata:
        title: Chaos job
        version: 1.0.0
        jobControlOptions: [async-execute, dismiss]
        inputs:
          spec:
            schema: { type: object }
        outputs:
          key:
            schema: { type: string }
          attempt:
            schema: { type: string }
`;
}

export async function startSystem(options: SystemOptions): Promise<System> {
  const logs = path.join(options.dir, 'logs');
  await mkdir(logs, { recursive: true });
  const kubeconfig = path.join(options.dir, 'kubeconfig');
  const configFile = path.join(options.dir, 'pygeoapi-config.yaml');
  await writeFile(configFile, chaosConfig(process.execPath, options.jobProgram));
  const stops: Array<() => Promise<void>> = [];
  const crashes: Record<string, number> = {};
  let stopping = false;
  const stop = async (): Promise<void> => {
    stopping = true;
    for (const s of stops.reverse()) await s().catch(() => undefined);
  };

  try {
    const build = path.join(options.dir, 'build');
    await transpileProduct(build);
    options.note('transpiled the manager for plain node');
    const cli = path.join(build, 'cmd', 'main.js');
    const here = path.join(build, 'test', 'chaos');
    const cluster = forkHelper<ClusterMessage>('local-cluster', path.join(here, 'cluster-process.js'), [kubeconfig, String(options.removalDelayMs)], logs);
    stops.push(() => cluster.stop());
    const s3 = forkHelper<S3Message>(
      's3',
      path.join(here, 's3-process.js'),
      [path.join(options.dir, 's3'), BUCKET, options.seed, String(options.s3Faults.refuse), String(options.s3Faults.cut)],
      logs,
    );
    stops.push(() => s3.stop());
    await mkdir(path.join(options.dir, 's3'), { recursive: true });
    await cluster.next((m): m is Extract<ClusterMessage, { type: 'ready' }> => m.type === 'ready');
    const s3Ready = await s3.next((m): m is Extract<S3Message, { type: 'ready' }> => m.type === 'ready');

    const kubeConfig = new KubeConfig();
    kubeConfig.loadFromFile(kubeconfig);
    const kube = new KubeHttp(kubeConfig);
    stops.push(async () => kube.close());
    const clusterCa = Buffer.from(kubeConfig.getCurrentCluster()?.caData ?? '', 'base64').toString('utf8');
    // The shipped webhook configuration; the webhook part replaces this caBundle with its own CA.
    await registerWebhook(kube, SYSTEM_NAMESPACE, JOBS_NAMESPACE, clusterCa);

    const base = {
      KUBECONFIG: kubeconfig,
      PYGEOAPI_CONFIG: configFile,
      // The run's own API on loopback, driven by the run alone: no access control to set up.
      PYGEOAPI_K8S_MANAGER_AUTH_MODE: 'none',
      // Every part uses the administrator's kubeconfig: the webhook trusts the identifiers the API gives.
      PYGEOAPI_K8S_MANAGER_TRUSTED_JOB_CREATORS: 'kubernetes-admin',
    };
    const bucket = (endpoint: string): NodeJS.ProcessEnv => ({
      PYGEOAPI_K8S_MANAGER_FINALIZER_BUCKET_ENDPOINT: endpoint,
      PYGEOAPI_K8S_MANAGER_FINALIZER_BUCKET_KEY: S3_CREDENTIALS.key,
      PYGEOAPI_K8S_MANAGER_FINALIZER_BUCKET_SECRET: S3_CREDENTIALS.secret,
      PYGEOAPI_K8S_MANAGER_FINALIZER_BUCKET_NAME: BUCKET,
      PYGEOAPI_K8S_MANAGER_FINALIZER_BUCKET_PATH_PREFIX: PREFIX,
    });
    const common = ['--config', configFile, '--host', '127.0.0.1', '--ops-port', '0'];

    // A part that dies unasked comes back after a second, as its Deployment would bring it back.
    const supervise = (name: string, launch: () => Part, onReady: (part: Part) => Promise<void> = async () => undefined): { current(): Part; restart(): Promise<void> } => {
      let part = launch();
      const watch = (p: Part): void => {
        void p.exited.then(({ code, signal }) => {
          if (stopping || p.child.signalCode === 'SIGKILL' || p !== part) return;
          crashes[name] = (crashes[name] ?? 0) + 1;
          options.note(`${name} exited on its own (code ${code}, signal ${signal}); restarting it`);
          setTimeout(() => {
            if (stopping) return;
            part = launch();
            watch(part);
            void part.ready.then(() => onReady(part)).catch(() => undefined);
          }, 1_000);
        });
      };
      watch(part);
      stops.push(() => part.kill('SIGTERM'));
      return {
        current: () => part,
        restart: async () => {
          if (stopping) return;
          part = launch();
          watch(part);
          await part.ready;
          await onReady(part);
        },
      };
    };

    const exposeWebhook = async (part: Part): Promise<void> => {
      const ready = await part.ready;
      const port = Number(new URL(String(ready.webhook)).port);
      cluster.send({ op: 'expose', namespace: SYSTEM_NAMESPACE, name: WEBHOOK_SERVICE, port: 443, target: { host: '127.0.0.1', port } } satisfies ClusterCommand);
      await cluster.next((m): m is Extract<ClusterMessage, { type: 'done' }> => m.type === 'done' && m.op === 'expose');
    };
    const webhook = supervise(
      'webhook',
      () => startPart('webhook', cli, [...common, '--webhook', '--webhook-port', '0'], { ...base, PYGEOAPI_K8S_MANAGER_NAMESPACE: SYSTEM_NAMESPACE }, logs),
      exposeWebhook,
    );
    // A fixed port, so the API keeps its address across restarts.
    const apiPort = await freePort();
    const api = supervise('api', () => startPart('api', cli, [...common, '--api', '--port', String(apiPort)], { ...base, PYGEOAPI_K8S_MANAGER_NAMESPACE: JOBS_NAMESPACE, ...bucket(s3Ready.direct) }, logs));

    // The spool survives a restart in the same pod (emptyDir): same folder, same identity.
    const spoolVariable = ENVIRONMENT_VARIABLES.find((v) => /SPOOL/.test(v.name))?.name;
    const replicaEnv = (i: number): NodeJS.ProcessEnv => ({
      ...base,
      ...bucket(s3Ready.proxy),
      PYGEOAPI_K8S_MANAGER_NAMESPACE: JOBS_NAMESPACE,
      HOSTNAME: `controller-${i}`,
      ...(spoolVariable ? { [spoolVariable]: path.join(options.dir, `spool-${i}`) } : {}),
    });
    const replicas = Array.from({ length: options.replicas }, (_, i) =>
      supervise(`controller-${i}`, () => startPart(`controller-${i}`, cli, [...common, '--controller'], replicaEnv(i), logs)),
    );
    await Promise.all([exposeWebhook(webhook.current()), api.current().ready, ...replicas.map((r) => r.current().ready)]);

    let statsId = 0;
    const system: System = {
      kube,
      apiUrl: `http://127.0.0.1:${apiPort}`,
      s3Direct: s3Ready.direct,
      get replicas() {
        return replicas.map((r) => r.current());
      },
      crashes,
      cluster: (command) => cluster.send(command),
      clusterStats: async () => {
        const id = ++statsId;
        cluster.send({ op: 'stats', id } satisfies ClusterCommand);
        return cluster.next((m): m is Extract<ClusterMessage, { type: 'stats' }> => m.type === 'stats' && m.id === id);
      },
      s3Stats: async () => {
        const id = ++statsId;
        s3.send({ op: 'stats', id } satisfies S3Command);
        return (await s3.next((m): m is Extract<S3Message, { type: 'stats' }> => m.type === 'stats' && m.id === id)).stats;
      },
      setS3Faults: async (enabled) => {
        const id = ++statsId;
        s3.send({ op: 'faults', enabled, id } satisfies S3Command);
        await s3.next((m): m is Extract<S3Message, { type: 'stats' }> => m.type === 'stats' && m.id === id);
      },
      killReplica: (i) => replicas[i]!.current().kill('SIGKILL'),
      startReplica: (i) => replicas[i]!.restart(),
      leader: async () => {
        const lease = await kube.request<{ spec?: { holderIdentity?: string } }>({
          path: `/apis/coordination.k8s.io/v1/namespaces/${JOBS_NAMESPACE}/leases/${LEASE}`,
        });
        return lease?.spec?.holderIdentity || undefined;
      },
      stop,
    };
    return system;
  } catch (error) {
    await stop();
    throw error;
  }
}
