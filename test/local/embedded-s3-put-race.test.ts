/**
 * The embedded S3 (s3rver with cmd/local's patches): a PUT into a folder
 * that a DELETE is emptying at the same moment is stored, and s3rver lives
 * on (unpatched, the write stream's ENOENT ended the process: s3rver-put.ts).
 */
import t from 'tap';
import { DeleteObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { BUCKET, startTestS3 } from '../controller/helpers/s3.js';

t.test('PUTs racing DELETEs that empty their folder: every PUT stored, the server alive', async (t) => {
  const s3 = await startTestS3(t);
  const ROUNDS = 150;
  for (let i = 0; i < ROUNDS; i++) {
    const folder = `race/${i}`;
    await s3.client.send(new PutObjectCommand({ Bucket: BUCKET, Key: `${folder}/old.json`, Body: '{}' }));
    await Promise.all([
      s3.client.send(new PutObjectCommand({ Bucket: BUCKET, Key: `${folder}/new.json`, Body: `{"round":${i}}` })),
      s3.client.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: `${folder}/old.json` })),
    ]);
  }
  const keys = await s3.keys('race/');
  t.equal(keys.length, ROUNDS, 'every new object is there, every old one gone');
  t.ok(keys.every((k) => k.endsWith('/new.json')));
  t.equal((await s3.get(`race/${ROUNDS - 1}/new.json`))!.toString('utf8'), `{"round":${ROUNDS - 1}}`, 'with its bytes');
});
