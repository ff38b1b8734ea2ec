/** The access decisions of every mode, as a table. */
import t from 'tap';
import { ACTIONS, decideAccess, rbacCheckFor, roleGrant, visibleTo, type Action, type Grant, type JobFacts, type Principal } from '../../../api/auth/access.js';

const alice: Principal = { subject: 'alice', role: 'user' };
const olga: Principal = { subject: 'olga', role: 'operator' };
const ownJob: JobFacts = { owner: 'alice', labelled: true, dismissible: true };
const bobsJob: JobFacts = { owner: 'bob', labelled: true, dismissible: true };
const ownerless: JobFacts = { labelled: true, dismissible: true };
const kubectlUnlabelled: JobFacts = { owner: 'alice', labelled: false, dismissible: true };
const notDismissible: JobFacts = { owner: 'alice', labelled: true, dismissible: false };

type Row = [string, Principal | undefined, Action, JobFacts | undefined, number | 'allow'];
const rows: Row[] = [
  ['anonymous, any action', undefined, 'status', ownJob, 401],
  ['anonymous, execute', undefined, 'execute', undefined, 401],
  ['user executes', alice, 'execute', undefined, 'allow'],
  ['user lists', alice, 'list', undefined, 'allow'],
  ['user reads own status', alice, 'status', ownJob, 'allow'],
  ['user reads own results', alice, 'results', ownJob, 'allow'],
  ['user dismisses own', alice, 'dismiss', ownJob, 'allow'],
  ["user reads another's status", alice, 'status', bobsJob, 404],
  ["user reads another's results", alice, 'results', bobsJob, 404],
  ["user dismisses another's", alice, 'dismiss', bobsJob, 404],
  ['user reads an ownerless job', alice, 'status', ownerless, 404],
  ['user reads own logs: operators only', alice, 'logs', ownJob, 403],
  ["user reads another's logs: 403, the same as for any id", alice, 'logs', bobsJob, 403],
  ['user dismisses an unlabelled Job', alice, 'dismiss', kubectlUnlabelled, 403],
  ['user dismisses a job whose process does not allow it', alice, 'dismiss', notDismissible, 403],
  ['operator reads any status', olga, 'status', bobsJob, 'allow'],
  ['operator reads ownerless', olga, 'status', ownerless, 'allow'],
  ['operator reads logs', olga, 'logs', bobsJob, 'allow'],
  ['operator dismisses any', olga, 'dismiss', bobsJob, 'allow'],
  ['operator cannot dismiss an unlabelled Job', olga, 'dismiss', kubectlUnlabelled, 403],
  ['operator cannot dismiss where the process forbids it', olga, 'dismiss', notDismissible, 403],
];

for (const [what, principal, action, job, expected] of rows) {
  t.test(what, async (t) => {
    const grant: Grant = principal?.role ? roleGrant(principal.role, action) : { mayDo: false, seesAll: false };
    const decision = decideAccess(principal, grant, action, job);
    if (expected === 'allow') t.same(decision, { allow: true });
    else {
      t.equal(decision.allow, false);
      if (!decision.allow) {
        t.equal(decision.status, expected);
        t.ok(decision.reason.length > 0, decision.reason);
      }
    }
  });
}

t.test('kubernetes mode: the grant comes from RBAC', async (t) => {
  const sa: Principal = { subject: 'system:serviceaccount:team:runner', groups: ['system:serviceaccounts'] };
  t.same(decideAccess(sa, { mayDo: false, seesAll: false }, 'status', ownJob), { allow: false, status: 403, reason: 'system:serviceaccount:team:runner may not read job status' });
  t.same(decideAccess(sa, { mayDo: true, seesAll: false }, 'status', { ...ownJob, owner: sa.subject }), { allow: true });
  t.match(decideAccess(sa, { mayDo: true, seesAll: false }, 'status', bobsJob), { status: 404 });
  t.same(decideAccess(sa, { mayDo: true, seesAll: true }, 'status', bobsJob), { allow: true });
});

t.test('visibility', async (t) => {
  t.ok(visibleTo('alice', { mayDo: true, seesAll: false }, 'alice'));
  t.notOk(visibleTo('alice', { mayDo: true, seesAll: false }, 'bob'));
  t.notOk(visibleTo('alice', { mayDo: true, seesAll: false }, undefined), 'no owner: nobody but those who see all');
  t.ok(visibleTo('alice', { mayDo: true, seesAll: true }, undefined));
});

t.test('every action maps to the RBAC check kubectl would need', async (t) => {
  t.same(
    Object.fromEntries(ACTIONS.map((a) => [a, rbacCheckFor(a)])),
    {
      execute: { verb: 'create', group: 'batch', resource: 'jobs' },
      list: { verb: 'list', group: 'batch', resource: 'jobs' },
      status: { verb: 'get', group: 'batch', resource: 'jobs' },
      results: { verb: 'get', group: 'batch', resource: 'jobs' },
      logs: { verb: 'get', group: '', resource: 'pods', subresource: 'log' },
      dismiss: { verb: 'delete', group: 'batch', resource: 'jobs' },
    },
  );
});
