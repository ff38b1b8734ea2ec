/**
 * Reading a watch response: newline-delimited JSON events, handed over one
 * at a time. Bytes are split on newlines as they come, so an event is never
 * held longer than it takes to arrive.
 */
import type { IncomingMessage } from 'node:http';

export interface RawWatchEvent {
  type: string;
  object: unknown;
}

export class WatchProtocolError extends Error {}

function parseEvent(line: string): RawWatchEvent {
  let parsed: unknown;
  try {
    parsed = JSON.parse(line);
  } catch {
    throw new WatchProtocolError(`watch sent a line that is not JSON: ${line.slice(0, 200)}`);
  }
  if (typeof parsed !== 'object' || parsed === null || typeof (parsed as { type?: unknown }).type !== 'string') {
    throw new WatchProtocolError(`watch sent something that is not an event: ${line.slice(0, 200)}`);
  }
  const event = parsed as { type: string; object?: unknown };
  return { type: event.type, object: event.object };
}

/** The events of a watch response, in order; ends when the server ends the response. */
export async function* watchEvents(response: IncomingMessage): AsyncGenerator<RawWatchEvent> {
  let carry = '';
  const decoder = new TextDecoder('utf-8');
  for await (const chunk of response) {
    carry += decoder.decode(chunk as Buffer, { stream: true });
    let newline = carry.indexOf('\n');
    while (newline !== -1) {
      const line = carry.slice(0, newline).trim();
      carry = carry.slice(newline + 1);
      if (line) yield parseEvent(line);
      newline = carry.indexOf('\n');
    }
  }
  const rest = (carry + decoder.decode()).trim();
  if (rest) yield parseEvent(rest);
}
