/** Dev-only pieces that are absent become one line saying how to get them; other failures pass through. */
import t from 'tap';
import { StartupError } from '../../cmd/command.js';
import { DEV_ONLY_HINT, loadDevOnly } from '../../cmd/dev-only.js';

t.test('loadDevOnly', async (t) => {
  t.same(await loadDevOnly('local', async () => ({ ok: 1 })), { ok: 1 }, 'present: the module');
  const missingFile = await loadDevOnly('local', () => import(`${'./absent-' + 'module.js'}`)).catch((error: unknown) => error);
  t.ok(missingFile instanceof StartupError, 'a missing file is a StartupError (one line, exit 1)');
  t.match((missingFile as Error).message, /^local needs development pieces this installation lacks \(.*absent-module\.js\)/);
  await t.rejects(loadDevOnly('local-cluster', () => import(`${'no-such-' + 'package'}`)), {
    message: `local-cluster needs development pieces this installation lacks (no-such-package): ${DEV_ONLY_HINT}`,
  });
  const other = new Error('a syntax error in the module');
  await t.rejects(loadDevOnly('local', () => Promise.reject(other)), other, 'any other failure is not disguised');
});
