/**
 * The controllers' work queue (client-go's workqueue semantics, kept small
 * and separate from the product's lib/work-queue so a bug there cannot hide
 * behind the stand-in): a key waits at most once, never runs twice at the same
 * time (added while running, it runs again afterwards), failures retry with
 * exponential back-off, and keys can be added after a delay.
 * Bound: one entry per distinct key (the objects of the store), one timer per key.
 */
export class KeyQueue {
  private readonly waiting = new Set<string>();
  private readonly running = new Set<string>();
  private readonly again = new Set<string>();
  private readonly failures = new Map<string, number>();
  private readonly timers = new Map<string, { timer: NodeJS.Timeout; due: number }>();
  private readonly inFlight = new Set<Promise<void>>();
  private stopped = false;

  constructor(
    private readonly handle: (key: string) => Promise<void>,
    private readonly workers = 1,
    private readonly retryBaseMs = 50,
    private readonly retryMaxMs = 30_000,
  ) {}

  add(key: string): void {
    if (this.stopped) return;
    if (this.running.has(key)) this.again.add(key);
    else this.waiting.add(key);
    this.dispatch();
  }

  /** Of two delayed adds of a key, the sooner one stands. */
  addAfter(key: string, delayMs: number): void {
    if (this.stopped) return;
    if (delayMs <= 0) return this.add(key);
    const due = Date.now() + delayMs;
    const pending = this.timers.get(key);
    if (pending && pending.due <= due) return;
    if (pending) clearTimeout(pending.timer);
    this.timers.set(key, {
      due,
      timer: setTimeout(() => {
        this.timers.delete(key);
        this.add(key);
      }, delayMs),
    });
  }

  /** Takes no more work and waits for the keys being handled. */
  async shutdown(): Promise<void> {
    this.stopped = true;
    for (const { timer } of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
    this.waiting.clear();
    while (this.inFlight.size) await Promise.all([...this.inFlight]);
  }

  private dispatch(): void {
    for (const key of this.waiting) {
      if (this.stopped || this.running.size >= this.workers) return;
      if (this.running.has(key)) continue;
      this.waiting.delete(key);
      this.running.add(key);
      const work = this.run(key);
      this.inFlight.add(work);
      void work.finally(() => this.inFlight.delete(work));
    }
  }

  private async run(key: string): Promise<void> {
    try {
      await this.handle(key);
      this.failures.delete(key);
    } catch {
      const attempt = (this.failures.get(key) ?? 0) + 1;
      this.failures.set(key, attempt);
      this.addAfter(key, Math.min(this.retryBaseMs * 2 ** (attempt - 1), this.retryMaxMs));
    } finally {
      this.running.delete(key);
      if (this.again.delete(key)) this.waiting.add(key);
      this.dispatch();
    }
  }
}
