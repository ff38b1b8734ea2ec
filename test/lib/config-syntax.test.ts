import t from 'tap';
import { parseQuantity } from '../../lib/config/kubernetes-syntax.js';
import { formatPath, pointerToPath } from '../../lib/config/paths.js';

t.test('Kubernetes quantities', async (t) => {
  const cases: Array<[string, number | undefined]> = [
    ['2', 2],
    ['500m', 0.5],
    ['1.5', 1.5],
    ['.5', 0.5],
    ['1Ki', 1024],
    ['256Mi', 256 * 2 ** 20],
    ['1G', 1e9],
    ['16M', 16e6],
    ['1e3', 1000],
    ['2E-1', 0.2],
    ['1E', 1e18],
    ['256 MB', undefined],
    ['-1', undefined],
    ['1KB', undefined],
    ['', undefined],
  ];
  for (const [text, value] of cases) {
    const parsed = parseQuantity(text);
    if (value === undefined) t.equal(parsed, undefined, text);
    else t.ok(parsed !== undefined && Math.abs(parsed - value) < 1e-9 * Math.max(1, value), `${text} = ${value}`);
  }
});

t.test('key paths in messages', async (t) => {
  const cases: Array<[Array<string | number>, string]> = [
    [[], '(top level)'],
    [['server', 'bind', 'port'], 'server.bind.port'],
    [['resources', 'my-proc', 'processor', 'env', 0, 'name'], 'resources.my-proc.processor.env[0].name'],
    [['node_selector', 'kubernetes.io/os'], 'node_selector["kubernetes.io/os"]'],
    [['resources', 'a b'], 'resources["a b"]'],
  ];
  for (const [path, text] of cases) t.equal(formatPath(path), text, text);
});

t.test('JSON pointers tell list indices from keys by the data', async (t) => {
  const data = { env: [{ name: 'A' }], map: { '0': { 'a/b': 1, 'c~d': 2 } } };
  t.same(pointerToPath('', data), []);
  t.same(pointerToPath('/env/0/name', data), ['env', 0, 'name']);
  t.same(pointerToPath('/map/0/a~1b', data), ['map', '0', 'a/b']);
  t.same(pointerToPath('/map/0/c~0d', data), ['map', '0', 'c~d']);
  t.same(pointerToPath('/missing/1', data), ['missing', '1']);
});
