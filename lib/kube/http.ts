/**
 * A thin HTTP client for the Kubernetes API on top of a KubeAccess (a
 * client-node KubeConfig or kube-access.ts's reading of one: server, TLS
 * material and credentials). It
 * exists because watches and log streams need what client-node's helpers do
 * not give: cancellation, backpressure and every error surfaced. Plain JSON
 * calls use it too, so all API traffic shares one keep-alive agent and one
 * error type.
 */
import http, { type IncomingMessage } from 'node:http';
import https from 'node:https';
import type { KubeAccess } from './kube-access.js';

/** The metav1.Status body the API server sends with errors. */
export interface KubeStatus {
  kind?: string;
  status?: string;
  code?: number;
  reason?: string;
  message?: string;
  details?: { retryAfterSeconds?: number; [key: string]: unknown };
}

export class KubeApiError extends Error {
  constructor(
    readonly code: number,
    message: string,
    readonly reason?: string,
    readonly status?: KubeStatus,
    /** From the Retry-After header or the Status details (429, 503), when the server said. */
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
    this.name = 'KubeApiError';
  }
}

/** True for an API error with one of the given HTTP codes. */
export function isApiError(error: unknown, ...codes: number[]): error is KubeApiError {
  return error instanceof KubeApiError && (codes.length === 0 || codes.includes(error.code));
}

/** Content types of the patches the API server takes. */
export const PATCH_TYPES = {
  json: 'application/json-patch+json',
  merge: 'application/merge-patch+json',
} as const;

/** A key (an annotation name, say) as one segment of a JSON Pointer (RFC 6901), for JSON patch paths. */
export function pointerSegment(key: string): string {
  return key.replace(/~/g, '~0').replace(/\//g, '~1');
}

export type Query = Record<string, string | number | boolean | undefined>;

export interface KubeRequest {
  method?: string;
  /** API path, e.g. `/api/v1/namespaces/ns/pods`. */
  path: string;
  query?: Query;
  body?: unknown;
  /** Content type of the body; JSON by default (patches name their type). */
  contentType?: string;
  signal?: AbortSignal;
  /** For JSON calls: the whole exchange; for streams: until the response headers. Default 30 s. */
  timeoutMs?: number;
}

const DEFAULT_TIMEOUT_MS = 30_000;

interface Connection {
  server: URL;
  headers: Record<string, string>;
  agent: http.Agent;
}

function headerValue(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (typeof value === 'number') return String(value);
  if (Array.isArray(value)) return value.map(String).join(', ');
  return undefined;
}

/** TLS material as a comparable string, so the agent is rebuilt only when it changes (rotated client certs). */
function tlsFingerprint(opts: https.RequestOptions): string {
  const part = (v: unknown): string => (Buffer.isBuffer(v) ? v.toString('base64') : typeof v === 'string' ? v : '');
  return [part(opts.ca), part(opts.cert), part(opts.key), String(opts.rejectUnauthorized), String(opts.servername)].join('|');
}

export class KubeHttp {
  private agent: http.Agent | undefined;
  private agentFingerprint = '';

  constructor(private readonly kubeConfig: KubeAccess) {}

  /** A JSON request; resolves with the parsed body, rejects with KubeApiError for non-2xx answers. */
  async request<T = unknown>(options: KubeRequest): Promise<T> {
    const timeout = AbortSignal.timeout(options.timeoutMs ?? DEFAULT_TIMEOUT_MS);
    const signal = options.signal ? AbortSignal.any([options.signal, timeout]) : timeout;
    const response = await this.send({ ...options, signal });
    const text = await readAll(response);
    if (text.trim() === '') return undefined as T;
    return JSON.parse(text) as T;
  }

  /**
   * A streaming GET (watch, pods/log): resolves with the response once a 2xx
   * status arrived; the caller reads it and destroys it (or aborts `signal`)
   * to end it.
   */
  async stream(options: KubeRequest): Promise<IncomingMessage> {
    const headersTimeout = new AbortController();
    const timer = setTimeout(() => headersTimeout.abort(new Error('timed out waiting for response headers')), options.timeoutMs ?? DEFAULT_TIMEOUT_MS);
    const signal = options.signal ? AbortSignal.any([options.signal, headersTimeout.signal]) : headersTimeout.signal;
    try {
      return await this.send({ ...options, signal }, options.signal);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Destroys idle keep-alive sockets (for a clean shutdown). */
  close(): void {
    this.agent?.destroy();
    this.agent = undefined;
  }

  private async connection(): Promise<Connection> {
    const cluster = this.kubeConfig.getCurrentCluster();
    if (!cluster) throw new Error('the kubeconfig has no current cluster');
    const opts: https.RequestOptions = {};
    // Resolves credentials (tokens, exec plugins, client certificates) afresh for each request, as client-node does.
    await this.kubeConfig.applyToHTTPSOptions(opts);
    const headers: Record<string, string> = {};
    for (const [key, value] of Object.entries(opts.headers ?? {})) {
      const v = headerValue(value);
      if (v !== undefined) headers[key.toLowerCase()] = v;
    }
    if (opts.auth) headers.authorization = `Basic ${Buffer.from(opts.auth).toString('base64')}`;
    const server = new URL(cluster.server);
    let agent: http.Agent;
    if (cluster.proxyUrl) {
      // Proxy agents come from client-node; no pooling of our own then.
      agent = opts.agent as http.Agent;
    } else {
      const fingerprint = tlsFingerprint(opts);
      if (!this.agent || fingerprint !== this.agentFingerprint) {
        this.agent?.destroy();
        this.agent =
          server.protocol === 'http:'
            ? new http.Agent({ keepAlive: true })
            : new https.Agent({
                keepAlive: true,
                ca: opts.ca,
                cert: opts.cert,
                key: opts.key,
                ...(opts.rejectUnauthorized !== undefined ? { rejectUnauthorized: opts.rejectUnauthorized } : {}),
                ...(opts.servername ? { servername: opts.servername } : {}),
              });
        this.agentFingerprint = fingerprint;
      }
      agent = this.agent;
    }
    return { server, headers, agent };
  }

  /** Sends the request; resolves with a 2xx response, else reads the Status body and rejects. */
  private async send(options: KubeRequest, bodySignal?: AbortSignal): Promise<IncomingMessage> {
    const { server, headers, agent } = await this.connection();
    const url = new URL(server.toString().replace(/\/$/, '') + options.path);
    for (const [key, value] of Object.entries(options.query ?? {})) {
      if (value !== undefined) url.searchParams.set(key, String(value));
    }
    let payload: Buffer | undefined;
    if (options.body !== undefined) {
      payload = Buffer.from(typeof options.body === 'string' ? options.body : JSON.stringify(options.body));
      headers['content-type'] = options.contentType ?? 'application/json';
      headers['content-length'] = String(payload.length);
    }
    headers.accept ??= 'application/json, */*';
    const transport = url.protocol === 'http:' ? http : https;
    const response = await new Promise<IncomingMessage>((resolve, reject) => {
      const req = transport.request(url, { method: options.method ?? 'GET', headers, agent, signal: options.signal }, resolve);
      req.on('error', reject);
      req.end(payload);
    });
    // Streams outlive the headers timeout; from here only the caller's own signal ends them.
    if (bodySignal) {
      const abort = (): void => {
        response.destroy(new Error('aborted'));
      };
      if (bodySignal.aborted) abort();
      else bodySignal.addEventListener('abort', abort, { once: true });
      response.once('close', () => bodySignal.removeEventListener('abort', abort));
    }
    const code = response.statusCode ?? 0;
    if (code >= 200 && code < 300) return response;
    const text = await readAll(response).catch(() => '');
    throw errorFrom(code, text, response.headers['retry-after']);
  }
}

async function readAll(response: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of response) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function errorFrom(code: number, text: string, retryAfter: string | string[] | undefined): KubeApiError {
  let status: KubeStatus | undefined;
  try {
    const parsed: unknown = JSON.parse(text);
    if (typeof parsed === 'object' && parsed !== null) status = parsed as KubeStatus;
  } catch {
    // Not a Status (a proxy's error page, say): keep the text as the message.
  }
  const header = Array.isArray(retryAfter) ? retryAfter[0] : retryAfter;
  const seconds = header !== undefined && header.trim() !== '' ? Number(header) : NaN;
  if (status && Number.isFinite(seconds) && status.details?.retryAfterSeconds === undefined) {
    status.details = { ...status.details, retryAfterSeconds: seconds };
  }
  const retryAfterSeconds = Number.isFinite(seconds) ? seconds : status?.details?.retryAfterSeconds;
  const message = status?.message ?? (text.trim().slice(0, 500) || `HTTP ${code}`);
  return new KubeApiError(code, message, status?.reason, status, retryAfterSeconds);
}
