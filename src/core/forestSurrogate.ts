// Random-forest surrogate of the perturbation explainer (seed: "Benchmarking time-localized
// explanations", where a random forest was often better than a linear surrogate): a regression
// forest (ml-random-forest, CART trees with sample bagging) is fitted from the binary segment masks
// (1 = kept) to the model's log-odds; a segment's importance is how much the forest's prediction
// depends on it.
//
// Importance (shared/docs/methods.md, "Random-forest surrogate"):
//  - `dependence` (the default, used as the explanation): the forest's mean prediction over the
//    training masks with the segment forced kept minus forced removed, Σ_i [f(z_i | z_s=1) −
//    f(z_i | z_s=0)] / n, in log-odds units; positive = keeping the segment raises the target's
//    score. Signed by construction.
//  - `impurity`: the squared-error decrease of the splits on the segment (all training masks routed
//    through every tree), normalised to sum 1 over segments, then signed by `dependence` — the
//    forest's classic impurity importance with the direction of the effect. (ml-random-forest's
//    own featureImportance() treats a regression node's split error as a gain, so it is not used.)
import { RandomForestRegression } from 'ml-random-forest';

export interface ForestOptions {
  /** Trees (default 50). */
  trees?: number;
  /** Segments each tree may split on (ml-random-forest bags features per tree; default all). */
  maxFeatures?: number;
  /** Smallest node that is split further (default 3). */
  minNumSamples?: number;
  /** Depth limit (default 12). */
  maxDepth?: number;
  /** Seed of the sample and feature bagging (default 1). */
  seed?: number;
}

export interface ForestImportance {
  /** Signed partial-dependence importance per segment (log-odds units). */
  dependence: Float64Array;
  /** Impurity importance per segment (sums to 1 in absolute value), signed by `dependence`. */
  impurity: Float64Array;
  /** Coefficient of determination of the forest on its training masks. */
  r2: number;
}

interface Node {
  left?: Node;
  right?: Node;
  splitColumn?: number;
  splitValue?: number;
  distribution?: number;
}

function predictTree(node: Node, cols: number[], row: Uint8Array | number[], override = -1, value = 0): number {
  let n = node;
  while (n.left && n.right) {
    const g = cols[n.splitColumn!];
    const v = g === override ? value : row[g];
    n = v < n.splitValue! ? n.left : n.right;
  }
  return n.distribution as number;
}

/**
 * Fit the forest on masks Z [n × d] (0/1, row-major) and targets y, and return per-segment
 * importances. Deterministic for a seed.
 */
export function forestImportance(Z: ArrayLike<number>, y: ArrayLike<number>, n: number, d: number, opts: ForestOptions = {}): ForestImportance {
  if (Z.length !== n * d || y.length !== n) throw new Error('forestImportance: shape mismatch');
  const rows: number[][] = [];
  for (let i = 0; i < n; i++) rows.push(Array.from({ length: d }, (_, j) => Z[i * d + j]));
  const yy = Array.from(y as ArrayLike<number>);
  const maxFeatures = Math.max(1, Math.min(d, Math.round(opts.maxFeatures ?? d)));
  const forest = new RandomForestRegression({
    nEstimators: Math.max(1, Math.round(opts.trees ?? 50)),
    // an integer count: ml-random-forest reads 1.0 as "one feature"
    maxFeatures: maxFeatures === 1 && d > 1 ? 1 : maxFeatures,
    replacement: false,
    seed: Math.trunc(opts.seed ?? 1) | 0,
    useSampleBagging: true,
    noOOB: true,
    treeOptions: { minNumSamples: opts.minNumSamples ?? 3, maxDepth: opts.maxDepth ?? 12 },
  } as never);
  forest.train(rows, yy);
  const f = forest as unknown as { estimators: { root: Node }[]; indexes: number[][] };
  const trees = f.estimators.map((e, i) => ({ root: e.root, cols: f.indexes[i] }));
  const T = trees.length;

  // dependence: forced kept minus forced removed, averaged over the training masks
  const dependence = new Float64Array(d);
  const buf = new Uint8Array(d);
  let ssRes = 0;
  let ym = 0;
  for (let i = 0; i < n; i++) ym += yy[i] / n;
  let ssTot = 0;
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < d; j++) buf[j] = Z[i * d + j] ? 1 : 0;
    let pred = 0;
    for (const t of trees) pred += predictTree(t.root, t.cols, buf) / T;
    ssRes += (yy[i] - pred) ** 2;
    ssTot += (yy[i] - ym) ** 2;
    for (let s = 0; s < d; s++) {
      let on = 0;
      let off = 0;
      for (const t of trees) {
        on += predictTree(t.root, t.cols, buf, s, 1);
        off += predictTree(t.root, t.cols, buf, s, 0);
      }
      dependence[s] += (on - off) / T / n;
    }
  }

  // impurity: squared-error decrease of each split, all training rows routed through every tree
  const impurity = new Float64Array(d);
  const sse = (idx: number[]) => {
    if (idx.length === 0) return 0;
    let m = 0;
    for (const i of idx) m += yy[i];
    m /= idx.length;
    let s = 0;
    for (const i of idx) s += (yy[i] - m) ** 2;
    return s;
  };
  const walk = (node: Node, cols: number[], idx: number[]) => {
    if (!node.left || !node.right || idx.length === 0) return;
    const g = cols[node.splitColumn!];
    const l: number[] = [];
    const r: number[] = [];
    for (const i of idx) (Z[i * d + g] < node.splitValue! ? l : r).push(i);
    impurity[g] += sse(idx) - sse(l) - sse(r);
    walk(node.left, cols, l);
    walk(node.right, cols, r);
  };
  const all = Array.from({ length: n }, (_, i) => i);
  for (const t of trees) walk(t.root, t.cols, all);
  let tot = 0;
  for (let s = 0; s < d; s++) tot += Math.max(0, impurity[s]);
  for (let s = 0; s < d; s++) impurity[s] = (tot > 0 ? Math.max(0, impurity[s]) / tot : 0) * (dependence[s] < 0 ? -1 : 1);
  return { dependence, impurity, r2: ssTot > 0 ? 1 - ssRes / ssTot : 1 };
}
