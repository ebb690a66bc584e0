/**
 * The order in which a restore hands files to its writer lanes (worker threads), and which lane
 * writes each. Files come sorted by name, so neighbours share a directory; two lanes writing
 * neighbours create files in one directory at once, and the kernel serialises creations in a
 * directory: the second lane spins on its lock. When creating files is slow (ext4 right after
 * many deletions, a restore's common case: `rm -rf` then restore), that spinning took a fifth of
 * the CPU and a restore of the files bench 5.6–6.0 s against 3.8 s with this schedule.
 *
 * So each lane owns a stretch of the list (stretches of equal estimated cost) and works through
 * it from its start; the next file goes to the lane with the least work queued; a lane whose
 * stretch is done takes files from the end of the stretch with the most work left, far from
 * where its owner is. Pure; never throws.
 */
export class LaneSchedule<T> {
  /** Per lane: the next index of its stretch, and the end (exclusive) of what is left of it. */
  private readonly stretches: Array<{ next: number; end: number; left: number }> = [];
  /** Estimated work handed to each lane and not yet done. */
  private readonly queued: number[];

  constructor(
    private readonly items: readonly T[],
    lanes: number,
    private readonly cost: (item: T) => number,
  ) {
    const count = Math.max(1, Math.floor(lanes));
    this.queued = new Array<number>(count).fill(0);
    const total = items.reduce((sum, item) => sum + cost(item), 0);
    let at = 0;
    let before = 0;
    for (let lane = 0; lane < count; lane++) {
      const start = at;
      let left = 0;
      // Up to this lane's share of the total; the last lane takes the rest.
      const upTo = lane === count - 1 ? Infinity : (total * (lane + 1)) / count;
      while (at < items.length && before + cost(items[at] as T) / 2 <= upTo) {
        const c = cost(items[at] as T);
        before += c;
        left += c;
        at++;
      }
      this.stretches.push({ next: start, end: at, left });
    }
  }

  /** The next item and the lane to write it, or undefined when every item was handed out. */
  next(): { item: T; lane: number } | undefined {
    let lane = 0;
    for (let i = 1; i < this.queued.length; i++) if ((this.queued[i] as number) < (this.queued[lane] as number)) lane = i;
    const own = this.stretches[lane] as { next: number; end: number; left: number };
    let index: number;
    let from = own;
    if (own.next < own.end) index = own.next++;
    else {
      // Take from the end of the stretch with the most work left.
      const richest = this.stretches.reduce((best, s) => (s.next < s.end && (best === undefined || s.left > best.left) ? s : best), undefined as typeof own | undefined);
      if (!richest) return undefined;
      from = richest;
      index = --richest.end;
    }
    const item = this.items[index] as T;
    const c = this.cost(item);
    from.left -= c;
    this.queued[lane] = (this.queued[lane] as number) + c;
    return { item, lane };
  }

  /** Lane `lane` finished `item`, handed out by `next`. */
  done(lane: number, item: T): void {
    this.queued[lane] = (this.queued[lane] as number) - this.cost(item);
  }
}
