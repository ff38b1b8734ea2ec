/**
 * The embedded S3 of `k8s-job-manager local`: s3rver storing objects as files
 * under the state folder, so archived logs can be looked at directly.
 */
import S3rver from 's3rver';
import { patchS3rverListing } from './s3rver-listing.js';
import { patchS3rverMultipart } from './s3rver-multipart.js';
import { patchS3rverPut } from './s3rver-put.js';

/** s3rver's built-in account (it checks request signatures against it). */
export const EMBEDDED_S3_CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };

export interface EmbeddedS3 {
  endpoint: string;
  bucket: string;
  directory: string;
  stop(): Promise<void>;
}

export async function startEmbeddedS3(options: { directory: string; bucket: string; port?: number }): Promise<EmbeddedS3> {
  // Without it, listing past one page (1 000 keys) fails on Node ≥ 17.
  patchS3rverListing();
  // Without it, a multipart object's ETag is the whole content's MD5 (S3 gives the parts' form).
  patchS3rverMultipart();
  patchS3rverPut();
  const server = new S3rver({
    address: '127.0.0.1',
    port: options.port ?? 0,
    silent: true,
    directory: options.directory,
    configureBuckets: [{ name: options.bucket }],
  });
  const { port } = await server.run();
  return { endpoint: `http://127.0.0.1:${port}`, bucket: options.bucket, directory: options.directory, stop: () => server.close() };
}
