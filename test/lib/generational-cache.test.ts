/** The two-generation cache: within its budget, keeps what is used, drops what is not. */
import t from 'tap';
import { GenerationalCache } from '../../lib/generational-cache.js';

t.test('within the budget, what is used stays, what is not goes', async (t) => {
  const cache = new GenerationalCache<string, string>(100, (v) => v.length);
  for (let i = 0; i < 1000; i++) {
    cache.set(`k${i}`, 'x'.repeat(10));
    t.ok(cache.size * 10 <= 100 + 10, `size ${cache.size} within the budget after ${i + 1} sets`);
    // k0 is read after every set: it never ages out.
    t.equal(cache.get('k0'), 'x'.repeat(10));
  }
  t.equal(cache.get('k1'), undefined, 'a value never read again is gone');
  t.equal(cache.get('k999'), 'x'.repeat(10), 'the newest is there');
});

t.test('a value set again replaces the old one, in either generation', async (t) => {
  const cache = new GenerationalCache<string, number>(4, () => 1);
  cache.set('a', 1);
  cache.set('b', 2); // the current generation reaches half the budget: it becomes the old one
  cache.set('a', 3);
  t.equal(cache.get('a'), 3);
  cache.set('a', 4);
  t.equal(cache.get('a'), 4);
  t.equal(cache.get('b'), 2, 'a hit in the old generation is kept');
});
