/** Where the API server gets pod logs from: the node's kubelet. */
import type { ServerResponse } from 'node:http';
import type { KubeObject } from '../types.js';

export interface PodLogSource {
  /** Streams the log selected by the query (container, follow, previous, …) or throws an ApiError. */
  serve(pod: KubeObject, query: URLSearchParams, res: ServerResponse): Promise<void>;
}
