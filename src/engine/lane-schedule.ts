/**
 * The order in which a restore hands files to its writer lanes (worker threads), and which lane
 * writes each. Files come sorted by name, so neighbours share a directory; two lanes writing
 * neighbours create files in one directory at once, and the kernel serialises creations in a
 * directory: the second lane spins on its lock. When creating files is slow (ext4 right after
 * many deletions, a restore's common case: `rm -rf` then restore), that spinning took a fifth of
 * the CPU; restores of the files bench right after deleting a restored tree took 5.3–6.9 s
 * without this schedule and 4.3–5.9 s with it (docs/benchmarks.md).
 *
 * So each lane owns a stretch of the list (stretches of equal estimated cost) and works through
 * it from its start; the next file goes to the lane with the least work queued; a lane whose
 * stretch is done takes files from the end of the stretch with the most work left, far from
 * where its owner is. Pure; never throws.
 */
export class LaneSchedule<T> {
  /** Per lane: the next index of its stretch, the end (exclusive) of what is left of it, and that part's cost. */
  private readonly stretches: Array<{ next: number; end: number; left: number }> = [];
  /** Estimated work handed to each lane and not yet done. */
  private readonly queued: number[];
  /** Each item's cost, computed once. */
  private readonly costs: number[];

  constructor(
    private readonly items: readonly T[],
    lanes: number,
    cost: (item: T) => number,
  ) {
    const count = Math.max(1, Math.floor(lanes));
    this.queued = new Array<number>(count).fill(0);
    this.costs = items.map(cost);
    const total = this.costs.reduce((sum, c) => sum + c, 0);
    let at = 0;
    let before = 0;
    for (let lane = 0; lane < count; lane++) {
      const start = at;
      // Up to this lane's share of the total (an item goes where most of it falls); the last lane takes the rest.
      const upTo = lane === count - 1 ? Infinity : (total * (lane + 1)) / count;
      while (at < items.length && before + (this.costs[at] as number) / 2 <= upTo) before += this.costs[at++] as number;
      this.stretches.push({ next: start, end: at, left: this.costs.slice(start, at).reduce((sum, c) => sum + c, 0) });
    }
  }

  /** The next item and the lane to write it, or undefined when every item was handed out. */
  next(): { item: T; lane: number; index: number } | undefined {
    let lane = 0;
    for (let i = 1; i < this.queued.length; i++) if ((this.queued[i] as number) < (this.queued[lane] as number)) lane = i;
    let from = this.stretches[lane] as { next: number; end: number; left: number };
    let index: number;
    if (from.next < from.end) index = from.next++;
    else {
      // Take from the end of the stretch with the most work left.
      const richest = this.stretches.reduce<typeof from | undefined>((best, s) => (s.next < s.end && (!best || s.left > best.left) ? s : best), undefined);
      if (!richest) return undefined;
      from = richest;
      index = --richest.end;
    }
    const c = this.costs[index] as number;
    from.left -= c;
    this.queued[lane] = (this.queued[lane] as number) + c;
    return { item: this.items[index] as T, lane, index };
  }

  /** Lane `lane` finished the item at `index`, handed out by `next`. */
  done(lane: number, index: number): void {
    this.queued[lane] = (this.queued[lane] as number) - (this.costs[index] as number);
  }
}
