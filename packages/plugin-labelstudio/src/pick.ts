/**
 * The pick rule: which of a task's annotations becomes the sample's label.
 *  1. Cancelled (skipped) annotations never count.
 *  2. If any remaining annotation is marked ground truth, the most recently updated ground-truth one wins.
 *  3. Otherwise the most recently updated one wins (`updated_at`, then the higher id on a tie).
 * Returns null when nothing is left.
 */
import type { BackendAnnotation } from '@labeler/core';

type Pickable = Pick<BackendAnnotation, 'externalId' | 'wasCancelled' | 'groundTruth' | 'updatedAt'>;

const time = (iso: string): number => {
  const t = Date.parse(iso);
  return Number.isNaN(t) ? 0 : t;
};

function newer(a: Pickable, b: Pickable): boolean {
  const diff = time(a.updatedAt) - time(b.updatedAt);
  if (diff !== 0) return diff > 0;
  const ai = Number(a.externalId);
  const bi = Number(b.externalId);
  return Number.isFinite(ai) && Number.isFinite(bi) ? ai > bi : a.externalId > b.externalId;
}

export function pickAnnotation<A extends Pickable>(task: { annotations: readonly A[] }): A | null {
  let best: A | null = null;
  for (const annotation of task.annotations) {
    if (annotation.wasCancelled) continue;
    if (!best) best = annotation;
    else if (annotation.groundTruth !== best.groundTruth) {
      if (annotation.groundTruth) best = annotation;
    } else if (newer(annotation, best)) best = annotation;
  }
  return best;
}
