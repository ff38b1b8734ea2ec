/**
 * The chaos run's S3 as a process of its own: s3rver storing files under a
 * folder, behind the fault proxy. Arguments: <folder> <bucket> <seed>
 * <refuse share> <cut share>. Over the IPC channel: `ready` with both
 * endpoints, then `stats` on request; `faults` turns the proxy's faults on/off.
 */
import S3rver from 's3rver';
import { patchS3rverListing } from '../../cmd/local/s3rver-listing.js';
import { patchS3rverMultipart } from '../../cmd/local/s3rver-multipart.js';
import { patchS3rverPut } from '../../cmd/local/s3rver-put.js';
import { seededRandom } from './prng.js';
import { startS3FaultProxy, type S3FaultStats } from './s3-fault-proxy.js';

export type S3Command = { op: 'stats'; id: number } | { op: 'faults'; enabled: boolean; id: number };
export type S3Message = { type: 'ready'; direct: string; proxy: string } | { type: 'stats'; id: number; stats: S3FaultStats };

const [directory, bucket, seed, refuse, cut] = process.argv.slice(2);
if (!directory || !bucket || !seed || !process.send) {
  process.stderr.write('usage: fork(s3-process.ts, [folder, bucket, seed, refuse, cut]) with an IPC channel\n');
  process.exit(2);
}
// The embedded S3's own patches (README, "Embedded S3"): listings past one page, S3's multipart completion.
patchS3rverListing();
patchS3rverMultipart();
patchS3rverPut();
const server = new S3rver({ address: '127.0.0.1', port: 0, silent: true, directory, configureBuckets: [{ name: bucket }] });
const { port } = await server.run();
const proxy = await startS3FaultProxy({
  target: { host: '127.0.0.1', port },
  random: seededRandom(seed).fork('s3-faults'),
  rates: { refuse: Number(refuse ?? 0.1), cut: Number(cut ?? 0.1) },
});
const send = (message: S3Message): void => {
  process.send?.(message);
};
process.on('message', (command: S3Command) => {
  if (command.op === 'faults') proxy.setEnabled(command.enabled);
  send({ type: 'stats', id: command.id, stats: proxy.stats });
});
let stopping = false;
const stop = (): void => {
  if (stopping) return;
  stopping = true;
  void Promise.allSettled([proxy.close(), server.close()]).finally(() => process.exit(0));
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
process.once('disconnect', stop);
send({ type: 'ready', direct: `http://127.0.0.1:${port}`, proxy: proxy.endpoint });
