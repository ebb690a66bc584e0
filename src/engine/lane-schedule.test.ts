import { describe, expect, it } from 'vitest';
import { LaneSchedule } from './lane-schedule.js';

/** Hands out everything, calling `finish` after each item (or not); returns [item, lane] in order. */
function drain<T>(schedule: LaneSchedule<T>, finish?: (item: T, lane: number) => boolean): Array<[T, number]> {
  const out: Array<[T, number]> = [];
  for (let next = schedule.next(); next; next = schedule.next()) {
    out.push([next.item, next.lane]);
    if (finish?.(next.item, next.lane)) schedule.done(next.lane, next.index);
  }
  return out;
}

describe('LaneSchedule', () => {
  it('hands out every item once, each lane working forward through its own stretch', () => {
    const items = Array.from({ length: 10 }, (_, i) => i);
    const order = drain(new LaneSchedule(items, 2, () => 1));
    expect(order.map(([i]) => i).sort((a, b) => a - b)).toEqual(items);
    expect(order.filter(([, l]) => l === 0).map(([i]) => i)).toEqual([0, 1, 2, 3, 4]);
    expect(order.filter(([, l]) => l === 1).map(([i]) => i)).toEqual([5, 6, 7, 8, 9]);
    // Taking turns while neither lane finishes anything.
    expect(order.slice(0, 4)).toEqual([
      [0, 0],
      [5, 1],
      [1, 0],
      [6, 1],
    ]);
  });

  it('splits the stretches by cost, not by count', () => {
    const sizes = [100, 1, 1, 1, 1, 1, 1, 1, 1, 100];
    const items = sizes.map((size, i) => ({ i, size }));
    const order = drain(new LaneSchedule(items, 2, (x) => x.size));
    const lane1 = order.filter(([, l]) => l === 1).map(([x]) => x.i);
    expect(lane1[0]).toBe(5);
    const handed = [0, 1].map((lane) => order.filter(([, l]) => l === lane).reduce((sum, [x]) => sum + x.size, 0));
    expect(Math.abs((handed[0] as number) - (handed[1] as number))).toBeLessThanOrEqual(100);
  });

  it('gives the next item to the lane with the least work queued, which takes from the end of the richest stretch once its own is done', () => {
    const items = Array.from({ length: 12 }, (_, i) => i);
    // Lane 1 finishes its items at once, lane 0 never: lane 1 gets everything after the first.
    const order = drain(new LaneSchedule(items, 2, () => 1), (_, lane) => lane === 1);
    expect(order[0]).toEqual([0, 0]);
    const lane1 = order.filter(([, l]) => l === 1).map(([i]) => i);
    expect(lane1).toEqual([6, 7, 8, 9, 10, 11, 5, 4, 3, 2, 1]);
  });

  it('with one lane keeps the order; with none to hand out ends at once', () => {
    expect(drain(new LaneSchedule([3, 1, 2], 1, () => 1))).toEqual([
      [3, 0],
      [1, 0],
      [2, 0],
    ]);
    expect(new LaneSchedule([], 4, () => 1).next()).toBeUndefined();
    const four = drain(new LaneSchedule(Array.from({ length: 9 }, (_, i) => i), 4, () => 1));
    expect(four.map(([i]) => i).sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8]);
    expect(new Set(four.map(([, l]) => l))).toEqual(new Set([0, 1, 2, 3]));
  });
});
