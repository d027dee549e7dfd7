// Model-dependent parts of the faithfulness metrics: the classifier on masked magnitudes
// M⊙|X| and (1−M)⊙|X| over all windows of a file, batched. Also the shared batched "run the
// classifier on many modified versions of a file" loop used by the perturbation explainer.
//
// Multi-window files: every window of the modified file goes through the classifier and its
// softmax is averaged over windows — the same pooling as the file's own probabilities
// (AnalysisState.probs, the "p" of the metrics). So p, q and r are all file-level pooled
// probabilities; for a single-window clip (all of ESC-50) they are exactly the Python reference's.
import type { AnalysisState, RunOptions } from './explain';
import { sliceFrames, softmaxInto } from './explain';
import { clipMetrics, maskMetrics, type ClipMetrics } from './metrics';
import type { ModelRunner } from './modelRunner';
import { magnitude as stftMagnitude } from './stft';

const now = (): number => performance.now();
const yieldToEventLoop = (): Promise<void> => new Promise((r) => setTimeout(r, 0));

/** |X| of the whole (padded) file [bins × totalFrames] (recomputed from the STFT if handed over). */
export function fileMagnitude(state: Pick<AnalysisState, 'spec' | 'magnitude'>): Float32Array {
  return state.magnitude ?? stftMagnitude(state.spec);
}

/**
 * Pooled class probabilities of `items` modified versions of a file: `fill(item, window, dst, offset)`
 * writes that version's classifier input for one window ([bins × windowFrames], bin-major, starting
 * at dst[offset]). (item, window) pairs run in batches of `batchSize`. Returns [items × classes].
 */
export async function pooledProbsOf<H>(
  state: Pick<AnalysisState, 'plan' | 'spec' | 'config'>,
  runner: ModelRunner<H>,
  items: number,
  fill: (item: number, window: number, dst: Float32Array, offset: number) => void,
  opts: RunOptions & { stage?: string } = {},
): Promise<Float32Array> {
  const { plan, spec } = state;
  const C = state.config.classes;
  const nWin = plan.starts.length;
  const per = spec.bins * plan.windowFrames;
  const batch = Math.max(1, opts.batchSize ?? 8);
  const total = items * nWin;
  const out = new Float32Array(items * C);
  const sm = new Float32Array(C);
  const stage = opts.stage ?? 'classifier';
  opts.onProgress?.({ stage, done: 0, total: items });
  for (let start = 0; start < total; start += batch) {
    opts.signal?.throwIfAborted();
    const n = Math.min(batch, total - start);
    const input = new Float32Array(n * per);
    for (let b = 0; b < n; b++) {
      const k = start + b;
      fill(Math.floor(k / nWin), k % nWin, input, b * per);
    }
    const { logits, hidden } = await runner.runClassifier(input, n);
    runner.releaseHidden(hidden);
    for (let b = 0; b < n; b++) {
      const k = start + b;
      const item = Math.floor(k / nWin);
      // softmaxInto reads/writes at the same offset: copy this row first
      for (let c = 0; c < C; c++) sm[c] = logits[b * C + c];
      softmaxInto(sm, sm, 0, C);
      for (let c = 0; c < C; c++) out[item * C + c] += sm[c] / nWin;
    }
    opts.onProgress?.({ stage, done: Math.floor((start + n) / nWin), total: items });
    await yieldToEventLoop();
  }
  return out;
}

/** Pooled probabilities of M⊙|X| (and, if `withOut`, of (1−M)⊙|X|) for a whole-file mask [bins × totalFrames]. */
export async function maskedProbs<H>(
  state: Pick<AnalysisState, 'plan' | 'spec' | 'config' | 'magnitude'>,
  runner: ModelRunner<H>,
  mask: Float32Array,
  opts: RunOptions = {},
): Promise<{ q: Float32Array; r: Float32Array }> {
  const { plan, spec } = state;
  const F = spec.bins;
  const TT = spec.frames;
  const T = plan.windowFrames;
  if (mask.length !== F * TT) throw new Error(`mask has ${mask.length} values, expected ${F} × ${TT}`);
  const mag = fileMagnitude(state);
  const C = state.config.classes;
  const res = await pooledProbsOf(
    state,
    runner,
    2,
    (item, w, dst, off) => {
      const o = plan.frameOffsets[w];
      sliceFrames(mag, F, TT, o, T, dst, off);
      for (let f = 0; f < F; f++) {
        const src = f * TT + o;
        const d = off + f * T;
        if (item === 0) for (let t = 0; t < T; t++) dst[d + t] *= mask[src + t];
        else for (let t = 0; t < T; t++) dst[d + t] *= 1 - mask[src + t];
      }
    },
    { ...opts, stage: 'metrics' },
  );
  return { q: res.slice(0, C), r: res.slice(C, 2 * C) };
}

/**
 * Metrics of one explanation (methods.md): p = the file's pooled probabilities, q/r = pooled
 * probabilities of the masked-in / masked-out magnitudes, SPS/COMP/MM of the mask as shown
 * (binary when thresholded). Adds `metrics` (ms) to `timings` when given.
 */
export async function explanationMetrics<H>(
  state: Pick<AnalysisState, 'plan' | 'spec' | 'config' | 'magnitude' | 'probs'>,
  runner: ModelRunner<H>,
  target: number,
  mask: Float32Array,
  opts: RunOptions = {},
  timings?: Record<string, number>,
): Promise<ClipMetrics> {
  const t = now();
  const { q, r } = await maskedProbs(state, runner, mask, opts);
  const m = clipMetrics(state.probs, q, r, target, maskMetrics(mask));
  if (timings) timings.metrics = now() - t;
  return m;
}
