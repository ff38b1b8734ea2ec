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
    // Node says ERR_MODULE_NOT_FOUND; loader hooks (tsx, ts-node) may keep only the message.
    const named = /Cannot find (?:package|module) '([^']+)'/.exec(error instanceof Error ? error.message : '');
    if ((error as NodeJS.ErrnoException).code !== 'ERR_MODULE_NOT_FOUND' && !named) throw error;
    const missing = named?.[1] ?? 'a module';
    throw new StartupError(`${verb} needs development pieces this installation lacks (${missing}): ${DEV_ONLY_HINT}`);
  }
}
