/**
 * Which container instance a log read served (issue #15): the decision,
 * case by case. A wrong `proven` archives one instance's bytes as another's.
 */
import t from 'tap';
import { attributeRead, type ReadToAttribute } from '../../controller/instance-attribution.js';
import type { ContainerView } from '../../controller/pod-view.js';

const view = (restartCount: number, ids: { containerID?: string; lastContainerID?: string } = {}): ContainerView => ({
  name: 'main',
  init: false,
  restartCount,
  everStarted: true,
  running: true,
  terminated: false,
  ...ids,
});

// prettier-ignore
const cases: Array<[string, ReadToAttribute, 'proven' | 'replaced']> = [
  ['the anchor line came back: the content proves it, whatever the status says', { mode: 'current', instance: { restartCount: 0 }, anchored: true, after: view(3) }, 'proven'],
  ['anchored, no status at all', { mode: 'previous', instance: { restartCount: 0 }, anchored: true, after: undefined }, 'proven'],
  ['no anchor, the status still names the instance', { mode: 'current', instance: { restartCount: 2, containerID: 'b' }, anchored: false, after: view(2, { containerID: 'b' }) }, 'proven'],
  ['no anchor, the status names no container ID', { mode: 'current', instance: { restartCount: 2, containerID: 'b' }, anchored: false, after: view(2) }, 'proven'],
  ['no anchor, the spool knew no container ID', { mode: 'current', instance: { restartCount: 2 }, anchored: false, after: view(2, { containerID: 'b' }) }, 'proven'],
  ['no anchor, restarted meanwhile (the status moved on)', { mode: 'current', instance: { restartCount: 2 }, anchored: false, after: view(3) }, 'replaced'],
  ['no anchor, same restart count but another container', { mode: 'current', instance: { restartCount: 2, containerID: 'b' }, anchored: false, after: view(2, { containerID: 'c' }) }, 'replaced'],
  ['no anchor, a status older than the spool (not this instance\'s)', { mode: 'current', instance: { restartCount: 2 }, anchored: false, after: view(1) }, 'replaced'],
  ['no anchor, the pod is gone: nothing proves it', { mode: 'current', instance: { restartCount: 0 }, anchored: false, after: undefined }, 'replaced'],
  ['previous, no anchor, the newest is the one right after', { mode: 'previous', instance: { restartCount: 1, containerID: 'a' }, anchored: false, after: view(2, { containerID: 'b', lastContainerID: 'a' }) }, 'proven'],
  ['previous, no anchor, another restart since: "previous" is the next one', { mode: 'previous', instance: { restartCount: 1 }, anchored: false, after: view(3) }, 'replaced'],
  ['previous, no anchor, the instance before is another container', { mode: 'previous', instance: { restartCount: 1, containerID: 'a' }, anchored: false, after: view(2, { lastContainerID: 'x' }) }, 'replaced'],
  ['previous, no anchor, the status does not show the next instance', { mode: 'previous', instance: { restartCount: 1 }, anchored: false, after: view(1) }, 'replaced'],
];

for (const [name, read, expected] of cases) {
  t.test(name, async (t) => {
    t.equal(attributeRead(read), expected);
  });
}
