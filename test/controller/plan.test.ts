import t from 'tap';
import type { V1Pod } from '@kubernetes/client-node';
import { planPod, podFacts, type PodFacts, type PodPlan } from '../../controller/plan.js';

const NOW = new Date('2026-01-01T12:00:00Z');
const secondsAgo = (s: number): Date => new Date(NOW.getTime() - s * 1000);

const base: PodFacts = {
  managed: true,
  hasFinalizer: true,
  archived: false,
  terminal: false,
  capture: 'capturing',
  jobSettled: false,
  archiveConfigured: true,
  now: NOW,
  giveUpSeconds: 3600,
};

type Want = Partial<Omit<PodPlan, 'action'>> & { action: PodPlan['action'] };

const cases: Array<[string, Partial<PodFacts>, Want]> = [
  ['not ours', { managed: false }, { addFinalizer: false, capture: false, action: { kind: 'ignore' } }],
  ['running pod: capture, wait', {}, { addFinalizer: false, capture: true, action: { kind: 'wait', reason: 'pod is running' } }],
  ['running pod without finalizer: add it', { hasFinalizer: false, capture: 'none' }, { addFinalizer: true, capture: true, action: { kind: 'wait', reason: 'pod is running' } }],
  ['ended, capture still reading the tail', { terminal: true, jobSettled: true }, { capture: true, action: { kind: 'wait', reason: 'capturing the last of the logs' } }],
  ['ended, captured, Job settled: archive', { terminal: true, capture: 'complete', jobSettled: true }, { capture: true, action: { kind: 'archive' } }],
  ['ended, captured, Job still running (a retry pod): wait', { terminal: true, capture: 'complete' }, { action: { kind: 'wait', reason: "the Job's outcome is not known yet" } }],
  ['ended, logs lost: archive what there is', { terminal: true, capture: 'incomplete', jobSettled: true }, { action: { kind: 'archive' } }],
  ['ended pod without finalizer: add it too', { terminal: true, hasFinalizer: false, capture: 'complete', jobSettled: true }, { addFinalizer: true, action: { kind: 'archive' } }],
  [
    'deleted while running: keep capturing until it stops',
    { deletionTimestamp: secondsAgo(5) },
    { capture: true, action: { kind: 'wait', reason: 'capturing the last of the logs', recheckAfterMs: 3_595_000 } },
  ],
  ['deleted, capture over, Job not settled: archive anyway', { deletionTimestamp: secondsAgo(5), capture: 'complete' }, { action: { kind: 'archive' } }],
  ['deleted without our finalizer: no finalizer may be added', { deletionTimestamp: secondsAgo(5), hasFinalizer: false, capture: 'complete' }, { addFinalizer: false, action: { kind: 'archive' } }],
  ['captured but not ended and not deleted: wait', { capture: 'complete' }, { action: { kind: 'wait', reason: 'pod has not ended' } }],
  ['archived, finalizer still there: release', { archived: true, terminal: true }, { capture: false, action: { kind: 'release' } }],
  ['archived and released: nothing to do', { archived: true, hasFinalizer: false }, { capture: false, action: { kind: 'ignore' } }],
  ['held past the give-up deadline: give up', { deletionTimestamp: secondsAgo(3600), terminal: true }, { capture: false, action: { kind: 'give-up', heldSeconds: 3600 } }],
  ['give-up 0 means never', { deletionTimestamp: secondsAgo(10 ** 7), terminal: true, giveUpSeconds: 0 }, { action: { kind: 'wait', reason: 'capturing the last of the logs' } }],
  ['not configured: hold, no capture', { archiveConfigured: false }, { addFinalizer: false, capture: false, action: { kind: 'hold' } }],
  ['not configured, no finalizer yet: add it and hold', { archiveConfigured: false, hasFinalizer: false }, { addFinalizer: true, capture: false, action: { kind: 'hold' } }],
  [
    'not configured, deleting: hold until the deadline',
    { archiveConfigured: false, deletionTimestamp: secondsAgo(600) },
    { capture: false, action: { kind: 'hold', recheckAfterMs: 3_000_000 } },
  ],
  ['not configured, past the deadline: give up', { archiveConfigured: false, deletionTimestamp: secondsAgo(4000) }, { action: { kind: 'give-up', heldSeconds: 4000 } }],
  ['not configured, deleting without our finalizer: nothing to hold', { archiveConfigured: false, hasFinalizer: false, deletionTimestamp: secondsAgo(1) }, { action: { kind: 'ignore' } }],
];

t.test('planPod decides from the current state', async (t) => {
  for (const [what, facts, want] of cases) {
    const plan = planPod({ ...base, ...facts });
    t.same(plan.action, want.action, `${what}: action`);
    if (want.addFinalizer !== undefined) t.equal(plan.addFinalizer, want.addFinalizer, `${what}: addFinalizer`);
    if (want.capture !== undefined) t.equal(plan.capture, want.capture, `${what}: capture`);
  }
});

t.test('podFacts reads the pod', async (t) => {
  const pod: V1Pod = {
    metadata: {
      name: 'p',
      finalizers: ['other', 'pygeoapi.io/finalizer-log-retrieval'],
      annotations: { 'pygeoapi.io/log-archive': 'logs/ns/j/p/' },
      deletionTimestamp: new Date('2026-01-01T11:00:00Z'),
    },
    status: { phase: 'Failed' },
  };
  const facts = podFacts(pod, { managed: true, capture: 'complete', jobSettled: true, archiveConfigured: true, now: NOW, giveUpSeconds: 0 });
  t.equal(facts.hasFinalizer, true);
  t.equal(facts.archived, true);
  t.equal(facts.terminal, true);
  t.same(facts.deletionTimestamp, new Date('2026-01-01T11:00:00Z'));
  const plain = podFacts({ metadata: { name: 'q' }, status: { phase: 'Running' } }, { managed: true, capture: 'none', jobSettled: false, archiveConfigured: true, now: NOW, giveUpSeconds: 0 });
  t.equal(plain.hasFinalizer, false);
  t.equal(plain.archived, false);
  t.equal(plain.terminal, false);
  t.equal(plain.deletionTimestamp, undefined);
});
