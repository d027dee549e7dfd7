// Model-dependent parts of the faithfulness metrics: the classifier on masked magnitudes
// M⊙|X| and (1−M)⊙|X| over all windows of a file, batched. Also the shared batched "run the
// classifier on many modified versions of a file" loop used by the perturbation explainer.
//
// Multi-window files: every window of the modified file goes through the classifier and its
// softmax is averaged over windows — the same pooling as the file's own probabilities
// (AnalysisState.probs, the "p" of the metrics). So p, q and r are all file-level pooled
// probabilities; for a single-window clip (all of ESC-50) they are exactly the Python reference's.
import type { AnalysisState, RunOptions } from './explain';
import { sliceFrames, softmaxInto, sourceOf, windowMagnitudeInto, windowPhaseInto } from './explain';
import { clipMetrics, maskMetrics, type ClipMetrics } from './metrics';
import { LEVEL_VALUES, type SoftMask } from './maskLevels';
import { signalFrames, signalPart } from './windows';
import type { ClassifierResult, ModelRunner, WindowPhase } from './modelRunner';
import { magnitude as stftMagnitude, type Spectrogram, type SpecSource } from './stft';
import { cosine } from './textEncoder';
import { yieldToEventLoop } from './macrotask';

const now = (): number => performance.now();

/** The frames of a state: its STFT by range (`source`) or a whole-file spectrogram. */
type Frames = { source?: SpecSource; spec?: Spectrogram };

/** |X| of the whole (padded) file [bins × totalFrames] (recomputed from the STFT if handed over). */
export function fileMagnitude(state: Pick<AnalysisState, 'spec' | 'magnitude'>): Float32Array {
  return state.magnitude ?? stftMagnitude(state.spec);
}

type Fill = (item: number, window: number, dst: Float32Array, offset: number) => void;

/** Options of the metrics: `windows` restricts them to these windows (long files: those on screen, issue 12). */
export type MetricsOptions = RunOptions & { windows?: number[] };

/** The windows of a plan that overlap [t0, t1) seconds (at least the one nearest t0). */
export function windowsInRange(plan: { starts: number[]; windowSamples: number; length: number }, sampleRate: number, t0: number, t1: number): number[] {
  const a = t0 * sampleRate;
  const b = t1 * sampleRate;
  const out = plan.starts.flatMap((s, w) => (s < b && Math.min(s + plan.windowSamples, plan.length) > a ? [w] : []));
  if (out.length) return out;
  let best = 0;
  plan.starts.forEach((s, w) => {
    if (Math.abs(s - a) < Math.abs(plan.starts[best] - a)) best = w;
  });
  return [best];
}

/**
 * Run the classifier on every window of `items` modified versions of a file: `fill(item, window,
 * dst, offset)` writes that version's input for one window ([bins × windowFrames], bin-major, at
 * dst[offset]); (item, window) pairs run in batches of `batchSize`; `take(result, row, item)`
 * receives each row's outputs.
 */
async function runModified<H>(
  state: Pick<AnalysisState, 'plan'> & Frames,
  runner: ModelRunner<H>,
  items: number,
  fill: Fill,
  take: (res: ClassifierResult<H>, row: number, item: number) => void,
  opts: MetricsOptions & { stage?: string } = {},
): Promise<void> {
  const { plan } = state;
  const wins = opts.windows ?? plan.starts.map((_, w) => w);
  const nWin = wins.length;
  const per = sourceOf(state).bins * plan.windowFrames;
  const batch = Math.max(1, opts.batchSize ?? 8);
  const total = items * nWin;
  const stage = opts.stage ?? 'classifier';
  // a waveform classifier hears ISTFT(modified |X| · e^{j∠X}): each window's phase is computed
  // once per run and reused by every item, unless keeping all windows' phases would pass 64 MiB
  // (long files), where it is recomputed per row
  const phaseCache = nWin * per * 8 <= 64 * 1024 * 1024 ? new Map<number, WindowPhase>() : null;
  const windowPhases =
    runner.inputKind === 'waveform'
      ? (w: number): WindowPhase => {
          let p = phaseCache?.get(w);
          if (!p) {
            p = { re: new Float32Array(per), im: new Float32Array(per) };
            windowPhaseInto(state, w, p.re, p.im, 0);
            phaseCache?.set(w, p);
          }
          return p;
        }
      : null;
  opts.onProgress?.({ stage, done: 0, total: items });
  for (let start = 0; start < total; start += batch) {
    opts.signal?.throwIfAborted();
    const n = Math.min(batch, total - start);
    const input = new Float32Array(n * per);
    const phase = windowPhases ? { re: new Float32Array(n * per), im: new Float32Array(n * per) } : undefined;
    for (let b = 0; b < n; b++) {
      const k = start + b;
      fill(Math.floor(k / nWin), wins[k % nWin], input, b * per);
      if (phase && windowPhases) {
        const w = windowPhases(wins[k % nWin]);
        phase.re.set(w.re, b * per);
        phase.im.set(w.im, b * per);
      }
    }
    const res = await runner.runClassifier(input, n, phase);
    runner.releaseHidden(res.hidden);
    for (let b = 0; b < n; b++) take(res, b, Math.floor((start + b) / nWin));
    opts.onProgress?.({ stage, done: Math.floor((start + n) / nWin), total: items });
    await yieldToEventLoop();
  }
}

/**
 * Pooled class probabilities of `items` modified versions of a file (see runModified for `fill`):
 * softmax per window, averaged over windows. Returns [items × classes].
 */
export async function pooledProbsOf<H>(
  state: Pick<AnalysisState, 'plan' | 'config'> & Frames,
  runner: ModelRunner<H>,
  items: number,
  fill: Fill,
  opts: MetricsOptions & { stage?: string } = {},
): Promise<Float32Array> {
  const C = state.config.classes;
  const nWin = opts.windows?.length ?? state.plan.starts.length;
  const out = new Float32Array(items * C);
  const sm = new Float32Array(C);
  await runModified(
    state,
    runner,
    items,
    fill,
    ({ logits }, b, item) => {
      // softmaxInto reads/writes at the same offset: copy this row first
      for (let c = 0; c < C; c++) sm[c] = logits[b * C + c];
      softmaxInto(sm, sm, 0, C);
      for (let c = 0; c < C; c++) out[item * C + c] += sm[c] / nWin;
    },
    opts,
  );
  return out;
}

/** fill() for the masked-in (item 0) and masked-out (item 1) magnitudes of a whole-file mask (float values or 8-bit levels). */
function maskedFill(state: Pick<AnalysisState, 'plan' | 'magnitude'> & Frames, mask: SoftMask): Fill {
  const { plan } = state;
  const { bins: F, frames: TT } = sourceOf(state);
  const T = plan.windowFrames;
  if (mask.length !== F * TT) throw new Error(`mask has ${mask.length} values, expected ${F} × ${TT}`);
  // short files: the whole-file |X| once; long ones (no whole-file STFT, issue 12): a window's |X| when it is filled
  const mag = sourceOf(state).whole ? fileMagnitude(state as Pick<AnalysisState, 'spec' | 'magnitude'>) : null;
  const m8 = mask instanceof Uint8Array ? mask : null;
  return (item, w, dst, off) => {
    const o = plan.frameOffsets[w];
    if (mag) sliceFrames(mag, F, TT, o, T, dst, off);
    else windowMagnitudeInto(state, w, dst, off);
    for (let f = 0; f < F; f++) {
      const src = f * TT + o;
      const d = off + f * T;
      if (m8) {
        // levels: value level / 255, as the ISTFT applies them
        if (item === 0) for (let t = 0; t < T; t++) dst[d + t] *= LEVEL_VALUES[m8[src + t]];
        else for (let t = 0; t < T; t++) dst[d + t] *= 1 - LEVEL_VALUES[m8[src + t]];
      } else if (item === 0) for (let t = 0; t < T; t++) dst[d + t] *= mask[src + t];
      else for (let t = 0; t < T; t++) dst[d + t] *= 1 - mask[src + t];
    }
  };
}

/** File-level similarity of a file to a prompt: the mean over windows of cos(window embedding, prompt embedding). */
export function promptSimilarity(embeddings: Float32Array, prompt: Float32Array): number {
  const D = prompt.length;
  const n = embeddings.length / D;
  let s = 0;
  for (let w = 0; w < n; w++) s += cosine(embeddings, prompt, w * D, 0, D);
  return n > 0 ? s / n : 0;
}

/** Similarities to a prompt of the original, M⊙|X| and (1−M)⊙|X| (each averaged over windows), for zero-shot bundles. */
export async function maskedPromptSimilarity<H>(
  state: Pick<AnalysisState, 'plan' | 'magnitude' | 'embeddings'> & Frames,
  runner: ModelRunner<H>,
  prompt: Float32Array,
  mask: SoftMask,
  opts: MetricsOptions = {},
): Promise<PromptSimilarity> {
  if (!state.embeddings) throw new Error('this bundle has no audio embedding: prompt similarity is not available');
  const D = prompt.length;
  const nWin = opts.windows?.length ?? state.plan.starts.length;
  const acc = [0, 0];
  await runModified(
    state,
    runner,
    2,
    maskedFill(state, mask),
    ({ embedding }, b, item) => {
      if (!embedding) throw new Error('the audio encoder returned no embedding');
      acc[item] += cosine(embedding, prompt, b * D, 0, D) / nWin;
    },
    { ...opts, stage: 'metrics' },
  );
  const emb = opts.windows ? windowRows(state.embeddings, D, opts.windows) : state.embeddings;
  return { original: promptSimilarity(emb, prompt), maskedIn: acc[0], maskedOut: acc[1] };
}

/** Audio–prompt cosine similarities of the original and of the explanation's masked-in / masked-out parts. */
export interface PromptSimilarity {
  original: number;
  maskedIn: number;
  maskedOut: number;
}

/** Pooled probabilities of M⊙|X| and (1−M)⊙|X| for a whole-file mask [bins × totalFrames]. */
export async function maskedProbs<H>(
  state: Pick<AnalysisState, 'plan' | 'config' | 'magnitude'> & Frames,
  runner: ModelRunner<H>,
  mask: SoftMask,
  opts: MetricsOptions = {},
): Promise<{ q: Float32Array; r: Float32Array }> {
  const C = state.config.classes;
  const res = await pooledProbsOf(state, runner, 2, maskedFill(state, mask), { ...opts, stage: 'metrics' });
  return { q: res.slice(0, C), r: res.slice(C, 2 * C) };
}

/**
 * Metrics of one explanation (methods.md): p = the file's pooled probabilities, q/r = pooled
 * probabilities of the masked-in / masked-out magnitudes, SPS/COMP/MM of the mask as shown
 * (binary when thresholded). Adds `metrics` (ms) to `timings` when given.
 */
export async function explanationMetrics<H>(
  state: Pick<AnalysisState, 'plan' | 'config' | 'magnitude' | 'probs' | 'windowProbs'> & Frames,
  runner: ModelRunner<H>,
  target: number,
  mask: SoftMask,
  opts: MetricsOptions = {},
  timings?: Record<string, number>,
): Promise<ClipMetrics> {
  const t = now();
  const { q, r } = await maskedProbs(state, runner, mask, opts);
  const w = opts.windows;
  // restricted to some windows: p pooled over them, the mask statistics over their frames (all
  // windows' frames are the signal frames: how levels become values for them)
  const p = w ? pooledOver(state.windowProbs, state.config.classes, w) : state.probs;
  const fw = w ?? (mask instanceof Uint8Array ? state.plan.starts.map((_, i) => i) : null);
  const m = clipMetrics(p, q, r, target, maskMetrics(fw ? framesOf(mask, sourceOf(state).bins, state.plan, fw) : signalPart(mask as Float32Array, state.plan)));
  if (timings) timings.metrics = now() - t;
  return m;
}

/** Rows `windows` of a [rows × D] array. */
function windowRows(a: Float32Array, D: number, windows: number[]): Float32Array {
  const out = new Float32Array(windows.length * D);
  windows.forEach((w, i) => out.set(a.subarray(w * D, (w + 1) * D), i * D));
  return out;
}

/** Mean of some rows of per-window probabilities [windows × C]. */
export function pooledOver(windowProbs: Float32Array, C: number, windows: number[]): Float32Array {
  const out = new Float32Array(C);
  for (const w of windows) for (let c = 0; c < C; c++) out[c] += windowProbs[w * C + c] / windows.length;
  return out;
}

/** The signal frames a run of windows covers, [bins × frames], cut from a whole-file mask (levels become their values). */
export function framesOf(mask: SoftMask, bins: number, plan: AnalysisState['plan'], windows: number[]): Float32Array {
  const TT = plan.totalFrames;
  const a = Math.min(...windows.map((w) => plan.frameOffsets[w]));
  // not past the real signal: the zero padding of a short clip is inaudible whatever its mask (issue 13)
  const b = Math.min(signalFrames(plan), Math.max(...windows.map((w) => plan.frameOffsets[w] + plan.windowFrames)));
  const n = b - a;
  const out = new Float32Array(bins * n);
  if (mask instanceof Uint8Array) for (let f = 0; f < bins; f++) for (let t = a; t < b; t++) out[f * n + t - a] = LEVEL_VALUES[mask[f * TT + t]];
  else for (let f = 0; f < bins; f++) out.set(mask.subarray(f * TT + a, f * TT + b), f * n);
  return out;
}
