/**
 * Reading what the controller archived: job records (so jobs stay visible
 * after their Kubernetes objects are gone), log objects and large results.
 */
import { GetObjectCommand, ListObjectsV2Command, NoSuchKey, type GetObjectCommandOutput, type S3Client } from '@aws-sdk/client-s3';
import type { Readable } from 'node:stream';
import { jobRecordKey, resultValueKey, type JobRecord } from './layout.js';

export interface ArchiveLocation {
  s3: S3Client;
  bucket: string;
  prefix: string;
  namespace: string;
}

/** Whether an S3 error means the object is not there (the SDK names it in several ways). */
export function isMissing(error: unknown): boolean {
  const e = error as { name?: string; $metadata?: { httpStatusCode?: number } };
  return error instanceof NoSuchKey || e.name === 'NoSuchKey' || e.name === 'NotFound' || e.$metadata?.httpStatusCode === 404;
}

/** An object of the bucket, or undefined when it is not there. */
export async function getObject(at: { s3: S3Client; bucket: string }, key: string): Promise<GetObjectCommandOutput | undefined> {
  try {
    return await at.s3.send(new GetObjectCommand({ Bucket: at.bucket, Key: key }));
  } catch (error) {
    if (isMissing(error)) return undefined;
    throw error;
  }
}

/** An object of the bucket as UTF-8 text, or undefined when it is not there. */
export async function readText(at: { s3: S3Client; bucket: string }, key: string): Promise<string | undefined> {
  return (await getObject(at, key))?.Body!.transformToString('utf8');
}

export class ArchiveReader {
  constructor(private readonly at: ArchiveLocation) {}

  async jobRecord(jobName: string): Promise<JobRecord | undefined> {
    const text = await this.text(jobRecordKey(this.at.prefix, this.at.namespace, jobName));
    if (text === undefined) return undefined;
    return JSON.parse(text) as JobRecord;
  }

  /** Every archived job record of the namespace. */
  async allJobRecords(): Promise<JobRecord[]> {
    const keys: string[] = [];
    let token: string | undefined;
    do {
      const page = await this.at.s3.send(
        new ListObjectsV2Command({ Bucket: this.at.bucket, Prefix: `${this.at.prefix}${this.at.namespace}/`, ContinuationToken: token }),
      );
      for (const o of page.Contents ?? []) if (o.Key?.endsWith('/job.json')) keys.push(o.Key);
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    const records: JobRecord[] = [];
    for (const key of keys) {
      const text = await this.text(key);
      if (text !== undefined) records.push(JSON.parse(text) as JobRecord);
    }
    return records;
  }

  async resultValue(jobName: string): Promise<string | undefined> {
    return this.text(resultValueKey(this.at.prefix, this.at.namespace, jobName));
  }

  async stream(key: string): Promise<Readable | undefined> {
    return (await getObject(this.at, key))?.Body as Readable | undefined;
  }

  private text(key: string): Promise<string | undefined> {
    return readText(this.at, key);
  }
}
