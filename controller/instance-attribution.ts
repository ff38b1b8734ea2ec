/**
 * Which container instance a log read served (issue #15). The kubelet
 * answers "the current log" (or "the previous") for whatever instance is
 * current when the read arrives, and the pod status the capture acted on
 * can be older than that: a container that crashed and was restarted in
 * between serves the next instance's log. Appending that to the spool of
 * the instance the capture meant would archive one instance's bytes as
 * another's. So a read's bytes are held back until it is attributed:
 *
 * - by its content: the read brought again the line the spool ends with
 *   (the anchor, a nanosecond timestamp). Each instance's lines are stamped
 *   after every line of the one before, so only the spool's own instance
 *   can hold that line; nothing more is needed.
 * - else (the spool had no line yet, or the lines after the anchor are gone)
 *   by the pod status read fresh after the read began: it must still name
 *   the same instance (the restart count the read assumed, and the same
 *   container ID when both are known). The kubelet (and local-cluster)
 *   moves the restart count on when an instance ends, while the next one
 *   waits out its back-off, before its log exists: a status read after the
 *   read began that still names this instance proves the read was its.
 *
 * Anything else is `replaced`: the read's bytes are dropped, nothing is
 * committed, and the instance is read again as `previous` once the pod
 * shows the next one (from its own anchor), the next one as current.
 * Pure.
 */
import type { ContainerView } from './pod-view.js';

/** The instance a spool holds, as the capture knew it when it began the spool. */
export interface SpoolInstance {
  restartCount: number;
  containerID?: string;
}

export type ReadAttribution =
  /** The read served the spool's instance: its bytes are appended. */
  | 'proven'
  /** The read may have served another instance: its bytes are dropped. */
  | 'replaced';

export interface ReadToAttribute {
  /** `current`: a follow or plain read, which serve the newest instance; `previous`: the one before the newest. */
  mode: 'current' | 'previous';
  instance: SpoolInstance;
  /** The read brought the spool's anchor line again before anything newer (false when the spool had none). */
  anchored: boolean;
  /** The container as a pod status read after the read began shows it (undefined: no status to go by). */
  after: ContainerView | undefined;
}

export function attributeRead(read: ReadToAttribute): ReadAttribution {
  if (read.anchored) return 'proven';
  const { after, instance } = read;
  if (!after) return 'replaced';
  // "previous" is the instance before the newest: it is ours while the newest is the one right after ours.
  const newest = read.mode === 'current' ? instance.restartCount : instance.restartCount + 1;
  if (after.restartCount !== newest) return 'replaced';
  const id = read.mode === 'current' ? after.containerID : after.lastContainerID;
  if (instance.containerID !== undefined && id !== undefined && id !== instance.containerID) return 'replaced';
  return 'proven';
}
