/**
 * `local` and `local-cluster` run on pieces a production install does not
 * have: local-cluster (left out of the image) and s3rver (a dev dependency).
 * They are loaded with a dynamic import, so `serve` never reaches them, and
 * their absence is reported as what to do instead of a module-resolution stack.
 */
import { StartupError } from './command.js';

export const DEV_ONLY_HINT = 'run it from a source checkout after `npm ci` (with the dev dependencies) and `npm run build`, or use `serve` against a cluster';

export async function loadDevOnly<T>(verb: string, load: () => Promise<T>): Promise<T> {
  try {
    return await load();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ERR_MODULE_NOT_FOUND') throw error;
    const missing = /Cannot find (?:package|module) '([^']+)'/.exec((error as Error).message)?.[1] ?? 'a module';
    throw new StartupError(`${verb} needs development pieces this installation lacks (${missing}): ${DEV_ONLY_HINT}`);
  }
}
