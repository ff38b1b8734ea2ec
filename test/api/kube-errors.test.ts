import t from 'tap';
import { describeKubeError, kubeErrorFacts, kubeFailure, type KubeErrorFacts } from '../../api/kube/kube-errors.js';
import { logUnavailable } from '../../api/routes/jobs.js';
import { KubeApiError, type KubeStatus } from '../../lib/kube/http.js';

t.test('Kubernetes errors become client-meaningful answers without internals', async (t) => {
  const doing = 'creating Job pygeoapi-job-1';
  const cases: Array<[string, KubeErrorFacts, number, RegExp, Record<string, string>?]> = [
    [
      '422 with causes: 400 naming what was too big',
      { status: 422, body: { message: 'Job.batch "x" is invalid: metadata.annotations: Too long', details: { causes: [{ field: 'metadata.annotations', message: 'Too long: must have at most 262144 bytes' }] } } },
      400,
      /Kubernetes refused creating Job pygeoapi-job-1: metadata\.annotations: Too long: must have at most 262144 bytes/,
    ],
    ['422 without causes', { status: 422, body: { message: 'Job.batch "x" is invalid: spec.template: Required value' } }, 400, /: spec\.template: Required value$/],
    ['403 exceeded quota: 429 with Retry-After', { status: 403, body: { message: 'jobs.batch "x" is forbidden: exceeded quota: jobs, requested: count/jobs.batch=1, used: 10, limited: 10' } }, 429, /resource quota/, { 'retry-after': '60' }],
    ['403 RBAC: 500, no upstream text', { status: 403, body: { message: 'jobs.batch is forbidden: User "system:serviceaccount:x:y" cannot create' } }, 500, /^the server could not complete creating Job/],
    ['409: 409', { status: 409, body: { message: 'Operation cannot be fulfilled' } }, 409, /conflicts with a change/],
    ['429: 503 with the server\'s Retry-After', { status: 429, body: { details: { retryAfterSeconds: 7 } } }, 503, /unavailable/, { 'retry-after': '7' }],
    ['500: 503', { status: 500, body: { message: 'etcdserver: leader changed' } }, 503, /^the Kubernetes API is unavailable while creating/],
    ['504: 504', { status: 504 }, 504, /did not answer in time/],
    ['no answer, timed out: 504', { errorCode: 'ETIMEDOUT' }, 504, /did not answer in time/],
    ['no answer, refused: 503', { errorCode: 'ECONNREFUSED' }, 503, /unavailable/, { 'retry-after': '5' }],
    ['400 from Kubernetes (our bug): 500', { status: 400, body: { message: 'the server rejected our request' } }, 500, /could not complete/],
  ];
  for (const [what, facts, status, message, headers] of cases) {
    const error = describeKubeError(facts, doing);
    t.equal(error.status, status, `${what}: ${status}`);
    t.match(error.message, message, `${what}: message`);
    if (headers) t.match(error.headers, headers, `${what}: headers`);
    if (status >= 500) t.notMatch(error.message, /etcd|serviceaccount|rejected our/, `${what}: no upstream text`);
  }
});

t.test('facts from KubeApiError and network errors', async (t) => {
  const status = (body: KubeStatus, code: number, retryAfter?: number) => new KubeApiError(code, body.message ?? `HTTP ${code}`, body.reason, body, retryAfter);
  const cases: Array<[string, unknown, KubeErrorFacts]> = [
    ['422 with its Status', status({ message: 'm', details: { causes: [{ field: 'f', message: 'bad' }] } }, 422), { status: 422, body: { message: 'm', details: { causes: [{ field: 'f', message: 'bad' }] } } }],
    ['an answer that is not a Status', new KubeApiError(500, '<html>'), { status: 500 }],
    ['429 with Retry-After and no Status', new KubeApiError(429, 'HTTP 429', undefined, undefined, 7), { status: 429, body: { details: { retryAfterSeconds: 7 } } }],
    ['503 with Retry-After in the Status', status({ message: 'later', details: { retryAfterSeconds: 3 } }, 503, 3), { status: 503, body: { message: 'later', details: { retryAfterSeconds: 3 } } }],
    ['connection refused', Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:6443'), { code: 'ECONNREFUSED' }), { errorCode: 'ECONNREFUSED' }],
    ['wrapped network error', Object.assign(new Error('fetch failed'), { cause: { code: 'ETIMEDOUT' } }), { errorCode: 'ETIMEDOUT' }],
    ['our request timeout (AbortError caused by TimeoutError)', Object.assign(new Error('aborted'), { name: 'AbortError', code: 'ABORT_ERR', cause: { name: 'TimeoutError' } }), { errorCode: 'TimeoutError' }],
    ['a TimeoutError', Object.assign(new Error('t'), { name: 'TimeoutError' }), { errorCode: 'TimeoutError' }],
    ['anything else: no answer', new Error('the kubeconfig has no current cluster'), {}],
    ['not even an Error', undefined, {}],
  ];
  for (const [what, error, facts] of cases) t.same(kubeErrorFacts(error), facts, what);
  // Retry-After reaches the client's 503.
  t.match(kubeFailure(new KubeApiError(429, 'HTTP 429', undefined, undefined, 9), 'creating Job x').headers, { 'retry-after': '9' });
  t.equal(kubeFailure(Object.assign(new Error('aborted'), { code: 'ABORT_ERR', cause: { name: 'TimeoutError' } }), 'reading Job x').status, 504);
  const original = new KubeApiError(500, 'boom');
  const mapped = kubeFailure(original, 'reading Job x');
  t.equal(mapped.cause, original, 'the original is kept for the log');
  t.notOk(Object.keys(mapped).includes('cause'), 'but not serialised');
});

t.test('log read failures in plain words', async (t) => {
  const pod = (state: Record<string, unknown>, lastState: Record<string, unknown> = {}) => ({
    metadata: { name: 'p1' },
    status: { containerStatuses: [{ name: 'main', image: 'i', imageID: '', ready: false, restartCount: 0, state, lastState }] },
  });
  const httpError = (code: number) => new KubeApiError(code, `HTTP ${code}`);
  t.equal(logUnavailable(pod({ waiting: { reason: 'ContainerCreating' } }), 'main', httpError(400)), 'container "main" has not started yet (ContainerCreating)');
  t.equal(logUnavailable({ metadata: { name: 'p1' }, status: {} }, 'main', httpError(400)), 'container "main" has not started yet');
  t.equal(logUnavailable(pod({ terminated: { exitCode: 0 } }), 'main', httpError(404)), 'pod p1 no longer exists');
  t.match(logUnavailable(pod({ running: {} }), 'main', httpError(403)), /not allowed to read pod logs/);
  t.equal(logUnavailable(pod({ running: {} }), 'main', httpError(500)), 'the Kubernetes API did not return it; try again later');
});
