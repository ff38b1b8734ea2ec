/**
 * The S3 client for the log archive. Custom endpoints (MinIO, Garage, OTC
 * OBS, s3rver) get path-style addressing and checksums only when required:
 * several S3-compatible stores corrupt or reject streamed uploads that carry
 * the SDK's default trailing checksums.
 */
import { S3Client } from '@aws-sdk/client-s3';
import type { BucketSettings, SecretSettings } from '../config/types.js';

export function createS3Client(bucket: BucketSettings, secrets: SecretSettings): S3Client {
  return new S3Client({
    region: bucket.region,
    ...(bucket.endpoint ? { endpoint: bucket.endpoint } : {}),
    forcePathStyle: bucket.forcePathStyle,
    requestChecksumCalculation: bucket.checksums,
    responseChecksumValidation: bucket.checksums,
    ...(bucket.accessKeyId && secrets.bucketSecret
      ? { credentials: { accessKeyId: bucket.accessKeyId, secretAccessKey: secrets.bucketSecret } }
      : {}),
  });
}

/**
 * Names of the bucket variables that are missing; the archive is off until
 * all are set. The endpoint is optional: without it, AWS S3 is used.
 */
export function missingBucketSettings(bucket: BucketSettings, secrets: SecretSettings): string[] {
  const missing: string[] = [];
  if (!bucket.accessKeyId) missing.push('PYGEOAPI_K8S_MANAGER_FINALIZER_BUCKET_KEY');
  if (!secrets.bucketSecret) missing.push('PYGEOAPI_K8S_MANAGER_FINALIZER_BUCKET_SECRET');
  if (!bucket.name) missing.push('PYGEOAPI_K8S_MANAGER_FINALIZER_BUCKET_NAME');
  return missing;
}
