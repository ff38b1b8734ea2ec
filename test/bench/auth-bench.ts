/**
 * What access control costs on GET /jobs/{id}: the same API against the same
 * local-cluster (RBAC enforced) without access control, in `token` mode, and
 * in `kubernetes` mode with a warm review cache, reported as ratios to no auth.
 * The kubernetes run counts the TokenReviews and SubjectAccessReviews it
 * makes, so a cache that stops working shows.
 */
import { resolve } from 'node:path';
import { Registry } from 'prom-client';
import { CoreV1Api, RbacAuthorizationV1Api } from '@kubernetes/client-node';
import { startLocalCluster } from '../../local-cluster/index.js';
import { JOB } from '../../local-cluster/api-server/resources.js';
import { startApi } from '../../api/index.js';
import { createAuthenticator } from '../../api/auth/authenticator.js';
import { KubernetesReviews } from '../../api/auth/kubernetes-reviews.js';
import { KubeHttp } from '../../lib/kube/http.js';
import { loadConfigFile } from '../../lib/config/index.js';
import { createLogger } from '../../lib/logging.js';
import { ANNOTATIONS, MANAGED_LABEL, MANAGED_LABEL_VALUE, jobNameFor } from '../../lib/contract.js';
import { benchJobId } from './api-bench.js';
import { load, type LatencySummary } from './stats.js';

const NS = 'default';
const TOKEN = 'bench-token-0123456789abcdef';

export async function run(): Promise<Record<string, unknown>> {
  const jobCount = Number(process.env.BENCH_AUTH_JOBS ?? 1000);
  const requests = Number(process.env.BENCH_AUTH_REQUESTS ?? 3000);
  const cluster = await startLocalCluster({ containerRemovalDelayMs: 1000, enforceRbac: true });
  try {
    const admin = cluster.kubeConfig();
    await admin.makeApiClient(CoreV1Api).createNamespacedServiceAccount({ namespace: NS, body: { metadata: { name: 'bench' } } });
    const rbac = admin.makeApiClient(RbacAuthorizationV1Api);
    await rbac.createNamespacedRole({ namespace: NS, body: { metadata: { name: 'jobs' }, rules: [{ apiGroups: ['batch'], resources: ['jobs'], verbs: ['get', 'list'] }] } });
    await rbac.createNamespacedRoleBinding({
      namespace: NS,
      body: { metadata: { name: 'bench' }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'jobs' }, subjects: [{ kind: 'ServiceAccount', name: 'bench', namespace: NS }] },
    });
    const saToken = await cluster.createToken(NS, 'bench');
    const saName = `system:serviceaccount:${NS}:bench`;
    for (let i = 0; i < jobCount; i++) {
      const id = benchJobId(i);
      // Every job belongs to both callers, so each request passes the owner check and returns the document.
      const owner = i % 2 ? 'bench' : saName;
      await cluster.registry.create(JOB, NS, {
        apiVersion: 'batch/v1',
        kind: 'Job',
        metadata: { name: jobNameFor(id), labels: { [MANAGED_LABEL]: MANAGED_LABEL_VALUE }, annotations: { [ANNOTATIONS.identifier]: id, [ANNOTATIONS.processId]: 'echo', [ANNOTATIONS.owner]: owner } },
        spec: { suspend: true, template: { spec: { restartPolicy: 'Never', containers: [{ name: 'c', image: 'x', command: ['true'] }] } } },
      }, { user: 'bench' });
    }
    const tokenJob = benchJobId(1);
    const saJob = benchJobId(2);

    let reviewsWhileMeasuring = 0;
    const measure = async (mode: 'none' | 'token' | 'kubernetes', authorization?: string, jobId = tokenJob): Promise<LatencySummary> => {
      const env = { PYGEOAPI_K8S_MANAGER_AUTH_MODE: mode, PYGEOAPI_K8S_MANAGER_AUTH_TOKENS: `bench:user:${TOKEN}`, PYGEOAPI_K8S_MANAGER_AUTH_CACHE_SECONDS: '600' };
      const { config } = loadConfigFile(resolve('pygeoapi-config.yaml'), env);
      const real = new KubernetesReviews(new KubeHttp(admin), NS, config.settings.auth.cacheSeconds);
      const authenticator = createAuthenticator({
        settings: config.settings.auth,
        ...(config.settings.secrets.authTokens ? { tokens: config.settings.secrets.authTokens } : {}),
        kubeConfig: admin,
        namespace: NS,
        reviews: real,
      });
      const api = await startApi({ config, kubeConfig: admin, namespace: NS, host: '127.0.0.1', port: 0, logger: createLogger('bench', 'silent'), metrics: new Registry(), archiveLogs: false, authenticator });
      try {
        const get = async (): Promise<void> => {
          const response = await fetch(`${api.url}/jobs/${jobId}`, authorization ? { headers: { authorization } } : {});
          if (response.status !== 200) throw new Error(`${mode}: GET /jobs/${jobId}: ${response.status}`);
          await response.arrayBuffer();
        };
        await load(200, 4, get); // warm-up: JIT, connections, and the review cache
        const before = real.sent;
        const result = await load(requests, 8, get);
        if (mode === 'kubernetes') reviewsWhileMeasuring = real.sent - before;
        return result;
      } finally {
        await api.close();
      }
    };

    const none = await measure('none');
    const token = await measure('token', `Bearer ${TOKEN}`);
    const kubernetes = await measure('kubernetes', `Bearer ${saToken}`, saJob);
    const ratio = (x: LatencySummary) => ({
      p50: Number((x.p50Ms / none.p50Ms).toFixed(2)),
      p99: Number((x.p99Ms / none.p99Ms).toFixed(2)),
      throughput: Number((x.perSecond / none.perSecond).toFixed(2)),
    });
    return {
      jobsInCache: jobCount,
      'GET /jobs/{id} no auth': none,
      'GET /jobs/{id} token mode': token,
      'GET /jobs/{id} kubernetes mode, warm cache': kubernetes,
      'token / no auth': ratio(token),
      'kubernetes (warm) / no auth': ratio(kubernetes),
      // TokenReviews and SubjectAccessReviews sent to the API server during the measured kubernetes run (0: every answer from the cache).
      kubernetesReviewsSentWhileMeasuring: reviewsWhileMeasuring,
    };
  } finally {
    await cluster.stop();
  }
}
