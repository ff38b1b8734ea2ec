/**
 * A map with a weight budget that forgets in two generations: values go
 * into the current generation; when it reaches half the budget it becomes
 * the old one and the previous old one is dropped whole; a hit in the old
 * generation moves the value to the current one. So what is used stays and
 * what is not goes, as in an LRU, but a hit is one or two map reads instead
 * of a delete and a re-insert: for memos read many times a request (a page
 * of /jobs reads 100), where an LRU's bookkeeping would cost more than the
 * memo saves. Bound: the budget (both generations), plus one value.
 */
export class GenerationalCache<K, V> {
  private current = new Map<K, V>();
  private old = new Map<K, V>();
  private currentWeight = 0;

  constructor(
    private readonly budget: number,
    private readonly weigh: (value: V) => number,
  ) {}

  get size(): number {
    return this.current.size + this.old.size;
  }

  get(key: K): V | undefined {
    const value = this.current.get(key);
    if (value !== undefined) return value;
    const aged = this.old.get(key);
    if (aged !== undefined) {
      this.old.delete(key);
      this.set(key, aged);
    }
    return aged;
  }

  set(key: K, value: V): void {
    this.old.delete(key);
    const previous = this.current.get(key);
    if (previous !== undefined) this.currentWeight -= this.weigh(previous);
    this.current.set(key, value);
    this.currentWeight += this.weigh(value);
    if (this.currentWeight * 2 >= this.budget) {
      this.old = this.current;
      this.current = new Map();
      this.currentWeight = 0;
    }
  }
}
