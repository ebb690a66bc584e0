import type { Retention } from '../config/fields.js';

/** A snapshot as far as retention is concerned. */
export interface Dated {
  id: string;
  time: string;
}

export interface RetentionDecision<T extends Dated> {
  keep: Array<{ snapshot: T; reasons: string[] }>;
  remove: T[];
}

type Bucket = 'hourly' | 'daily' | 'weekly' | 'monthly' | 'yearly';

const BUCKET_KEY: Record<Bucket, (d: Date) => string> = {
  hourly: (d) => d.toISOString().slice(0, 13),
  daily: (d) => d.toISOString().slice(0, 10),
  weekly: (d) => isoWeek(d),
  monthly: (d) => d.toISOString().slice(0, 7),
  yearly: (d) => d.toISOString().slice(0, 4),
};

/**
 * Applies a retention policy the way restic's `forget` does: for each bucket kind, the newest
 * snapshot of each of the N newest periods is kept; `last` keeps the N newest; `within` keeps all
 * snapshots younger than the duration relative to the newest. A policy with no rule keeps
 * everything (never deletes by accident). Pure; never throws.
 */
export function applyRetention<T extends Dated>(snapshots: T[], policy: Retention, now?: Date): RetentionDecision<T> {
  const sorted = [...snapshots].sort((a, b) => b.time.localeCompare(a.time));
  const reasons = new Map<string, string[]>();
  const add = (snap: T, reason: string): void => {
    const list = reasons.get(snap.id) ?? [];
    list.push(reason);
    reasons.set(snap.id, list);
  };
  const hasRule = Object.values(policy).some((v) => v !== undefined);
  if (!hasRule) {
    return { keep: sorted.map((snapshot) => ({ snapshot, reasons: ['no retention policy'] })), remove: [] };
  }
  if (policy.last) sorted.slice(0, policy.last).forEach((s, i) => add(s, `last ${i + 1}/${policy.last}`));
  for (const bucket of Object.keys(BUCKET_KEY) as Bucket[]) {
    const count = policy[bucket];
    if (!count) continue;
    const seen = new Set<string>();
    for (const snap of sorted) {
      const key = BUCKET_KEY[bucket](new Date(snap.time));
      if (seen.has(key)) continue;
      if (seen.size >= count) break;
      seen.add(key);
      add(snap, `${bucket} ${key}`);
    }
  }
  if (policy.within !== undefined && sorted[0]) {
    const newest = now ? now.getTime() : new Date(sorted[0].time).getTime();
    for (const snap of sorted) {
      if (newest - new Date(snap.time).getTime() <= policy.within) add(snap, 'within');
    }
  }
  return {
    keep: sorted.filter((s) => reasons.has(s.id)).map((snapshot) => ({ snapshot, reasons: reasons.get(snapshot.id) ?? [] })),
    remove: sorted.filter((s) => !reasons.has(s.id)),
  };
}

/** ISO 8601 week key such as `2026-W48`. */
function isoWeek(date: Date): string {
  const d = new Date(Date.UTC(date.getUTCFullYear(), date.getUTCMonth(), date.getUTCDate()));
  const day = d.getUTCDay() || 7;
  d.setUTCDate(d.getUTCDate() + 4 - day);
  const yearStart = Date.UTC(d.getUTCFullYear(), 0, 1);
  const week = Math.ceil(((d.getTime() - yearStart) / 86_400_000 + 1) / 7);
  return `${d.getUTCFullYear()}-W${String(week).padStart(2, '0')}`;
}
