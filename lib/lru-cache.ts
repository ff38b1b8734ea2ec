/**
 * A least-recently-used map with a weight budget: each value weighs what
 * `weigh` says (entries, bytes), and the least recently used values are
 * dropped while the total is over budget. A single value heavier than the
 * whole budget is kept alone until the next insertion (the caller holds it
 * anyway). Map iteration order is insertion order, so a touch is delete+set.
 */
export class LruCache<K, V> {
  private readonly values = new Map<K, { value: V; weight: number }>();
  private total = 0;

  constructor(
    private readonly budget: number,
    private readonly weigh: (value: V) => number,
  ) {}

  get weight(): number {
    return this.total;
  }

  get size(): number {
    return this.values.size;
  }

  get(key: K): V | undefined {
    const held = this.values.get(key);
    if (!held) return undefined;
    this.values.delete(key);
    this.values.set(key, held);
    return held.value;
  }

  has(key: K): boolean {
    return this.values.has(key);
  }

  set(key: K, value: V): void {
    this.delete(key);
    const weight = this.weigh(value);
    this.values.set(key, { value, weight });
    this.total += weight;
    for (const [oldest, held] of this.values) {
      if (this.total <= this.budget || oldest === key) break;
      this.values.delete(oldest);
      this.total -= held.weight;
    }
  }

  delete(key: K): void {
    const held = this.values.get(key);
    if (!held) return;
    this.values.delete(key);
    this.total -= held.weight;
  }
}
