// The model-agnostic explainer of the seed benchmark ("Benchmarking time-localized explanations",
// shared/docs/methods.md): the audio is split into segments (100 ms by default); N random binary
// segment masks silence the removed segments in the STFT domain (their |X| columns are zeroed);
// the classifier's log-odds log(P_c / (1 − P_c)) on each perturbed input is recorded; a ridge
// regression from the masks to the log-odds gives one weight per segment (its importance). The
// positive weights, scaled to [0, 1] by the largest, form a time mask over the STFT frames that
// is listenable exactly like an L-MAC mask (renderExplanation). Needs only the classifier.
// Options beyond the default: a random-forest surrogate (surrogate: 'forest', forestSurrogate.ts)
// and removal by noise instead of silence (removal: 'noise').
import type { AnalysisState, RunOptions } from './explain';
import { forestImportance, type ForestOptions } from './forestSurrogate';
import { fileMagnitude, pooledProbsOf } from './faithfulness';
import { sliceFrames } from './explain';
import type { ModelRunner } from './modelRunner';

export interface PerturbationOptions extends RunOptions {
  /** Segment length in ms (default 100). */
  segmentMs?: number;
  /** Random segment masks (default defaultPerturbationSamples: 300 for 5 s windows, 100 for 1 s ones); the unperturbed input is added as one more sample. */
  samples?: number;
  /** Probability that a segment is kept in a random mask (default 0.5). */
  keepProbability?: number;
  /** Ridge penalty on the segment weights (the intercept is not penalised; default 1). */
  lambda?: number;
  /** PRNG seed (default 1): the same seed, file and options give the same explanation. */
  seed?: number;
  /** Surrogate from masks to log-odds (default 'ridge'); 'forest' = random-forest partial dependence (forestSurrogate.ts). */
  surrogate?: 'ridge' | 'forest';
  /** Forest settings when surrogate = 'forest'. */
  forest?: ForestOptions;
  /**
   * How a removed segment is removed (default 'silence': its |X| columns are zeroed). 'noise':
   * its columns are replaced by stationary noise shaped like the file's average spectrum
   * (|N[f,t]| Rayleigh-distributed with mean = the mean over frames of |X[f,·]|, seeded; the same
   * noise for every perturbed input).
   */
  removal?: 'silence' | 'noise';
}

export interface PerturbationResult {
  /** Soft time mask [bins × totalFrames]: each frame's column holds its segment's scaled importance. */
  mask: Float32Array;
  /** Segment length in seconds and number of segments (the last may be shorter). */
  segmentS: number;
  segments: number;
  /** Surrogate weight per segment (log-odds units; positive = supports the target). */
  importance: Float32Array;
  /** Surrogate intercept and coefficient of determination on its training samples. */
  intercept: number;
  r2: number;
  /** Perturbed inputs scored (samples + 1). */
  evaluated: number;
  timings: Record<string, number>;
}

/** mulberry32: a small, fast, seedable PRNG with uniform floats in [0, 1). */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Closed-form ridge regression y ≈ b + X·w with an unpenalised intercept: solves the
 * (d+1)×(d+1) normal equations [n, 1ᵀX; Xᵀ1, XᵀX + λI]·[b; w] = [1ᵀy; Xᵀy] by Gaussian
 * elimination with partial pivoting (float64). Written here rather than taken from a package:
 * it is a 40-line dense solve of a system of ~50–100 unknowns, and no maintained JS
 * linear-algebra library is a dependency of this project.
 * X is row-major [n × d].
 */
export function ridgeRegression(X: ArrayLike<number>, y: ArrayLike<number>, n: number, d: number, lambda: number): { intercept: number; weights: Float64Array } {
  if (X.length !== n * d || y.length !== n) throw new Error('ridgeRegression: shape mismatch');
  if (!(lambda >= 0)) throw new Error('ridgeRegression: lambda must be ≥ 0');
  const m = d + 1;
  const A = new Float64Array(m * m);
  const rhs = new Float64Array(m);
  for (let i = 0; i < n; i++) {
    const yi = y[i];
    const row = i * d;
    A[0] += 1;
    rhs[0] += yi;
    for (let j = 0; j < d; j++) {
      const xj = X[row + j];
      if (xj === 0) continue;
      A[j + 1] += xj; // row 0
      rhs[j + 1] += xj * yi;
      for (let k = 0; k < d; k++) A[(j + 1) * m + k + 1] += xj * X[row + k];
    }
  }
  for (let j = 1; j < m; j++) {
    A[j * m] = A[j];
    A[j * m + j] += lambda;
  }
  const sol = solveLinear(A, rhs, m);
  return { intercept: sol[0], weights: sol.subarray(1) };
}

/** Solve A·x = b (A is m×m row-major, both overwritten) by Gaussian elimination with partial pivoting. */
export function solveLinear(A: Float64Array, b: Float64Array, m: number): Float64Array {
  for (let col = 0; col < m; col++) {
    let piv = col;
    for (let r = col + 1; r < m; r++) if (Math.abs(A[r * m + col]) > Math.abs(A[piv * m + col])) piv = r;
    if (Math.abs(A[piv * m + col]) < 1e-12) throw new Error('solveLinear: singular system (add a ridge penalty)');
    if (piv !== col) {
      for (let k = 0; k < m; k++) {
        const t = A[col * m + k];
        A[col * m + k] = A[piv * m + k];
        A[piv * m + k] = t;
      }
      const t = b[col];
      b[col] = b[piv];
      b[piv] = t;
    }
    const p = A[col * m + col];
    for (let r = col + 1; r < m; r++) {
      const f = A[r * m + col] / p;
      if (f === 0) continue;
      for (let k = col; k < m; k++) A[r * m + k] -= f * A[col * m + k];
      b[r] -= f * b[col];
    }
  }
  const x = new Float64Array(m);
  for (let r = m - 1; r >= 0; r--) {
    let s = b[r];
    for (let k = r + 1; k < m; k++) s -= A[r * m + k] * x[k];
    x[r] = s / A[r * m + r];
  }
  return x;
}

/** Segment index of every frame of the whole-file STFT (frame t is centred on sample t·hop). */
export function frameSegments(totalFrames: number, hopLength: number, segmentSamples: number, segments: number): Int32Array {
  const out = new Int32Array(totalFrames);
  for (let t = 0; t < totalFrames; t++) out[t] = Math.min(segments - 1, Math.floor((t * hopLength) / segmentSamples));
  return out;
}

/** Segment weights → [0, 1] per segment: positive weights divided by the largest (all 0 if none is positive). */
export function importanceToLevels(w: ArrayLike<number>): Float32Array {
  let max = 0;
  for (let i = 0; i < w.length; i++) max = Math.max(max, w[i]);
  const out = new Float32Array(w.length);
  if (max > 0) for (let i = 0; i < w.length; i++) out[i] = Math.max(0, w[i]) / max;
  return out;
}

const now = (): number => performance.now();

/** The perturbed inputs' masks and scores: Z [items × segments] (row 0 = unperturbed), y = log-odds of the target. */
export interface PerturbationSamples {
  Z: Uint8Array;
  y: Float64Array;
  items: number;
  segments: number;
  /** Segment of each whole-file frame. */
  segOf: Int32Array;
  timings: Record<string, number>;
}

/** Average-spectrum noise magnitudes [bins × frames] for removal = 'noise' (seeded). */
export function noiseMagnitude(mag: Float32Array, bins: number, frames: number, seed: number): Float32Array {
  const rand = mulberry32(seed ^ 0x5bd1e995);
  const out = new Float32Array(bins * frames);
  const k = Math.sqrt(2 / Math.PI); // Rayleigh(σ): mean σ·√(π/2)
  for (let f = 0; f < bins; f++) {
    let m = 0;
    for (let t = 0; t < frames; t++) m += mag[f * frames + t] / frames;
    const sigma = m * k;
    for (let t = 0; t < frames; t++) out[f * frames + t] = sigma * Math.sqrt(-2 * Math.log(Math.max(1e-12, 1 - rand())));
  }
  return out;
}

/** Score N random segment masks (plus the unperturbed input) with the classifier: the surrogate's training data. */
/**
 * Masks drawn when the caller does not say: 10 per segment of one window, 100 to 300. A 5 s window of
 * 100 ms segments gets 300 (the ESC-50 default); a 1 s window (10 segments) gets 100, which on the
 * drums model scored as well as 300 in bench/results/ground-truth.md's tuning (time-AUC 0.833 vs
 * 0.851, CIs overlapping) at a third of the classifier runs.
 */
export function defaultPerturbationSamples(windowSeconds: number, segmentMs = 100): number {
  return Math.min(300, Math.max(100, 10 * Math.ceil((windowSeconds * 1000) / segmentMs)));
}

export async function perturbationSamples<H>(
  state: Pick<AnalysisState<H>, 'plan' | 'spec' | 'config' | 'magnitude'>,
  runner: ModelRunner<H>,
  target: number,
  opts: PerturbationOptions = {},
): Promise<PerturbationSamples> {
  const { plan, spec, config } = state;
  const C = config.classes;
  if (!Number.isInteger(target) || target < 0 || target >= C) throw new Error(`target class ${target} is out of range 0..${C - 1}`);
  const segmentMs = opts.segmentMs ?? 100;
  const N = Math.max(1, Math.round(opts.samples ?? defaultPerturbationSamples(config.windowSamples / config.sampleRate, segmentMs)));
  const keep = opts.keepProbability ?? 0.5;
  const removal = opts.removal ?? 'silence';
  if (!(segmentMs > 0)) throw new Error(`segmentMs must be > 0 (got ${segmentMs})`);
  if (removal !== 'silence' && removal !== 'noise') throw new Error(`removal must be 'silence' or 'noise' (got ${String(removal)})`);
  const segSamples = (segmentMs / 1000) * config.sampleRate;
  const S = Math.max(1, Math.ceil(plan.length / segSamples));
  const segOf = frameSegments(spec.frames, plan.hopLength, segSamples, S);
  const rand = mulberry32(opts.seed ?? 1);

  // sample 0 = unperturbed; then N random masks
  const items = N + 1;
  const Z = new Uint8Array(items * S);
  Z.fill(1, 0, S);
  for (let i = 1; i < items; i++) for (let s = 0; s < S; s++) Z[i * S + s] = rand() < keep ? 1 : 0;

  const mag = fileMagnitude(state);
  const F = spec.bins;
  const TT = spec.frames;
  const T = plan.windowFrames;
  const noise = removal === 'noise' ? noiseMagnitude(mag, F, TT, opts.seed ?? 1) : null;
  const timings: Record<string, number> = {};
  const t = now();
  const probs = await pooledProbsOf(
    state,
    runner,
    items,
    (item, w, dst, off) => {
      const o = plan.frameOffsets[w];
      sliceFrames(mag, F, TT, o, T, dst, off);
      const z = item * S;
      for (let tt = 0; tt < T; tt++) {
        if (Z[z + segOf[o + tt]]) continue;
        if (noise) for (let f = 0; f < F; f++) dst[off + f * T + tt] = noise[f * TT + o + tt];
        else for (let f = 0; f < F; f++) dst[off + f * T + tt] = 0; // silence the removed segment's columns
      }
    },
    { ...opts, batchSize: opts.batchSize ?? 8, stage: 'perturbation' },
  );
  timings.perturbation = now() - t;
  const y = new Float64Array(items);
  const eps = 1e-6;
  for (let i = 0; i < items; i++) {
    const p = Math.min(1 - eps, Math.max(eps, probs[i * C + target]));
    y[i] = Math.log(p / (1 - p));
  }
  return { Z, y, items, segments: S, segOf, timings };
}

/** Fit the surrogate on (Z, y): per-segment importance (log-odds units; positive supports the target), intercept (ridge) and R². */
export function fitSurrogate(Z: Uint8Array, y: Float64Array, items: number, S: number, opts: PerturbationOptions = {}): { importance: Float32Array; intercept: number; r2: number } {
  const surrogate = opts.surrogate ?? 'ridge';
  if (surrogate === 'forest') {
    const fi = forestImportance(Z, y, items, S, { seed: opts.seed ?? 1, ...opts.forest });
    return { importance: Float32Array.from(fi.dependence), intercept: NaN, r2: fi.r2 };
  }
  if (surrogate !== 'ridge') throw new Error(`surrogate must be 'ridge' or 'forest' (got ${String(surrogate)})`);
  const { intercept, weights } = ridgeRegression(Z, y, items, S, opts.lambda ?? 1);
  let ym = 0;
  for (let i = 0; i < items; i++) ym += y[i] / items;
  let ssRes = 0;
  let ssTot = 0;
  for (let i = 0; i < items; i++) {
    let pred = intercept;
    for (let s = 0; s < S; s++) if (Z[i * S + s]) pred += weights[s];
    ssRes += (y[i] - pred) ** 2;
    ssTot += (y[i] - ym) ** 2;
  }
  return { importance: Float32Array.from(weights), intercept, r2: ssTot > 0 ? 1 - ssRes / ssTot : 1 };
}

/** Segment importances → a [bins × frames] time mask (positive importances scaled to [0, 1]). */
export function importanceMask(importance: ArrayLike<number>, segOf: Int32Array, bins: number, frames: number): Float32Array {
  const levels = importanceToLevels(importance);
  const mask = new Float32Array(bins * frames);
  for (let tt = 0; tt < frames; tt++) {
    const v = levels[segOf[tt]];
    if (v === 0) continue;
    for (let f = 0; f < bins; f++) mask[f * frames + tt] = v;
  }
  return mask;
}

/** Run the perturbation explainer for `target` on an analysed file. */
export async function perturbationExplain<H>(
  state: Pick<AnalysisState<H>, 'plan' | 'spec' | 'config' | 'magnitude'>,
  runner: ModelRunner<H>,
  target: number,
  opts: PerturbationOptions = {},
): Promise<PerturbationResult> {
  const t0 = now();
  const { spec } = state;
  const segmentMs = opts.segmentMs ?? 100;
  const ps = await perturbationSamples(state, runner, target, opts);
  const timings = ps.timings;
  const t = now();
  const { importance, intercept, r2 } = fitSurrogate(ps.Z, ps.y, ps.items, ps.segments, opts);
  const mask = importanceMask(importance, ps.segOf, spec.bins, spec.frames);
  timings.surrogate = now() - t;
  timings.total = now() - t0;
  return {
    mask,
    segmentS: segmentMs / 1000,
    segments: ps.segments,
    importance,
    intercept,
    r2,
    evaluated: ps.items,
    timings,
  };
}
