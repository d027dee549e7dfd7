// Faithfulness metrics of one explanation, with the exact definitions of
// shared/docs/methods.md and the same numbers as the Python reference
// (models/train/metrics.py): p = softmax f(X), q = softmax f(M⊙X), r = softmax f((1−M)⊙X),
// c = target class. Probabilities, not logits; no double softmax.

export interface ClipMetrics {
  /** Target class. */
  target: number;
  /** p_c, q_c (masked-in), r_c (masked-out). */
  pc: number;
  qc: number;
  rc: number;
  /** argmax p and argmax q (Fid-In compares them). */
  predP: number;
  predQ: number;
  /** 100 · 1[q_c > p_c] (higher is better). */
  AI: number;
  /** 100 · max(0, p_c − q_c) / p_c (lower is better). */
  AD: number;
  /** 100 · max(0, q_c − p_c) / (1 − p_c) (higher is better). */
  AG: number;
  /** p_c − r_c (higher is better). */
  FF: number;
  /** 1[argmax q = argmax p] (higher is better). */
  FidIn: number;
  /** Gini index of the mask (higher = sparser). */
  SPS: number;
  /** Entropy (natural log) of |M| / Σ|M| (lower = simpler). */
  COMP: number;
  /** mean(M) (reported). */
  MM: number;
}

/** Keys that are averaged over a data set (methods.md table order). */
export const METRIC_KEYS = ['AI', 'AD', 'AG', 'FF', 'FidIn', 'SPS', 'COMP', 'MM'] as const;
export type MetricKey = (typeof METRIC_KEYS)[number];

/** Display name, one-line meaning and better direction of each metric (UI tooltips, bench tables). */
export const METRIC_INFO: Record<MetricKey | 'pc' | 'qc' | 'rc', { name: string; better: 'higher' | 'lower' | 'report'; help: string }> = {
  pc: { name: 'p_c', better: 'report', help: 'Probability of the target class on the original input.' },
  qc: { name: 'q_c (in)', better: 'higher', help: 'Probability of the target class when the classifier hears only the masked-in part (M⊙|X|). Higher = the explanation alone keeps the evidence.' },
  rc: { name: 'r_c (out)', better: 'lower', help: 'Probability of the target class on the residual ((1−M)⊙|X|). Lower = removing the explanation removes the evidence.' },
  AI: { name: 'AI', better: 'higher', help: 'Average increase: 100 if the masked-in input is more confident than the original (q_c > p_c), else 0. Higher is better.' },
  AD: { name: 'AD', better: 'lower', help: 'Average drop: relative confidence lost on the masked-in input, 100·max(0, p_c − q_c)/p_c. Lower is better.' },
  AG: { name: 'AG', better: 'higher', help: 'Average gain: relative confidence gained on the masked-in input, 100·max(0, q_c − p_c)/(1 − p_c). Higher is better.' },
  FF: { name: 'FF', better: 'higher', help: 'Faithfulness on spectra: p_c − r_c, how much the target probability drops when the explanation is removed. Higher is better.' },
  FidIn: { name: 'Fid-In', better: 'higher', help: 'Input fidelity: 1 if the masked-in input keeps the decision (argmax q = argmax p), else 0. Higher is better.' },
  SPS: { name: 'SPS', better: 'higher', help: 'Sparseness: Gini index of the mask (0 = uniform, →1 = concentrated on few bins). Higher is better.' },
  COMP: { name: 'COMP', better: 'lower', help: 'Complexity: entropy (nats) of the mask as a distribution. Lower is better (simpler explanation).' },
  MM: { name: 'MM', better: 'report', help: 'Mask mean: the average mask value (how much of the spectrogram is kept). Reported, no better direction.' },
};

/** Index of the largest value (the first on ties). */
export function argmax(a: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < a.length; i++) if (a[i] > a[best]) best = i;
  return best;
}

/** Gini index: a = sorted(|M| + 1e-7) ascending, Σ_k (2k − n − 1)·a_k / (n · Σ a), k = 1..n (float64). */
export function sparseness(mask: ArrayLike<number>): number {
  const n = mask.length;
  if (n === 0) return 0;
  const a = new Float64Array(n);
  for (let i = 0; i < n; i++) a[i] = Math.abs(mask[i]) + 1e-7;
  a.sort();
  let num = 0;
  let sum = 0;
  for (let k = 1; k <= n; k++) {
    const v = a[k - 1];
    num += (2 * k - n - 1) * v;
    sum += v;
  }
  return num / (n * sum);
}

/** Entropy (natural log) of |M| / Σ|M| (0·log 0 = 0; an all-zero mask has entropy 0, as in the reference). */
export function complexity(mask: ArrayLike<number>): number {
  let sum = 0;
  for (let i = 0; i < mask.length; i++) sum += Math.abs(mask[i]);
  const s = Math.max(sum, 1e-300);
  let h = 0;
  for (let i = 0; i < mask.length; i++) {
    const pr = Math.abs(mask[i]) / s;
    if (pr > 0) h -= pr * Math.log(pr);
  }
  return h;
}

/** Mean of the mask values. */
export function maskMean(mask: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < mask.length; i++) s += mask[i];
  return mask.length ? s / mask.length : 0;
}

/** The mask-only metrics (SPS, COMP, MM): they depend on the mask, not on the model. */
export function maskMetrics(mask: ArrayLike<number>): Pick<ClipMetrics, 'SPS' | 'COMP' | 'MM'> {
  return { SPS: sparseness(mask), COMP: complexity(mask), MM: maskMean(mask) };
}

/**
 * Per-explanation metrics from the three probability vectors and the mask. `maskStats` may be
 * given instead of recomputing SPS/COMP/MM (they only depend on the mask).
 */
export function clipMetrics(
  p: ArrayLike<number>,
  q: ArrayLike<number>,
  r: ArrayLike<number>,
  target: number,
  mask: ArrayLike<number> | Pick<ClipMetrics, 'SPS' | 'COMP' | 'MM'>,
): ClipMetrics {
  if (p.length !== q.length || p.length !== r.length) throw new Error('clipMetrics: p, q, r must have the same length');
  if (!Number.isInteger(target) || target < 0 || target >= p.length) throw new Error(`clipMetrics: target ${target} out of range`);
  const pc = p[target];
  const qc = q[target];
  const rc = r[target];
  const predP = argmax(p);
  const predQ = argmax(q);
  const ms = 'SPS' in mask ? mask : maskMetrics(mask);
  return {
    target,
    pc,
    qc,
    rc,
    predP,
    predQ,
    AI: qc > pc ? 100 : 0,
    // clamps as in the reference (p_c = 1 gives AG = 0 since q_c ≤ 1)
    AD: (100 * Math.max(0, pc - qc)) / Math.max(pc, 1e-12),
    AG: (100 * Math.max(0, qc - pc)) / Math.max(1 - pc, 1e-12),
    FF: pc - rc,
    FidIn: predQ === predP ? 1 : 0,
    SPS: ms.SPS,
    COMP: ms.COMP,
    MM: ms.MM,
  };
}

export type MetricAverages = Record<MetricKey, number> & { n: number };

/** Mean of each metric over a data set of per-explanation metrics. */
export function averageMetrics(rows: readonly Pick<ClipMetrics, MetricKey>[]): MetricAverages {
  const out = { n: rows.length } as MetricAverages;
  for (const k of METRIC_KEYS) {
    let s = 0;
    for (const r of rows) s += r[k];
    out[k] = rows.length ? s / rows.length : NaN;
  }
  return out;
}
