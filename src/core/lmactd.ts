// LMAC-TD over a whole file (issue 14, docs/DESIGN.md "Time-domain decoder"): per window the
// classifier's hidden outputs (cached by analyze) and the window's waveform go through the time
// decoder, which gives the explanation as a waveform; the window explanations are cross-faded
// with per-sample weights that sum to 1, so the file's explanation + residual (= original −
// explanation) is the original exactly. The spectrogram overlay ("mask") is
// min(1, |STFT(explanation)| / |X|), and the faithfulness metrics run the classifier on
// |STFT(explanation)| and |STFT(residual)|.
import type { AnalysisState, FocusRange, RunOptions } from './explain';
import { focusOrder, sourceOf, windowBatch, windowMagnitudeInto, windowPhase } from './explain';
import { framesOf, pooledOver, pooledProbsOf, type MetricsOptions } from './faithfulness';
import { clipMetrics, maskMetrics, type ClipMetrics } from './metrics';
import type { ModelRunner } from './modelRunner';
import { BLOCK_FRAMES, magnitude as stftMagnitude, signalSource, specSource, stft, stftFrames, type SpecSource, type Spectrogram } from './stft';
import { padToPlan, signalPart, type WindowPlan } from './windows';
import { yieldToEventLoop } from './macrotask';
import { residualInto, samplesInto, type Samples } from './samples';

const now = (): number => performance.now();

/** The taper of one window's explanation before normalisation: sin(π(n + ½)/W), positive everywhere. */
function taper(windowSamples: number): Float64Array {
  const t = new Float64Array(windowSamples);
  for (let n = 0; n < windowSamples; n++) t[n] = Math.sin((Math.PI * (n + 0.5)) / windowSamples);
  return t;
}

/**
 * Per-sample cross-fade weights of window `w` ([windowSamples]): the taper divided by the sum of
 * the tapers of all windows covering each sample, so that at every sample of the padded signal
 * the weights of its windows sum to 1 (up to float64 rounding). Computed per window from its
 * neighbours (window starts are sorted, so only a few overlap), without a file-length buffer.
 */
export function crossfadeWeights(plan: WindowPlan, w: number, tap: Float64Array = taper(plan.windowSamples)): Float64Array {
  const W = plan.windowSamples;
  const s = plan.starts[w];
  const out = new Float64Array(W);
  const near: number[] = [];
  for (let j = w - 1; j >= 0 && plan.starts[j] + W > s; j--) near.push(j);
  for (let j = w + 1; j < plan.starts.length && plan.starts[j] < s + W; j++) near.push(j);
  for (let n = 0; n < W; n++) {
    const i = s + n;
    let total = tap[n];
    for (const j of near) {
      const k = i - plan.starts[j];
      if (k >= 0 && k < W) total += tap[k];
    }
    out[n] = tap[n] / total;
  }
  return out;
}

/** Window `w` of the signal zero-padded to the plan (the samples the classifier's |X| of that window came from). */
export function windowWaveformInto(x: Samples, plan: WindowPlan, w: number, dst: Float32Array, offset: number): void {
  const s = plan.starts[w];
  const end = Math.min(x.length, s + plan.windowSamples);
  dst.fill(0, offset, offset + plan.windowSamples);
  if (end > s) samplesInto(x, s, end, dst, offset);
}

/** Accumulates per-window explanations [windowSamples] into one of the original length, cross-faded. */
export class WaveStitcher {
  readonly out: Float32Array;
  private readonly acc: Float64Array;
  private readonly added: boolean[];
  private readonly tap: Float64Array;

  constructor(readonly plan: WindowPlan) {
    this.acc = new Float64Array(plan.length);
    this.out = new Float32Array(plan.length);
    this.added = plan.starts.map(() => false);
    this.tap = taper(plan.windowSamples);
  }

  /** Add window `index`'s explanation, read from `src` at `offset`. */
  add(index: number, src: Float32Array, offset = 0): void {
    if (this.added[index]) throw new Error(`WaveStitcher: window ${index} added twice`);
    const W = this.plan.windowSamples;
    if (src.length < offset + W) throw new Error('WaveStitcher: window explanation too short');
    const wt = crossfadeWeights(this.plan, index, this.tap);
    const s = this.plan.starts[index];
    const n = Math.min(W, this.plan.length - s);
    for (let k = 0; k < n; k++) this.acc[s + k] += wt[k] * src[offset + k];
    this.added[index] = true;
  }

  /**
   * The run of samples [start, end) around window `w` (added) whose windows are all added, so
   * that their sums are final: from the end of the nearest window before it that is not added to
   * the start of the nearest one after it that is not (window starts and ends are sorted).
   */
  finalRange(w: number): { start: number; end: number } {
    if (!this.added[w]) throw new Error(`WaveStitcher: window ${w} is not added`);
    let lo = w;
    let hi = w;
    while (lo > 0 && this.added[lo - 1]) lo--;
    while (hi < this.added.length - 1 && this.added[hi + 1]) hi++;
    const { starts, windowSamples: W, length } = this.plan;
    const start = lo > 0 ? Math.min(length, starts[lo - 1] + W) : 0;
    const end = hi < starts.length - 1 ? Math.min(length, starts[hi + 1]) : length;
    return { start, end: Math.max(start, end) };
  }

  /** Samples [start, end) as they stand (a copy; final where finalRange says so). */
  part(start: number, end: number): Float32Array {
    return Float32Array.from(this.acc.subarray(start, end));
  }

  /** The cross-faded explanation (original length); throws if a window is missing. */
  result(): Float32Array {
    const missing = this.added.indexOf(false);
    if (missing >= 0) throw new Error(`WaveStitcher: window ${missing} was not added`);
    for (let i = 0; i < this.acc.length; i++) this.out[i] = this.acc[i];
    return this.out;
  }
}

export interface TimeExplanation {
  target: number;
  /** Original length, model rate. */
  explanation: Float32Array;
  /** original − explanation. */
  residual: Float32Array;
  /** min(1, |STFT(explanation)| / (|X| + ε)), [bins × totalFrames] like an L-MAC mask. */
  mask: Float32Array;
  timings: Record<string, number>;
}

/** ε of the overlay ratio: 80 dB below the file's largest |X| (the range the spectrogram shows), so silence gives 0, not noise. */
export const RATIO_FLOOR_DB = 80;

/**
 * The STFT of a signal of the file's length on the file's plan, as a SpecSource: the whole-file
 * STFT when the file's own analysis has one (short files), else frames computed on demand from
 * the signal (long files, issue 12: no whole-file spectrogram is held).
 */
function sourceFor(state: Pick<AnalysisState, 'plan' | 'config'> & { source?: SpecSource; spec?: Spectrogram }, x: Float32Array): SpecSource {
  const whole = !!sourceOf(state).whole;
  return whole ? specSource(stft(padToPlan(x, state.plan), state.config.stft)) : signalSource(x, state.plan.paddedLength, state.config.stft);
}

/** Frames per block when the overlay is computed from SpecSources (long files; BLOCK_FRAMES: not a power of two, see there). */
const RATIO_BLOCK_FRAMES = BLOCK_FRAMES;

type RatioState = Pick<AnalysisState, 'plan' | 'magnitude' | 'config'> & { source?: SpecSource; spec?: Spectrogram; maxMagnitude?: number };

/** ε of the overlay ratio, max|X| · 10^(−80/20) (+1e-12): the file's largest |X| as explanationRatioMask takes it. */
export function ratioEpsilon(state: RatioState): number {
  const src = sourceOf(state);
  let max = 0;
  if (src.whole) {
    const mag = state.magnitude ?? stftMagnitude(src.whole);
    for (let i = 0; i < mag.length; i++) if (mag[i] > max) max = mag[i];
  } else {
    max = state.maxMagnitude ?? 0;
    if (!(max > 0))
      for (let t0 = 0; t0 < src.frames; t0 += RATIO_BLOCK_FRAMES) {
        const m = stftMagnitude(src.block(t0, Math.min(src.frames, t0 + RATIO_BLOCK_FRAMES)));
        for (let i = 0; i < m.length; i++) if (m[i] > max) max = m[i];
      }
  }
  return max * 10 ** (-RATIO_FLOOR_DB / 20) + 1e-12;
}

/**
 * The overlay frames that samples [start, start + part.length) of the explanation determine (a
 * focused part): frames [frame0, frame1) whose STFT window reads only those samples (at the file's
 * ends, its reflect / zero padding too), and min(1, |E| / (|X| + eps)) there ([bins × n], bin-major):
 * the values explanationRatioMask gives those frames once the whole explanation is known (the same
 * per-frame STFT arithmetic on the same samples, shifted by a multiple of the hop).
 */
export function explanationRatioFrames(state: RatioState, part: Float32Array, start: number, eps: number): { frame0: number; frame1: number; mask: Float32Array } {
  const { hopLength: hop, nFft } = state.config.stft;
  const half = nFft / 2;
  const src = sourceOf(state);
  const { plan } = state;
  const end = start + part.length;
  const frame0 = start === 0 ? 0 : Math.ceil((start + half) / hop);
  const frame1 = end >= plan.length ? src.frames : Math.max(frame0, Math.min(src.frames, Math.floor((end - half) / hop) + 1));
  if (frame1 <= frame0) return { frame0, frame1: frame0, mask: new Float32Array(0) };
  const off = Math.floor(start / hop) * hop;
  const y = new Float32Array(end - off);
  y.set(part, start - off);
  const e = stftMagnitude(stftFrames(y, plan.paddedLength - off, state.config.stft, frame0 - off / hop, frame1 - off / hop));
  const x = stftMagnitude(src.block(frame0, frame1));
  const mask = new Float32Array(x.length);
  for (let i = 0; i < x.length; i++) mask[i] = Math.min(1, e[i] / (x[i] + eps));
  return { frame0, frame1, mask };
}

/**
 * The overlay of a time-domain explanation: min(1, |STFT(e)| / (|X| + ε)) on the whole-file STFT
 * grid (the explanation zero-padded to the plan, the same STFT parameters), ε = max|X| · 10^(−80/20).
 * Long files (no whole-file STFT): computed a block of frames at a time from both signals.
 */
export function explanationRatioMask(state: RatioState, explanation: Float32Array, eps: number = ratioEpsilon(state)): Float32Array {
  const src = sourceOf(state);
  const { bins: F, frames: TT } = src;
  const out = new Float32Array(F * TT);
  const eSrc = sourceFor(state, explanation);
  if (src.whole && eSrc.whole) {
    const mag = state.magnitude ?? stftMagnitude(src.whole);
    const e = stftMagnitude(eSrc.whole);
    for (let i = 0; i < mag.length; i++) out[i] = Math.min(1, e[i] / (mag[i] + eps));
    return out;
  }
  const blocks: [number, number][] = [];
  for (let t0 = 0; t0 < TT; t0 += RATIO_BLOCK_FRAMES) blocks.push([t0, Math.min(TT, t0 + RATIO_BLOCK_FRAMES)]);
  for (const [t0, t1] of blocks) {
    const n = t1 - t0;
    const x = stftMagnitude(src.block(t0, t1));
    const e = stftMagnitude(eSrc.block(t0, t1));
    for (let f = 0; f < F; f++) for (let t = 0; t < n; t++) out[f * TT + t0 + t] = Math.min(1, e[f * n + t] / (x[f * n + t] + eps));
  }
  return out;
}

/** The focused part of a time-domain explanation, before the rest of the file (long files). */
export interface TimeFocus {
  /** Samples [start, end) of the explanation are final (all their windows are in). */
  start: number;
  end: number;
  /** Those samples of the explanation ([end − start]); the residual there is the original minus them. */
  explanation: Float32Array;
  /** Overlay frames [frame0, frame1) that those samples determine, and their values ([bins × (frame1 − frame0)], bin-major). */
  frame0: number;
  frame1: number;
  mask: Float32Array;
  windowsDone: number;
  windowsTotal: number;
}

export interface TimeDomainOptions extends RunOptions {
  /** Decode the windows that overlap this frame range first, then outwards from it (as L-MAC's StitchOptions.focus). */
  focus?: FocusRange;
  /** Called once the focused windows are cross-faded, when other windows remain. */
  onFocus?: (f: TimeFocus) => void;
}

/**
 * Explain `target` with the bundle's time decoder over the whole file: per batch of windows (the
 * cached hidden outputs, or the classifier again when not cached) → explanations → cross-faded;
 * residual = original − explanation; the overlay mask. `state.original` must be kept.
 * With `opts.focus` the batches overlapping it go first (then by distance) and `opts.onFocus` gets
 * the final run of samples around it: the cross-fade weights are fixed per window, so those samples
 * are those of the whole-file result (up to the order of a float64 sum of ≤ 2–3 terms).
 */
export async function timeDomainExplain<H>(
  state: AnalysisState<H>,
  runner: ModelRunner<H>,
  target: number,
  opts: TimeDomainOptions = {},
): Promise<TimeExplanation> {
  const t0 = now();
  const { signal, onProgress } = opts;
  if (!runner.hasTimeDecoder || !runner.runTimeDecoder) throw new Error('this bundle has no time decoder: LMAC-TD explanations are not available');
  if (!Number.isInteger(target) || target < 0 || target >= state.config.classes)
    throw new Error(`target class ${target} is out of range 0..${state.config.classes - 1}`);
  const x = state.original;
  if (!x || x.length !== state.plan.length) throw new Error('LMAC-TD needs the analysed signal (the analysis did not keep it)');
  const { plan } = state;
  const W = plan.windowSamples;
  const nWin = plan.starts.length;
  const stitcher = new WaveStitcher(plan);
  const timings: Record<string, number> = {};
  let tDec = 0;
  let tCls = 0;
  let tStitch = 0;
  const chunks = state.chunks.length
    ? state.chunks
    : Array.from({ length: Math.ceil(nWin / Math.max(1, opts.batchSize ?? 4)) }, (_, i) => {
        const b = Math.max(1, opts.batchSize ?? 4);
        return { windows: Array.from({ length: Math.min(b, nWin - i * b) }, (_, k) => i * b + k), hidden: null as H | null };
      });
  onProgress?.({ stage: 'time decoder', done: 0, total: nWin });
  let done = 0;
  const { order, focused } = focusOrder(plan, chunks, opts.focus);
  let eps: number | undefined;
  for (let ci = 0; ci < order.length; ci++) {
    const chunk = chunks[order[ci]];
    signal?.throwIfAborted();
    const B = chunk.windows.length;
    const wave = new Float32Array(B * W);
    chunk.windows.forEach((w, b) => windowWaveformInto(x, plan, w, wave, b * W));
    let hidden = chunk.hidden;
    let t: number;
    if (!hidden) {
      t = now();
      hidden = (await runner.runClassifier(windowBatch(state, chunk.windows), B, windowPhase(state, runner, chunk.windows))).hidden;
      tCls += now() - t;
    }
    t = now();
    let e: Float32Array;
    try {
      e = await runner.runTimeDecoder(hidden, wave, chunk.windows.map(() => target));
    } finally {
      if (!chunk.hidden) runner.releaseHidden(hidden);
    }
    tDec += now() - t;
    t = now();
    chunk.windows.forEach((w, b) => stitcher.add(w, e, b * W));
    tStitch += now() - t;
    done += B;
    if (opts.onFocus && opts.focus && ci === focused - 1 && ci < order.length - 1) {
      t = now();
      // the window the focus' middle frame falls in (or the first one decoded), and the final samples around it
      const mid = Math.floor((opts.focus.frame0 + opts.focus.frame1) / 2);
      const T = plan.windowFrames;
      const inFocus = order.slice(0, focused).flatMap((i) => chunks[i].windows);
      const w = inFocus.find((v) => plan.frameOffsets[v] <= mid && mid < plan.frameOffsets[v] + T) ?? inFocus[0];
      const { start, end } = stitcher.finalRange(w);
      const part = stitcher.part(start, end);
      eps ??= ratioEpsilon(state);
      const r = explanationRatioFrames(state, part, start, eps);
      timings.focus = now() - t;
      opts.onFocus({ start, end, explanation: part, frame0: r.frame0, frame1: r.frame1, mask: r.mask, windowsDone: done, windowsTotal: nWin });
    }
    onProgress?.({ stage: 'time decoder', done, total: nWin });
    await yieldToEventLoop();
  }
  let t = now();
  const explanation = stitcher.result();
  const residual = new Float32Array(x.length);
  residualInto(x, 0, explanation, residual);
  tStitch += now() - t;
  timings.timeDecoder = tDec;
  if (tCls > 0) timings.classifier = tCls;
  timings.stitch = tStitch;
  signal?.throwIfAborted();
  t = now();
  const mask = explanationRatioMask(state, explanation, eps);
  timings.ratio = now() - t;
  timings.total = now() - t0;
  return { target, explanation, residual, mask, timings };
}

/**
 * Pooled class probabilities of some signals of the file's length (e.g. explanation and residual):
 * each one's STFT on the same plan (whole, or frames per window for long files), its windows
 * through the classifier, softmax per window averaged over the windows (all, or `opts.windows`).
 * Returns [items × classes].
 */
export async function signalProbs<H>(
  state: Pick<AnalysisState, 'plan' | 'config'> & { source?: SpecSource; spec?: Spectrogram },
  runner: ModelRunner<H>,
  signals: Float32Array[],
  opts: MetricsOptions = {},
): Promise<Float32Array> {
  const C = state.config.classes;
  const out = new Float32Array(signals.length * C);
  for (let i = 0; i < signals.length; i++) {
    const source = sourceFor(state, signals[i]);
    const one = { plan: state.plan, config: state.config, source, magnitude: source.whole ? stftMagnitude(source.whole) : null };
    const p = await pooledProbsOf(one, runner, 1, (_item, w, dst, off) => void windowMagnitudeInto(one, w, dst, off), { ...opts, stage: 'metrics' });
    out.set(p, i * C);
  }
  return out;
}

/**
 * Faithfulness metrics of a time-domain explanation (methods.md): p = the file's pooled
 * probabilities, q / r = those of the explanation / residual waveforms, SPS/COMP/MM of the
 * overlay mask as shown. With `opts.windows` (long files: those on screen) all of them over
 * those windows only, as for L-MAC.
 */
export async function timeDomainMetrics<H>(
  state: Pick<AnalysisState, 'plan' | 'config' | 'probs' | 'windowProbs'> & { source?: SpecSource; spec?: Spectrogram },
  runner: ModelRunner<H>,
  target: number,
  explanation: Float32Array,
  residual: Float32Array,
  shownMask: Float32Array,
  opts: MetricsOptions = {},
  timings?: Record<string, number>,
): Promise<ClipMetrics> {
  const t = now();
  const C = state.config.classes;
  const qr = await signalProbs(state, runner, [explanation, residual], opts);
  const w = opts.windows;
  const p = w ? pooledOver(state.windowProbs, C, w) : state.probs;
  const m = clipMetrics(p, qr.slice(0, C), qr.slice(C), target, maskMetrics(w ? framesOf(shownMask, sourceOf(state).bins, state.plan, w) : signalPart(shownMask, state.plan)));
  if (timings) timings.metrics = now() - t;
  return m;
}
