/**
 * The pods/log endpoint, answered from the kubelet's log files with the
 * query parameters and errors of the real one.
 */
import type { ServerResponse } from 'node:http';
import { pipeline } from 'node:stream/promises';
import { badRequest, notFound } from '../api-server/errors.js';
import { POD } from '../api-server/resources.js';
import { isRecord, type KubeObject } from '../api-server/types.js';
import type { PodLogSource } from '../api-server/http/pod-logs.js';
import { queryBool } from '../api-server/http/query.js';
import { parseTimeNs } from './log-file.js';
import { readLog } from './log-reader.js';
import type { Kubelet } from './kubelet.js';

function intOf(query: URLSearchParams, name: string, min: number): number | undefined {
  const raw = query.get(name);
  if (raw === null || raw === '') return undefined;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min) throw badRequest(`PodLogOptions "${name}" is invalid: must be an integer greater than or equal to ${min}`);
  return n;
}

function waitingReason(pod: KubeObject, container: string): string | undefined {
  const status = isRecord(pod.status) ? pod.status : {};
  const all = [...(Array.isArray(status.initContainerStatuses) ? status.initContainerStatuses : []), ...(Array.isArray(status.containerStatuses) ? status.containerStatuses : [])];
  const found = all.find((c) => isRecord(c) && c.name === container);
  if (!isRecord(found) || !isRecord(found.state)) return 'ContainerCreating';
  return isRecord(found.state.waiting) ? String(found.state.waiting.reason ?? 'ContainerCreating') : undefined;
}

export function kubeletLogSource(kubelet: Kubelet): PodLogSource {
  return {
    async serve(pod, query, res: ServerResponse) {
      const name = pod.metadata.name ?? '';
      const worker = kubelet.worker(pod);
      const spec = isRecord(pod.spec) ? pod.spec : {};
      const names = (field: string): string[] =>
        (Array.isArray(spec[field]) ? spec[field] : []).filter(isRecord).map((c: Record<string, unknown>) => String(c.name));
      const init = names('initContainers');
      const main = names('containers');
      let container = query.get('container') ?? '';
      if (!container) {
        if (main.length !== 1) {
          throw badRequest(`a container name must be specified for pod ${name}, choose one of: [${main.join(' ')}]${init.length ? ` or one of the init containers: [${init.join(' ')}]` : ''}`);
        }
        container = main[0]!;
      }
      if (!init.includes(container) && !main.includes(container)) throw badRequest(`container ${container} is not valid for pod ${name}`);
      const previous = queryBool(query, 'previous') === true;
      if (!worker || worker.containersRemoved) {
        // The node no longer has the pod's containers (removed after deletion, or never ran here).
        if (!worker && !previous && waitingReason(pod, container) !== undefined) {
          throw badRequest(`container "${container}" in pod "${name}" is waiting to start: ${waitingReason(pod, container) ?? ''}`);
        }
        throw notFound(POD, `${name}`);
      }
      const { file } = worker.logFor(container, previous);
      if (!file) {
        if (previous) throw badRequest(`previous terminated container "${container}" in pod "${name}" not found`);
        throw badRequest(`container "${container}" in pod "${name}" is waiting to start: ${waitingReason(pod, container) ?? 'ContainerCreating'}`);
      }
      const sinceTime = query.get('sinceTime');
      const sinceSeconds = intOf(query, 'sinceSeconds', 1);
      let sinceNs: bigint | undefined;
      if (sinceTime) {
        sinceNs = parseTimeNs(sinceTime);
        if (sinceNs === undefined) throw badRequest(`PodLogOptions "sinceTime" is invalid: "${sinceTime}" is not RFC 3339`);
      } else if (sinceSeconds !== undefined) sinceNs = BigInt(Date.now() - sinceSeconds * 1000) * 1_000_000n;
      const stream = readLog(file, {
        follow: queryBool(query, 'follow') === true,
        timestamps: queryBool(query, 'timestamps') === true,
        sinceNs,
        tailLines: intOf(query, 'tailLines', 0),
        limitBytes: intOf(query, 'limitBytes', 1),
      });
      res.writeHead(200, { 'content-type': 'text/plain', 'transfer-encoding': 'chunked' });
      res.flushHeaders();
      await pipeline(stream, res).catch(() => undefined);
    },
  };
}
