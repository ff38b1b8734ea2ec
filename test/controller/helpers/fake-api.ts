/**
 * A stand-in for KubeHttp in the controller's unit tests: lists answered from
 * a table, watches as streams the test writes events into, single GETs from
 * a table of objects or HTTP codes, every request recorded.
 */
import { PassThrough } from 'node:stream';
import { KubeApiError, type KubeHttp, type KubeRequest } from '../../../lib/kube/http.js';

export class FakeApi {
  /** Collection path → items of its list. */
  readonly lists = new Map<string, unknown[]>();
  /** Object path → the object, or the HTTP code the server answers with (or a function giving either, asked at each read). */
  readonly objects = new Map<string, unknown>();
  /** Collection path → the open watch stream. */
  readonly watches = new Map<string, PassThrough>();
  /** `METHOD path` of every request and stream, in order. */
  readonly calls: string[] = [];
  /** Every stream handed out that is not a watch (pods/log), in order. */
  readonly logStreams: PassThrough[] = [];
  /** Answers streams that are not watches (pods/log); default: an open stream that ends when aborted. */
  logStream: (options: KubeRequest) => PassThrough = () => new PassThrough();
  private version = 1;

  http(): KubeHttp {
    return {
      request: (options: KubeRequest) => this.request(options),
      stream: (options: KubeRequest) => this.stream(options),
      close: () => undefined,
    } as unknown as KubeHttp;
  }

  /** Sends a watch event on the collection's open watch. */
  event(collection: string, type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'ERROR', object: unknown): void {
    const watch = this.watches.get(collection);
    if (!watch) throw new Error(`no watch open on ${collection}`);
    watch.write(`${JSON.stringify({ type, object })}\n`);
  }

  private async request(options: KubeRequest): Promise<unknown> {
    this.calls.push(`${options.method ?? 'GET'} ${options.path}`);
    const items = this.lists.get(options.path);
    if (items) return { metadata: { resourceVersion: String(this.version++) }, items };
    const entry = this.objects.get(options.path);
    const found: unknown = typeof entry === 'function' ? (entry as () => unknown)() : entry;
    if (typeof found === 'number') throw new KubeApiError(found, `HTTP ${found}`);
    if (found === undefined) throw new KubeApiError(404, `${options.path} not found`, 'NotFound');
    return found;
  }

  private async stream(options: KubeRequest): Promise<PassThrough> {
    this.calls.push(`STREAM ${options.path}${options.query?.watch ? ' (watch)' : ''}`);
    const stream = options.query?.watch ? new PassThrough() : this.logStream(options);
    if (options.query?.watch) this.watches.set(options.path, stream);
    else this.logStreams.push(stream);
    const end = (): void => {
      stream.destroy(new Error('aborted'));
    };
    if (options.signal?.aborted) end();
    else options.signal?.addEventListener('abort', end, { once: true });
    return stream;
  }
}
