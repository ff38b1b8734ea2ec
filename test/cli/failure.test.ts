/** How a verb's failure is reported: one line and an exit code (table). */
import t from 'tap';
import { StartupError, UsageError } from '../../cmd/command.js';
import { failureLine } from '../../cmd/failure.js';

function systemError(code: string, extra: Record<string, unknown>): Error {
  return Object.assign(new Error(`${String(extra.syscall ?? 'open')} ${code}`), { code, ...extra });
}

t.test('failureLine', async (t) => {
  const cases: Array<[string, unknown, string | RegExp, number]> = [
    ['usage', new UsageError('serve needs --config FILE'), 'serve needs --config FILE', 2],
    ['start-up', new StartupError('state folder x is in use by process 7'), 'state folder x is in use by process 7', 1],
    ['port in use', systemError('EADDRINUSE', { syscall: 'listen', address: '127.0.0.1', port: 5000 }), 'cannot listen on 127.0.0.1:5000: address already in use (is another instance running?)', 1],
    ['privileged port', systemError('EACCES', { syscall: 'listen', address: '0.0.0.0', port: 80 }), 'cannot listen on 0.0.0.0:80: permission denied', 1],
    ['permission elsewhere', systemError('EACCES', { syscall: 'open' }), 'open EACCES: permission denied', 1],
    ['a bug keeps its stack', new TypeError('x is undefined'), /^TypeError: x is undefined\n\s+at /, 1],
    ['not an Error', 'boom', 'boom', 1],
  ];
  for (const [what, error, line, code] of cases) {
    const failure = failureLine(error);
    if (typeof line === 'string') t.equal(failure.line, line, what);
    else t.match(failure.line, line, what);
    t.equal(failure.code, code, `${what}: exit code ${code}`);
    if (code === 1 && typeof line === 'string') t.notMatch(failure.line, /\n/, `${what}: one line`);
  }
});
