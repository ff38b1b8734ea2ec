import t from 'tap';
import { allowedReview, deniedReview, parseAdmissionReview } from '../../webhook/admission-review.js';

const goodRequest = {
  uid: 'u-1',
  kind: { group: 'batch', version: 'v1', kind: 'Job' },
  resource: { group: 'batch', version: 'v1', resource: 'jobs' },
  operation: 'CREATE',
  namespace: 'ns',
  name: 'j',
  object: { metadata: { name: 'j' } },
  oldObject: null,
  dryRun: false,
  userInfo: { username: 'someone' },
};

function review(request: unknown, envelope: Record<string, unknown> = {}): Record<string, unknown> {
  return { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request, ...envelope };
}

t.test('a well-formed review becomes a request', async (t) => {
  const parsed = parseAdmissionReview(review(goodRequest));
  t.same(parsed, {
    kind: 'request',
    request: {
      uid: 'u-1',
      kind: { group: 'batch', version: 'v1', kind: 'Job' },
      operation: 'CREATE',
      namespace: 'ns',
      name: 'j',
      object: { metadata: { name: 'j' } },
      userInfo: { username: 'someone' },
    },
  });
  const anonymous = parseAdmissionReview(review({ ...goodRequest, userInfo: { username: 42 } }));
  t.notOk(anonymous.kind === 'request' && 'userInfo' in anonymous.request, 'a userInfo without a string username is left out');
  const dry = parseAdmissionReview(review({ ...goodRequest, dryRun: true, subResource: 'status' }));
  t.match(dry, { kind: 'request', request: { dryRun: true, subResource: 'status' } });
  const del = parseAdmissionReview(review({ ...goodRequest, operation: 'DELETE', object: null }));
  t.match(del, { kind: 'request', request: { operation: 'DELETE' } });
  t.notOk(del.kind === 'request' && 'object' in del.request, 'a null object is absent');
  t.notOk(del.kind === 'request' && 'oldObject' in del.request, 'a null oldObject is absent');
  const update = parseAdmissionReview(review({ ...goodRequest, operation: 'UPDATE', oldObject: { metadata: { name: 'j', annotations: { a: 'b' } } } }));
  t.match(update, { kind: 'request', request: { operation: 'UPDATE', oldObject: { metadata: { annotations: { a: 'b' } } } } }, 'an update carries the stored object');
});

t.test('not an AdmissionReview at all: rejected (HTTP 400)', async (t) => {
  const cases: Array<[string, unknown, RegExp]> = [
    ['null', null, /JSON object/],
    ['array', [review(goodRequest)], /JSON object/],
    ['string', 'AdmissionReview', /JSON object/],
    ['number', 42, /JSON object/],
    ['no kind', { apiVersion: 'admission.k8s.io/v1', request: goodRequest }, /kind must be "AdmissionReview"/],
    ['other kind', { apiVersion: 'v1', kind: 'Pod' }, /kind must be/],
    ['v1beta1', review(goodRequest, { apiVersion: 'admission.k8s.io/v1beta1' }), /unsupported.*apiVersion/],
    ['no apiVersion', { kind: 'AdmissionReview', request: goodRequest }, /apiVersion/],
  ];
  for (const [what, body, message] of cases) {
    const parsed = parseAdmissionReview(body);
    t.equal(parsed.kind, 'not-a-review', what);
    t.match(parsed.kind === 'not-a-review' ? parsed.message : '', message, what);
  }
});

t.test('malformed requests: a denial that echoes the uid when there is one', async (t) => {
  const cases: Array<[string, unknown, string, RegExp]> = [
    ['no request', undefined, '', /no request/],
    ['request is an array', [goodRequest], '', /no request/],
    ['no uid', { ...goodRequest, uid: undefined }, '', /uid/],
    ['empty uid', { ...goodRequest, uid: '' }, '', /uid/],
    ['numeric uid', { ...goodRequest, uid: 7 }, '', /uid/],
    ['no kind', { ...goodRequest, kind: undefined }, 'u-1', /kind/],
    ['kind as string', { ...goodRequest, kind: 'Job' }, 'u-1', /kind/],
    ['kind without group', { ...goodRequest, kind: { version: 'v1', kind: 'Job' } }, 'u-1', /kind/],
    ['unknown operation', { ...goodRequest, operation: 'PATCH' }, 'u-1', /operation/],
    ['lower-case operation', { ...goodRequest, operation: 'create' }, 'u-1', /operation/],
    ['numeric namespace', { ...goodRequest, namespace: 3 }, 'u-1', /namespace/],
    ['object subResource', { ...goodRequest, subResource: {} }, 'u-1', /subResource/],
    ['string dryRun', { ...goodRequest, dryRun: 'true' }, 'u-1', /dryRun/],
    ['CREATE without object', { ...goodRequest, object: undefined }, 'u-1', /CREATE/],
    ['CREATE with a string object', { ...goodRequest, object: 'x' }, 'u-1', /CREATE/],
  ];
  for (const [what, request, uid, message] of cases) {
    const parsed = parseAdmissionReview(review(request));
    t.match(parsed, { kind: 'malformed', uid, message }, what);
    if (parsed.kind !== 'malformed') continue;
    const answer = deniedReview(parsed.uid, parsed.message);
    t.same(answer, {
      apiVersion: 'admission.k8s.io/v1',
      kind: 'AdmissionReview',
      response: { uid, allowed: false, status: { code: 400, message: parsed.message } },
    }, `${what}: denial`);
  }
});

t.test('allowed answers carry the patch only when there is one', async (t) => {
  const empty = allowedReview('u', { patch: [], warnings: [] });
  t.same(empty, { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response: { uid: 'u', allowed: true } });

  const patch = [{ op: 'add' as const, path: '/metadata/labels/a~1b', value: 'é' }];
  const patched = allowedReview('u', { patch, warnings: ['w'] });
  t.equal(patched.response.patchType, 'JSONPatch');
  t.same(JSON.parse(Buffer.from(patched.response.patch ?? '', 'base64').toString('utf8')), patch, 'base64 of the JSON patch');
  t.same(patched.response.warnings, ['w']);

  const warnOnly = allowedReview('u', { patch: [], warnings: ['w'] });
  t.notOk('patch' in warnOnly.response || 'patchType' in warnOnly.response);
  t.same(warnOnly.response.warnings, ['w']);
});
