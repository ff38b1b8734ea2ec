import t from 'tap';
import { callbackDue, parseSent, parseSubscriber } from '../../api/callbacks/plan.js';

const all = { successUri: 'http://s/ok', inProgressUri: 'http://s/progress', failedUri: 'http://s/failed' };

t.test('one callback per state, to the URI for it', async (t) => {
  const cases: Array<[string, Parameters<typeof callbackDue>[0], string[], ReturnType<typeof callbackDue>]> = [
    ['accepted', 'accepted', [], { state: 'accepted', uri: all.inProgressUri, body: 'status' }],
    ['running', 'running', ['accepted'], { state: 'running', uri: all.inProgressUri, body: 'status' }],
    ['running again', 'running', ['accepted', 'running'], undefined],
    ['successful', 'successful', ['accepted'], { state: 'successful', uri: all.successUri, body: 'results' }],
    ['failed', 'failed', [], { state: 'failed', uri: all.failedUri, body: 'status' }],
    ['dismissed', 'dismissed', [], { state: 'dismissed', uri: all.failedUri, body: 'status' }],
    ['successful sent', 'successful', ['successful'], undefined],
  ];
  for (const [what, status, sent, want] of cases) t.same(callbackDue(status, all, new Set(sent)), want, what);
  t.equal(callbackDue('running', { successUri: all.successUri }, new Set()), undefined, 'no inProgressUri, nothing for running');
});

t.test('subscriber and sent annotations are read defensively', async (t) => {
  t.same(parseSubscriber(JSON.stringify(all)), all);
  t.equal(parseSubscriber('{not json'), undefined);
  t.same(parseSubscriber(JSON.stringify({ successUri: 'ftp://x' })), { successUri: 'ftp://x' }, 'kept, so the sender can refuse it with an Event');
  t.equal(parseSubscriber(JSON.stringify({ successUri: 7, failedUri: '' })), undefined, 'only non-empty texts');
  t.equal(parseSubscriber(undefined), undefined);
  t.same([...parseSent(' accepted, running ,')], ['accepted', 'running']);
  t.same([...parseSent(undefined)], []);
});
