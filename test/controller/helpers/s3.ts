/**
 * s3rver for the controller tests: started on a free port in a temp dir
 * with the archive bucket, stoppable and restartable on the same port and
 * dir (an S3 outage), read back with a plain SDK client, optionally behind
 * a bandwidth-limiting proxy (so an upload is slow enough to interrupt).
 */
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { GetObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import S3rver from 's3rver';
import { patchS3rverListing } from '../../../cmd/local/s3rver-listing.js';
import { patchS3rverMultipart } from '../../../cmd/local/s3rver-multipart.js';
import { patchS3rverPut } from '../../../cmd/local/s3rver-put.js';

export const BUCKET = 'archive';
export const S3_KEY = 'S3RVER';
export const S3_SECRET = 'S3RVER';

export interface TestS3 {
  endpoint: string;
  port: number;
  directory: string;
  client: S3Client;
  /** Stops the server (the port stays reserved for restart()). */
  stop(): Promise<void>;
  restart(): Promise<void>;
  get(key: string): Promise<Buffer | undefined>;
  keys(prefix?: string): Promise<string[]>;
  /** Parts stored so far by multipart uploads in progress whose key starts with `prefix`. */
  storedParts(prefix: string): Promise<number>;
  close(): Promise<void>;
}

export interface Teardown {
  teardown(fn: () => unknown): void;
}

/** A client of the embedded S3 at `endpoint`, set up as the manager's is for a custom endpoint (checksums only when required). */
export function testS3Client(endpoint: string): S3Client {
  return new S3Client({
    endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: S3_KEY, secretAccessKey: S3_SECRET },
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
}

export async function startTestS3(t: Teardown): Promise<TestS3> {
  patchS3rverListing();
  patchS3rverMultipart();
  patchS3rverPut();
  const directory = await mkdtemp(path.join(os.tmpdir(), 'controller-s3-'));
  let server: S3rver | undefined = new S3rver({ address: '127.0.0.1', port: 0, silent: true, directory, configureBuckets: [{ name: BUCKET }] });
  const { port } = await server.run();
  const endpoint = `http://127.0.0.1:${port}`;
  const client = testS3Client(endpoint);
  const s3: TestS3 = {
    endpoint,
    port,
    directory,
    client,
    stop: async () => {
      await server?.close();
      server = undefined;
    },
    restart: async () => {
      server = new S3rver({ address: '127.0.0.1', port, silent: true, directory });
      await server.run();
    },
    get: async (key) => {
      try {
        const response = await client.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
        return Buffer.from(await response.Body!.transformToByteArray());
      } catch (error) {
        if ((error as { name?: string }).name === 'NoSuchKey') return undefined;
        throw error;
      }
    },
    keys: async (prefix = '') => {
      const keys: string[] = [];
      let token: string | undefined;
      do {
        const page = await client.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: prefix, ContinuationToken: token }));
        keys.push(...(page.Contents ?? []).map((o) => o.Key!));
        token = page.IsTruncated ? page.NextContinuationToken : undefined;
      } while (token);
      return keys.sort();
    },
    storedParts: async (prefix) => {
      // s3rver keeps an unfinished upload in <bucket>/._S3rver_uploads/<id>/: its key in `key`, parts as <n> and <n>.md5 once written.
      const files = await readdir(path.join(directory, BUCKET), { recursive: true }).catch(() => [] as string[]);
      let parts = 0;
      for (const keyFile of files.filter((f) => /_uploads\/[^/]+\/key$/.test(f))) {
        const upload = path.dirname(keyFile);
        const key = await readFile(path.join(directory, BUCKET, keyFile), 'utf8').catch(() => '');
        if (key.startsWith(prefix)) parts += files.filter((f) => f.startsWith(`${upload}/`) && /\/\d+\.md5$/.test(f)).length;
      }
      return parts;
    },
    close: async () => {
      await server?.close().catch(() => undefined);
      client.destroy();
      await rm(directory, { recursive: true, force: true });
    },
  };
  t.teardown(() => s3.close());
  return s3;
}

/** A TCP proxy to `target` that lets at most `bytesPerSecond` through towards it. */
export async function throttlingProxy(t: Teardown, targetPort: number, bytesPerSecond: number): Promise<{ endpoint: string }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect(targetPort, '127.0.0.1');
    sockets.add(client).add(upstream);
    const closeBoth = (): void => {
      client.destroy();
      upstream.destroy();
    };
    client.on('error', closeBoth).on('close', closeBoth);
    upstream.on('error', closeBoth).on('close', closeBoth);
    upstream.pipe(client);
    client.on('data', (chunk: Buffer) => {
      upstream.write(chunk);
      // Pause long enough for the chunk to fit the rate.
      client.pause();
      setTimeout(() => client.resume(), (chunk.length / bytesPerSecond) * 1000);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(
    () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  );
  const { port } = server.address() as net.AddressInfo;
  return { endpoint: `http://127.0.0.1:${port}` };
}
