/**
 * s3rver 3.7.1 (the last release; its fork needs Node ≥ 24 and keeps the
 * same code) encrypts ListObjectsV2 continuation tokens with single DES,
 * which OpenSSL 3 — and so Node ≥ 17 — refuses (ERR_OSSL_EVP_UNSUPPORTED):
 * every listing that needs a second page answers InternalError.
 *
 * The narrowest fix that leaves the process's crypto alone: wrap s3rver's
 * exported GET-bucket handler (its router looks it up on the module at each
 * request). A ListObjectsV2 request is answered by s3rver's own V1 listing
 * (`marker`, which needs no token), and the answer is put back into V2 form
 * with a token of ours: the bucket and the last key, base64url-encoded.
 * Tokens are opaque to clients, as S3 promises; ours are merely not secret,
 * which s3rver's fixed-key DES was not either.
 */
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

type Query = Record<string, string | string[] | undefined>;

interface ListContext {
  query: Query;
  params: { bucket: string };
  body: unknown;
}

type Handler = (ctx: ListContext) => Promise<void>;

interface ListEntry {
  Key: string;
  Owner?: unknown;
  [field: string]: unknown;
}

interface V1Result {
  '@': unknown;
  Name: string;
  Prefix: string;
  MaxKeys: unknown;
  Delimiter?: string;
  IsTruncated: boolean;
  Contents: ListEntry[];
  CommonPrefixes: unknown[];
}

type S3ErrorClass = new (code: string, message: string, detail?: Record<string, string>) => Error;

const bucketController = require('s3rver/lib/controllers/bucket.js') as { getBucket: Handler; __listV2Patched?: true };
const S3Error = require('s3rver/lib/models/error.js') as S3ErrorClass;

const TOKEN_VERSION = 'k1.';

export function encodeContinuationToken(bucket: string, lastKey: string): string {
  return TOKEN_VERSION + Buffer.from(`${bucket}\n${lastKey}`, 'utf8').toString('base64url');
}

/** The key to list after, or undefined when the token is not one of ours for this bucket. */
export function decodeContinuationToken(token: string, bucket: string): string | undefined {
  if (!token.startsWith(TOKEN_VERSION)) return undefined;
  const text = Buffer.from(token.slice(TOKEN_VERSION.length), 'base64url').toString('utf8');
  const newline = text.indexOf('\n');
  if (newline < 0 || text.slice(0, newline) !== bucket) return undefined;
  return text.slice(newline + 1);
}

function single(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

/** Installs the V2 listing on s3rver's bucket controller (idempotent). */
export function patchS3rverListing(): void {
  if (bucketController.__listV2Patched) return;
  const listV1: Handler = bucketController.getBucket;
  bucketController.getBucket = async (ctx) => {
    const query = ctx.query;
    // V1 listings and malformed V2 ones (marker given) go through untouched, errors included.
    if (single(query['list-type']) !== '2' || 'marker' in query) return listV1(ctx);
    const token = single(query['continuation-token']);
    let startAfter = single(query['start-after']);
    if (token) {
      startAfter = decodeContinuationToken(token, ctx.params.bucket);
      if (startAfter === undefined) {
        throw new S3Error('InvalidArgument', 'The continuation token provided is incorrect', { ArgumentName: 'continuation-token' });
      }
    }
    const fetchOwner = single(query['fetch-owner']) === 'true';
    const v1Query: Query = { ...query };
    for (const name of ['list-type', 'continuation-token', 'start-after', 'fetch-owner']) delete v1Query[name];
    if (startAfter) v1Query.marker = startAfter;
    ctx.query = v1Query;
    try {
      await listV1(ctx);
    } finally {
      ctx.query = query;
    }
    const v1 = (ctx.body as { ListBucketResult: V1Result }).ListBucketResult;
    const last = v1.Contents[v1.Contents.length - 1];
    // s3rver counts only keys against max-keys, so a truncated page always ends with one.
    if (v1.IsTruncated && !last) throw new S3Error('InternalError', 'a truncated listing without keys');
    ctx.body = {
      ListBucketResult: {
        '@': v1['@'],
        Name: v1.Name,
        Prefix: v1.Prefix,
        StartAfter: token ? undefined : startAfter,
        ContinuationToken: token || undefined,
        NextContinuationToken: v1.IsTruncated ? encodeContinuationToken(ctx.params.bucket, last!.Key) : undefined,
        KeyCount: v1.Contents.length,
        MaxKeys: v1.MaxKeys,
        Delimiter: v1.Delimiter,
        IsTruncated: v1.IsTruncated,
        Contents: v1.Contents.map((entry) => (fetchOwner ? entry : { ...entry, Owner: undefined })),
        CommonPrefixes: v1.CommonPrefixes,
      },
    };
  };
  bucketController.__listV2Patched = true;
}
