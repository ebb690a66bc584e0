/**
 * A bounded window of concurrent tasks, each with a weight (bytes, say): `add` waits while the
 * window is full, oldest first. The first failure is rethrown by the next `add` or `drain`;
 * every promise is observed, so none rejects unhandled.
 */
export class InflightWindow {
  private readonly queue: Array<{ task: Promise<unknown>; weight: number }> = [];
  private weight = 0;
  private failure: { error: unknown } | undefined;

  constructor(
    private readonly maxTasks: number,
    private readonly maxWeight: number,
  ) {}

  /** Adds a started task, then waits until the window has room again. Throws the first failure. */
  async add(task: Promise<unknown>, weight: number): Promise<void> {
    task.catch((error: unknown) => {
      this.failure ??= { error };
    });
    this.queue.push({ task, weight });
    this.weight += weight;
    while (this.queue.length > 0 && (this.queue.length > this.maxTasks || this.weight > this.maxWeight)) await this.settleOldest();
    this.rethrow();
  }

  /** Waits for every task. Throws the first failure. */
  async drain(): Promise<void> {
    while (this.queue.length > 0) await this.settleOldest();
    this.rethrow();
  }

  /** Waits for every task, ignoring failures (before cleaning up after one). Never throws. */
  async settle(): Promise<void> {
    await Promise.allSettled(this.queue.map((q) => q.task));
    this.queue.length = 0;
    this.weight = 0;
  }

  private async settleOldest(): Promise<void> {
    const oldest = this.queue.shift() as { task: Promise<unknown>; weight: number };
    this.weight -= oldest.weight;
    await oldest.task.catch(() => undefined);
    this.rethrow();
  }

  private rethrow(): void {
    if (this.failure) throw this.failure.error;
  }
}
