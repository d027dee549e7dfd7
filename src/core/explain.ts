// The L-MAC pipeline over a whole file: STFT → windows → classifier (batched) → per-window and
// pooled probabilities + hidden cache; then for a target: decoder (batched) → stitched mask →
// optional threshold → masked-in / masked-out audio by ISTFT. See docs/DESIGN.md.
import type { Manifest } from './manifest';
import type { ModelRunner, PromptEmbedding, WindowPhase } from './modelRunner';
import { istft, istftFrom, istftStream, magnitude as stftMagnitude, signalSource, specSource, stft, unitPhaseInto, type Spectrogram, type SpecSource, type StftParams } from './stft';
import { MaskStitcher, padToPlan, planWindows, signalMaskMean, type WindowPlan } from './windows';
import { binaryMaskLevels, levelsOf, quantizeMask, type SoftMask } from './maskLevels';
import { PeakAccumulator, PEAK_BUCKETS, peaks } from './peaks';
import { WavBlobWriter, wavBlob, type WavSink } from './wav';
import { yieldToEventLoop } from './macrotask';
import { floatSamples, residualInto, type Samples } from './samples';

export interface Progress {
  stage: string;
  done: number;
  total: number;
}

export interface RunOptions {
  /** Windows per model run (default 4). */
  batchSize?: number;
  onProgress?: (p: Progress) => void;
  /** Checked between batches; aborting rejects with signal.reason (an AbortError by default). */
  signal?: AbortSignal;
}

export interface AnalyzeOptions extends RunOptions {
  /** Keep the classifier's hidden outputs up to this many bytes (default 768 MiB); beyond, explain() recomputes them. */
  maxCacheBytes?: number;
  /**
   * Signals longer than this many seconds keep no whole-file STFT (issue 12): every window's
   * frames are computed from the samples when needed (default 120 s).
   */
  wholeStftMaxS?: number;
  /**
   * Two passes (issue 12), for files of more than TWO_PASS_MIN_WINDOWS windows: first the windows
   * that tile the file (`firstPassWindows`: every other one and the last), then this is called with
   * the state (probs = their mean, `fill` set: the rest of the windows are still being classified,
   * and a decoder may already use what is done, `stitchedMask`), then the other windows. The final
   * state is the one-shot analysis' (the same windows, probabilities pooled in window order).
   */
  onProvisional?: (state: AnalysisState) => void;
}

/** Files of more windows than this are analysed in two passes when `onProvisional` is given. */
export const TWO_PASS_MIN_WINDOWS = 12;

/**
 * The first pass of a two-pass analysis: every other window (window starts are windowHop ≤ half a
 * window apart, so windows 0, 2, 4, … tile the file) and the last one (end-aligned), so together
 * they cover every frame (the file's largest |X| for the display levels is known after them).
 */
export function firstPassWindows(plan: Pick<WindowPlan, 'starts'>): number[] {
  const n = plan.starts.length;
  const out: number[] = [];
  for (let w = 0; w < n; w += 2) out.push(w);
  if ((n - 1) % 2 === 1) out.push(n - 1);
  return out;
}

/**
 * The second pass of a two-pass analysis while it runs (AnalysisState.fill): which windows are
 * classified, and the order of the rest, which an explanation can steer (what is on screen first).
 */
export class AnalysisFill {
  /** 1 where the window is classified (its chunk is in state.chunks). */
  readonly done: Uint8Array;
  windowsDone = 0;
  readonly windowsTotal: number;
  /** Set when every window is classified and the state is final. */
  complete = false;
  /** Why the analysis stopped (e.g. an AbortError); waiters reject with it. */
  failed: unknown = undefined;
  /** Windows not yet started, in the order they will be classified. */
  private queue: number[];
  private holds: Set<number>[] = [];
  private waiters = new Set<() => void>();
  private wakeLoop: (() => void) | null = null;

  constructor(windowsTotal: number, pending: number[]) {
    this.windowsTotal = windowsTotal;
    this.done = new Uint8Array(windowsTotal);
    this.queue = pending.slice();
  }

  /** Classify these windows (those still waiting) next, in this order, before the others. */
  prioritize(windows: number[]): void {
    const waiting = new Set(this.queue);
    const first = windows.filter((w) => waiting.delete(w));
    this.queue = [...first, ...this.queue.filter((w) => waiting.has(w))];
    this.wakeLoop?.();
  }

  /**
   * Until the returned function is called, only these windows are classified (the analysis waits
   * once they are done): the part on screen is not slowed by the rest of the pass.
   */
  hold(windows: number[]): () => void {
    const s = new Set(windows);
    this.holds.push(s);
    return () => {
      const i = this.holds.indexOf(s);
      if (i >= 0) this.holds.splice(i, 1);
      this.wakeLoop?.();
    };
  }

  /** Resolves at the next change (windows classified, the end); rejects when the analysis fails or `signal` aborts. */
  changed(signal?: AbortSignal): Promise<void> {
    if (this.failed !== undefined) return Promise.reject(this.failed);
    if (this.complete) return Promise.resolve();
    signal?.throwIfAborted();
    return new Promise<void>((resolve, reject) => {
      const onAbort = () => {
        this.waiters.delete(wake);
        reject(signal!.reason);
      };
      const wake = () => {
        signal?.removeEventListener('abort', onAbort);
        if (this.failed !== undefined) reject(this.failed);
        else resolve();
      };
      this.waiters.add(wake);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** Resolves once the analysis is complete (rejects as `changed`). */
  async finished(signal?: AbortSignal): Promise<void> {
    while (!this.complete) await this.changed(signal);
  }

  private notify(): void {
    const ws = [...this.waiters];
    this.waiters.clear();
    for (const w of ws) w();
  }

  /** (analyze) The next windows to classify, at most `size`; null when none remain. Waits while held. */
  async next(size: number, signal?: AbortSignal): Promise<number[] | null> {
    for (;;) {
      signal?.throwIfAborted();
      if (!this.queue.length) return null;
      const held = this.holds;
      const out: number[] = [];
      for (const w of this.queue) {
        if (out.length >= size) break;
        if (!held.length || held.some((s) => s.has(w))) out.push(w);
      }
      if (out.length) {
        const taken = new Set(out);
        this.queue = this.queue.filter((w) => !taken.has(w));
        // in window order within a batch (as the one-shot pass)
        return out.sort((a, b) => a - b);
      }
      await new Promise<void>((resolve, reject) => {
        const onAbort = () => {
          this.wakeLoop = null;
          reject(signal!.reason);
        };
        this.wakeLoop = () => {
          this.wakeLoop = null;
          signal?.removeEventListener('abort', onAbort);
          resolve();
        };
        signal?.addEventListener('abort', onAbort, { once: true });
      });
    }
  }

  /** (analyze) These windows are classified. */
  markDone(windows: number[]): void {
    for (const w of windows) if (!this.done[w]) {
      this.done[w] = 1;
      this.windowsDone++;
    }
    this.notify();
  }

  /** (analyze) The state is final. */
  finish(): void {
    this.complete = true;
    this.notify();
  }

  /** (analyze) The analysis stopped. */
  fail(e: unknown): void {
    this.failed = e;
    this.notify();
  }
}

/** Files up to this long (s) keep their whole-file STFT (as before issue 12); longer ones compute frames by window. */
export const WHOLE_STFT_MAX_S = 120;

/** The part of the manifest the pipeline needs. */
export interface PipelineConfig {
  sampleRate: number;
  windowSamples: number;
  stft: StftParams;
  classes: number;
}

/** PipelineConfig from a validated manifest. */
export function pipelineConfig(m: Manifest): PipelineConfig {
  return {
    sampleRate: m.sampleRate,
    windowSamples: m.windowSamples,
    stft: { nFft: m.stft.nFft, winLength: m.stft.winLength, hopLength: m.stft.hopLength },
    classes: m.labels.length,
  };
}

/** What to explain: a class index, or (zero-shot bundles) an embedded typed prompt. */
export type Target = number | PromptEmbedding;

/** A key that identifies a target (cache of the last stitched mask). */
export function targetKey(t: Target): string {
  return typeof t === 'number' ? `class:${t}` : `prompt:${t.prompt.trim().toLowerCase()}`;
}

interface Chunk<H> {
  windows: number[];
  hidden: H | null;
}

/** Per-file analysis state: kept (e.g. in the worker) so a new target reruns only the decoder + ISTFT. */
export interface AnalysisState<H = unknown> {
  config: PipelineConfig;
  plan: WindowPlan;
  /**
   * The STFT of the padded signal [bins × plan.totalFrames] by frame range: slices of the
   * whole-file STFT for short files, computed from the samples for long ones (issue 12). The
   * pipeline reads frames through it only.
   */
  source: SpecSource;
  /**
   * Whole-file complex STFT of the padded signal, [bins × plan.totalFrames]. For long files it is
   * computed on first access (e.g. the perturbation explainer) and then kept: the L-MAC pipeline
   * never touches it there.
   */
  readonly spec: Spectrogram;
  /** |spec|, same layout; may be set to null once handed over (window inputs are then recomputed). Null for long files. */
  magnitude: Float32Array | null;
  /** The largest |X| of the file (display levels: src/core/levels.ts sourceLevels). */
  maxMagnitude: number;
  /** Logits per window [windows × classes]. */
  logits: Float32Array;
  /** Softmax per window [windows × classes]. */
  windowProbs: Float32Array;
  /** Mean of windowProbs over windows [classes]. */
  probs: Float32Array;
  /** Zero-shot bundles: unit audio embedding per window [windows × textDim]; null otherwise. */
  embeddings: Float32Array | null;
  chunks: Chunk<H>[];
  /**
   * The analysed signal (original length, model rate), kept so that the residual is the original
   * minus the explanation (one ISTFT per target); null when not kept (the residual is then ISTFT'd).
   * Long files in the app keep it as 16-bit PCM (src/core/samples.ts).
   */
  original: Samples | null;
  /** Whether hidden outputs are cached (false when over the memory budget). */
  cached: boolean;
  timings: Record<string, number>;
  /** Last stitched soft mask (threshold changes reuse it): float values, or 8-bit levels (StitchOptions.levels). */
  lastSoft: { key: string; mask: SoftMask } | null;
  /**
   * A two-pass analysis (issue 12; AnalyzeOptions.onProvisional): its second pass. While it runs
   * (`!fill.complete`), probs is the mean over the first pass, and windowProbs, logits and chunks
   * hold the windows classified so far (`fill.done`). Absent for a one-pass analysis.
   */
  fill?: AnalysisFill;
}

export interface ExplainResult {
  /** The class explained; -1 for a typed prompt. */
  target: number;
  threshold: number | null;
  /** [bins × totalFrames], soft, or 0/1 when threshold != null. */
  mask: Float32Array;
  /** Mean of `mask` over the frames of the real signal (not the zero padding of a clip shorter than the window). */
  maskMean: number;
  /** Original length, model rate. */
  maskedIn: Float32Array;
  maskedOut: Float32Array;
  timings: Record<string, number>;
}

const now = (): number => performance.now();

/** Numerically stable softmax of `n` values from `src` at `offset` into `dst` at `offset`. */
export function softmaxInto(src: Float32Array, dst: Float32Array, offset: number, n: number): void {
  let max = -Infinity;
  for (let i = 0; i < n; i++) max = Math.max(max, src[offset + i]);
  let sum = 0;
  for (let i = 0; i < n; i++) sum += Math.exp(src[offset + i] - max);
  for (let i = 0; i < n; i++) dst[offset + i] = Math.exp(src[offset + i] - max) / sum;
}

/** Copy window frames [o, o+T) of a bin-major [bins × TT] array into dst at `dstOffset` as [bins × T]. */
export function sliceFrames(src: Float32Array, bins: number, TT: number, o: number, T: number, dst: Float32Array, dstOffset: number): void {
  for (let f = 0; f < bins; f++) dst.set(src.subarray(f * TT + o, f * TT + o + T), dstOffset + f * T);
}

function batches(n: number, size: number): number[][] {
  const out: number[][] = [];
  for (let i = 0; i < n; i += size) out.push(Array.from({ length: Math.min(size, n - i) }, (_, k) => i + k));
  return out;
}

/** The frames of a state's STFT by range: its `source`, or slices of `spec` (states built by hand). */
export function sourceOf(state: { source?: SpecSource; spec?: Spectrogram }): SpecSource {
  if (state.source) return state.source;
  if (!state.spec) throw new Error('sourceOf: the state has neither a source nor a spectrogram');
  return specSource(state.spec);
}

/** |X| of window `w` into dst at `offset` ([bins × T], bin-major); returns the window's largest |X|. */
export function windowMagnitudeInto(
  state: Pick<AnalysisState, 'plan' | 'magnitude'> & { source?: SpecSource; spec?: Spectrogram },
  w: number,
  dst: Float32Array,
  offset: number,
): number {
  const { plan, magnitude } = state;
  const T = plan.windowFrames;
  const o = plan.frameOffsets[w];
  let max = 0;
  if (magnitude) {
    const src = sourceOf(state);
    sliceFrames(magnitude, src.bins, src.frames, o, T, dst, offset);
    for (let i = offset; i < offset + src.bins * T; i++) if (dst[i] > max) max = dst[i];
    return max;
  }
  const { bins, re, im } = sourceOf(state).block(o, o + T);
  const n = bins * T;
  for (let i = 0; i < n; i++) {
    const a = re[i];
    const c = im[i];
    const v = Math.fround(Math.sqrt(a * a + c * c));
    dst[offset + i] = v;
    if (v > max) max = v;
  }
  return max;
}

/** Gather the magnitudes of some windows into one batch tensor [B × bins × T]; `max` gets the largest. */
export function windowBatch(state: Pick<AnalysisState, 'plan' | 'source' | 'magnitude'>, windows: number[], max?: { value: number }): Float32Array {
  const per = state.source.bins * state.plan.windowFrames;
  const buf = new Float32Array(windows.length * per);
  windows.forEach((w, b) => {
    const m = windowMagnitudeInto(state, w, buf, b * per);
    if (max && m > max.value) max.value = m;
  });
  return buf;
}

/** Write the unit phase e^{j∠X} of window `w` ([bins × T] at `offset`) into re/im; 1 + 0j where |X| = 0. */
export function windowPhaseInto(state: Pick<AnalysisState, 'plan'> & { source?: SpecSource; spec?: Spectrogram }, w: number, re: Float32Array, im: Float32Array, offset: number): void {
  const o = state.plan.frameOffsets[w];
  const T = state.plan.windowFrames;
  const src = sourceOf(state);
  if (src.whole) unitPhaseInto(src.whole, o, T, re, im, offset);
  else unitPhaseInto(src.block(o, o + T), 0, T, re, im, offset);
}

/** The phase a waveform classifier needs for some windows (undefined for magnitude classifiers). */
export function windowPhase(state: Pick<AnalysisState, 'plan'> & { source?: SpecSource; spec?: Spectrogram }, runner: Pick<ModelRunner, 'inputKind'>, windows: number[]): WindowPhase | undefined {
  if (runner.inputKind !== 'waveform') return undefined;
  const per = sourceOf(state).bins * state.plan.windowFrames;
  const re = new Float32Array(windows.length * per);
  const im = new Float32Array(windows.length * per);
  windows.forEach((w, b) => windowPhaseInto(state, w, re, im, b * per));
  return { re, im };
}

/**
 * Analyse a mono signal at the model rate: whole-file STFT, classifier on every window (batched),
 * per-window and pooled probabilities, hidden outputs cached per batch.
 */
export async function analyze<H>(
  samples: Samples,
  config: PipelineConfig,
  runner: ModelRunner<H>,
  opts: AnalyzeOptions = {},
): Promise<AnalysisState<H>> {
  const t0 = now();
  const { signal, onProgress } = opts;
  const batchSize = Math.max(1, opts.batchSize ?? 4);
  const maxCacheBytes = opts.maxCacheBytes ?? 768 * 1024 * 1024;
  signal?.throwIfAborted();
  const { stft: sp, windowSamples, classes } = config;
  const plan = planWindows(samples.length, windowSamples, sp.hopLength);
  if (runner.frames !== plan.windowFrames || runner.bins !== sp.nFft / 2 + 1)
    throw new Error(`model expects ${runner.bins} × ${runner.frames} inputs, the STFT gives ${sp.nFft / 2 + 1} × ${plan.windowFrames}`);
  if (runner.classes !== classes) throw new Error(`model has ${runner.classes} classes, the manifest ${classes} labels`);

  onProgress?.({ stage: 'stft', done: 0, total: 1 });
  let t = now();
  // short files: the whole-file STFT and |X| (as before issue 12); long ones: frames by window
  const whole = samples.length <= (opts.wholeStftMaxS ?? WHOLE_STFT_MAX_S) * config.sampleRate;
  let spec: Spectrogram | null = whole ? stft(padToPlan(floatSamples(samples), plan), sp) : null;
  const magnitude = spec ? stftMagnitude(spec) : null;
  const source = spec ? specSource(spec) : signalSource(samples, plan.paddedLength, sp);
  const timings: Record<string, number> = { stft: now() - t };
  onProgress?.({ stage: 'stft', done: 1, total: 1 });

  const nWin = plan.starts.length;
  const logits = new Float32Array(nWin * classes);
  const windowProbs = new Float32Array(nWin * classes);
  const D = runner.textDim;
  const embeddings = D > 0 ? new Float32Array(nWin * D) : null;
  const chunks: Chunk<H>[] = [];
  let cacheBytes = 0;
  // hidden outputs are kept for the mask decoder and for the LMAC-TD time decoder
  let cached = runner.hasDecoder || runner.hasTimeDecoder === true;
  let tModel = 0;
  let tPrep = 0;
  const view = { plan, source, magnitude };
  const maxMag = { value: 0 };
  const result = { config, plan, source, magnitude, maxMagnitude: 0, logits, windowProbs, probs: new Float32Array(classes), embeddings, chunks, original: samples, cached, timings, lastSoft: null } as Omit<AnalysisState<H>, 'spec'>;
  // the whole-file STFT of a long file only if something asks for it (not enumerable: a spread does not compute it)
  Object.defineProperty(result, 'spec', {
    get: () => (spec ??= stft(padToPlan(floatSamples(samples), plan), sp)),
    enumerable: false,
    configurable: true,
  });
  const state = result as AnalysisState<H>;
  let classified = 0;
  /** Classify some windows (one model run), keep their hidden outputs, softmax per window. */
  const runBatch = async (windows: number[]) => {
    t = now();
    const input = windowBatch(view, windows, maxMag);
    const phase = windowPhase(view, runner, windows);
    tPrep += now() - t;
    t = now();
    const res = await runner.runClassifier(input, windows.length, phase);
    tModel += now() - t;
    windows.forEach((w, b) => {
      logits.set(res.logits.subarray(b * classes, (b + 1) * classes), w * classes);
      if (embeddings && res.embedding) embeddings.set(res.embedding.subarray(b * D, (b + 1) * D), w * D);
      softmaxInto(logits, windowProbs, w * classes, classes);
    });
    let keep: H | null = null;
    if (cached) {
      cacheBytes += runner.hiddenBytes(res.hidden);
      if (cacheBytes <= maxCacheBytes) keep = res.hidden;
      else {
        cached = false;
        state.cached = false;
        for (const c of chunks) if (c.hidden) runner.releaseHidden(c.hidden);
        for (const c of chunks) c.hidden = null;
      }
    }
    if (!keep) runner.releaseHidden(res.hidden);
    chunks.push({ windows, hidden: keep });
    classified += windows.length;
    onProgress?.({ stage: 'classifier', done: classified, total: nWin });
  };
  const twoPass = !!opts.onProvisional && nWin > TWO_PASS_MIN_WINDOWS;
  onProgress?.({ stage: 'classifier', done: 0, total: nWin });
  try {
    if (!twoPass) {
      for (const windows of batches(nWin, batchSize)) {
        signal?.throwIfAborted();
        await runBatch(windows);
        await yieldToEventLoop();
      }
    } else {
      // first pass: the windows that tile the file; provisional classes from them
      const first = firstPassWindows(plan);
      for (let i = 0; i < first.length; i += batchSize) {
        signal?.throwIfAborted();
        await runBatch(first.slice(i, i + batchSize));
        await yieldToEventLoop();
      }
      const inFirst = new Uint8Array(nWin);
      for (const w of first) inFirst[w] = 1;
      const fill = new AnalysisFill(nWin, plan.starts.map((_, w) => w).filter((w) => !inFirst[w]));
      fill.markDone(first);
      const pp = state.probs;
      for (const w of first) for (let k = 0; k < classes; k++) pp[k] += windowProbs[w * classes + k] / first.length;
      state.maxMagnitude = maxMag.value;
      timings.provisional = now() - t0;
      state.fill = fill;
      try {
        opts.onProvisional!(state as AnalysisState);
        // second pass: the other windows, in the order explanations ask for (AnalysisFill.prioritize)
        for (;;) {
          const windows = await fill.next(batchSize, signal);
          if (!windows) break;
          await runBatch(windows);
          fill.markDone(windows);
          await yieldToEventLoop();
        }
      } catch (e) {
        fill.fail(e);
        throw e;
      }
    }
  } catch (e) {
    for (const c of chunks) if (c.hidden) runner.releaseHidden(c.hidden);
    for (const c of chunks) c.hidden = null;
    throw e;
  }
  timings.windows = tPrep;
  timings.classifier = tModel;

  // pooled over all windows in window order (a two-pass analysis ends with the one-shot value)
  const probs = new Float32Array(classes);
  for (let w = 0; w < nWin; w++) for (let k = 0; k < classes; k++) probs[k] += windowProbs[w * classes + k] / nWin;
  state.probs = probs;
  state.maxMagnitude = maxMag.value;
  timings.total = now() - t0;
  state.fill?.finish();
  return state;
}

/** Turn a soft mask into a 0/1 mask (value ≥ threshold → 1). */
export function thresholdMask(soft: Float32Array, threshold: number): Float32Array {
  const out = new Float32Array(soft.length);
  for (let i = 0; i < soft.length; i++) out[i] = soft[i] >= threshold ? 1 : 0;
  return out;
}

/** A frame range [frame0, frame1) of the whole-file STFT to explain first (e.g. what is on screen). */
export interface FocusRange {
  frame0: number;
  frame1: number;
}

/** The mask of the focused windows, before the rest of the file (progressive stitching). */
export interface FocusMask {
  /** [bins × totalFrames]: final at the frames `covered` marks, a partial mean or 0 elsewhere (levels with StitchOptions.levels). */
  mask: SoftMask;
  /** [totalFrames]: 1 where `mask` is final. */
  covered: Uint8Array;
  /** The first and last+1 frame that are final around the focus. */
  frame0: number;
  frame1: number;
  /** The frames [first, last+1) that the stitched windows cover: `mask` is 0 outside them (a long file's levels need only these). */
  extent: { frame0: number; frame1: number };
  windowsDone: number;
  windowsTotal: number;
}

/**
 * The levels of a focus mask (quantizeMask, or binaryMaskLevels at `th`): computed over the frames
 * the stitched windows cover only — 0 elsewhere, the level of a 0 value (unless th ≤ 0: then the
 * whole mask). On an hour the focus has ~20 of 1442 windows: not a pass over 115 M values.
 */
export function focusMaskLevels(f: FocusMask, th: number | null, bins: number, TT: number): Uint8Array {
  // a long file's partial mask is levels already (a fresh array: it goes to the page as it is)
  if (th === null && f.mask instanceof Uint8Array) return f.mask;
  const { frame0: a, frame1: b } = f.extent;
  if ((th !== null && th <= 0) || b - a >= TT) return th === null ? quantizeMask(f.mask) : binaryMaskLevels(f.mask, th);
  const out = new Uint8Array(f.mask.length);
  if (b <= a) return out;
  for (let r = 0; r < bins; r++) {
    const row = f.mask.subarray(r * TT + a, r * TT + b);
    out.set(th === null ? quantizeMask(row) : binaryMaskLevels(row, th), r * TT + a);
  }
  return out;
}

export interface StitchOptions extends RunOptions {
  /** Decode the windows that overlap this range first, then outwards from it. */
  focus?: FocusRange;
  /** Called once the focused windows are stitched, when other windows remain. */
  onFocus?: (f: FocusMask) => void;
  /**
   * Stitch into 8-bit levels (maskLevel of each stitched value) instead of float32: long files
   * (issue 12), a quarter of the memory (115 MB instead of 462 MB for an hour).
   */
  levels?: boolean;
}

/**
 * The order in which a plan's batches (`chunks`, each a list of window indices) are decoded:
 * those overlapping `focus` first, then the rest by distance from it (nearest first). Returns the
 * chunk indices and how many of them overlap the focus.
 */
export function focusOrder(plan: WindowPlan, chunks: { windows: number[] }[], focus?: FocusRange): { order: number[]; focused: number } {
  const idx = chunks.map((_, i) => i);
  if (!focus) return { order: idx, focused: idx.length };
  const T = plan.windowFrames;
  const dist = (c: { windows: number[] }) => {
    let d = Infinity;
    for (const w of c.windows) {
      const a = plan.frameOffsets[w];
      const b = a + T;
      d = Math.min(d, b <= focus.frame0 ? focus.frame0 - b + 1 : a >= focus.frame1 ? a - focus.frame1 + 1 : 0);
    }
    return d;
  };
  const ds = chunks.map(dist);
  idx.sort((a, b) => ds[a] - ds[b] || a - b);
  return { order: idx, focused: ds.filter((d) => d === 0).length };
}

/**
 * Stitched soft mask [bins × totalFrames] for a target class or prompt (decoder over cached
 * hidden outputs), float32 or (`opts.levels`) 8-bit levels. With `focus`, the windows on screen
 * are decoded first and `onFocus` gets their mask; the stitched result is the same whatever the
 * order (overlap-add with fixed weights).
 */
export async function stitchedMask<H>(state: AnalysisState<H>, runner: ModelRunner<H>, target: Target, opts?: StitchOptions & { levels?: false }, timings?: Record<string, number>): Promise<Float32Array>;
export async function stitchedMask<H>(state: AnalysisState<H>, runner: ModelRunner<H>, target: Target, opts: StitchOptions, timings?: Record<string, number>): Promise<SoftMask>;
export async function stitchedMask<H>(
  state: AnalysisState<H>,
  runner: ModelRunner<H>,
  target: Target,
  opts: StitchOptions = {},
  timings: Record<string, number> = {},
): Promise<SoftMask> {
  const { signal, onProgress } = opts;
  if (!runner.hasDecoder) throw new Error('this bundle has no decoder: explanations are not available');
  if (typeof target === 'number') {
    if (!Number.isInteger(target) || target < 0 || target >= state.config.classes)
      throw new Error(`target class ${target} is out of range 0..${state.config.classes - 1}`);
  } else if (!runner.runDecoderText) throw new Error('this bundle has no prompt-conditioned decoder: typed prompts are not available');
  const key = targetKey(target);
  const levels = opts.levels === true;
  if (state.lastSoft && state.lastSoft.key === key && state.lastSoft.mask instanceof Uint8Array === levels) return state.lastSoft.mask;
  // another target's mask is not kept while this one is stitched: one full-size soft mask per file
  // (issue 12: 115 MB of levels for an hour); going back to that target reruns its decoder
  state.lastSoft = null;
  const { plan, source } = state;
  const per = source.bins * plan.windowFrames;
  const stitcher = new MaskStitcher<SoftMask>(plan, source.bins, levels);
  const nWin = plan.starts.length;
  let tDec = 0;
  let tCls = 0;
  let tStitch = 0;
  onProgress?.({ stage: 'decoder', done: 0, total: nWin });
  // Without a cache, recompute hidden outputs in the same batches (larger ones are fine too).
  const chunks: Chunk<H>[] = state.chunks.length
    ? state.chunks
    : batches(nWin, Math.max(1, opts.batchSize ?? 4)).map((windows) => ({ windows, hidden: null }));
  const focus = opts.focus;
  // distance of a chunk from the focus (0: it has a window on screen), as focusOrder
  const T = plan.windowFrames;
  const windowDist = (w: number) => {
    if (!focus) return 0;
    const a = plan.frameOffsets[w];
    const e = a + T;
    return e <= focus.frame0 ? focus.frame0 - e + 1 : a >= focus.frame1 ? a - focus.frame1 + 1 : 0;
  };
  const dist = new Map<Chunk<H>, number>();
  const distOf = (c: Chunk<H>) => {
    let d = dist.get(c);
    if (d === undefined) {
      d = Infinity;
      for (const w of c.windows) d = Math.min(d, windowDist(w));
      dist.set(c, d);
    }
    return d;
  };
  const focusWindows = focus ? plan.starts.map((_, w) => w).filter((w) => windowDist(w) === 0) : [];
  let focusLeft = focusWindows.length;
  // a two-pass analysis still running (issue 12): its windows come as they are classified; what
  // is on screen is classified first (and alone until its part is posted), then outwards from it
  const fill = state.fill && !state.fill.complete ? state.fill : null;
  let release: (() => void) | null = null;
  if (fill) {
    const pending = plan.starts.map((_, w) => w).filter((w) => !fill.done[w]);
    fill.prioritize(pending.sort((x, y) => windowDist(x) - windowDist(y) || x - y));
    if (focusWindows.length && opts.onFocus) release = fill.hold(focusWindows);
  }
  const used = new Set<Chunk<H>>();
  let doneWindows = 0;
  // the frames the stitched windows cover so far
  let extent0 = plan.totalFrames;
  let extent1 = 0;
  try {
    while (doneWindows < nWin) {
      signal?.throwIfAborted();
      // the next chunk: nearest the focus first, then in analysis order (focusOrder's order when all are there)
      let chunk: Chunk<H> | null = null;
      let best = Infinity;
      for (const c of chunks) {
        if (used.has(c)) continue;
        const d = distOf(c);
        if (d < best) {
          best = d;
          chunk = c;
        }
      }
      if (!chunk) {
        if (!fill) throw new Error(`stitchedMask: ${nWin - doneWindows} windows have no analysis`);
        await fill.changed(signal);
        continue;
      }
      used.add(chunk);
      let hidden = chunk.hidden;
      let t: number;
      if (!hidden) {
        t = now();
        hidden = (await runner.runClassifier(windowBatch(state, chunk.windows), chunk.windows.length, windowPhase(state, runner, chunk.windows))).hidden;
        tCls += now() - t;
      }
      t = now();
      let masks: Float32Array;
      try {
        masks =
          typeof target === 'number'
            ? await runner.runDecoder(hidden, chunk.windows.map(() => target))
            : await runner.runDecoderText!(hidden, target.embedding, chunk.windows.length);
      } finally {
        if (!chunk.hidden) runner.releaseHidden(hidden);
      }
      tDec += now() - t;
      t = now();
      chunk.windows.forEach((w, b) => stitcher.add(w, masks, b * per));
      for (const w of chunk.windows) {
        extent0 = Math.min(extent0, plan.frameOffsets[w]);
        extent1 = Math.max(extent1, Math.min(plan.totalFrames, plan.frameOffsets[w] + T));
      }
      doneWindows += chunk.windows.length;
      const wasLeft = focusLeft;
      for (const w of chunk.windows) if (windowDist(w) === 0) focusLeft--;
      if (opts.onFocus && focus && wasLeft > 0 && focusLeft === 0 && doneWindows < nWin) {
        const covered = new Uint8Array(plan.totalFrames);
        const partial = stitcher.partial(covered);
        // the final run of frames that contains the focus
        const mid = Math.min(plan.totalFrames - 1, Math.max(0, Math.floor((focus.frame0 + focus.frame1) / 2)));
        let a = mid;
        let b = mid;
        while (a > 0 && covered[a - 1]) a--;
        while (b < plan.totalFrames && covered[b]) b++;
        tStitch += now() - t;
        opts.onFocus({ mask: partial, covered, frame0: a, frame1: covered[mid] ? b : a, extent: { frame0: extent0, frame1: extent1 }, windowsDone: doneWindows, windowsTotal: nWin });
        release?.();
        release = null;
        t = now();
      }
      tStitch += now() - t;
      onProgress?.({ stage: 'decoder', done: doneWindows, total: nWin });
      await yieldToEventLoop();
    }
  } finally {
    release?.();
  }
  const mask = stitcher.result();
  timings.decoder = tDec;
  if (tCls > 0) timings.classifier = tCls;
  timings.stitch = tStitch;
  state.lastSoft = { key, mask };
  return mask;
}

/** Explain `target` (class or prompt): stitched mask (soft, or binary at `threshold`), its mean, and masked-in / masked-out audio. */
export async function explain<H>(
  state: AnalysisState<H>,
  runner: ModelRunner<H>,
  target: Target,
  threshold: number | null,
  opts: RunOptions = {},
): Promise<ExplainResult> {
  const t0 = now();
  const timings: Record<string, number> = {};
  const soft = await stitchedMask(state, runner, target, opts, timings);
  return renderExplanation(state, typeof target === 'number' ? target : -1, soft, threshold, opts, timings, t0);
}

/**
 * The explanation for a given soft mask [bins × totalFrames] (from any explainer): optional
 * threshold, mask mean, masked-in / masked-out audio by ISTFT. `timings` gains threshold,
 * istftIn, istftOut, istft and total (since `t0`).
 */
export function renderExplanation(
  state: Pick<AnalysisState, 'plan' | 'config'> & { original?: Samples | null; source?: SpecSource; spec?: Spectrogram },
  target: number,
  soft: Float32Array,
  threshold: number | null,
  opts: RunOptions = {},
  timings: Record<string, number> = {},
  t0: number = now(),
): ExplainResult {
  opts.signal?.throwIfAborted();
  let t = now();
  const mask = threshold === null ? soft.slice() : thresholdMask(soft, threshold);
  // over the frames of the real signal: the zero padding of a short clip is inaudible whatever its mask (issue 13)
  const maskMean = signalMaskMean(mask, state.plan);
  timings.threshold = now() - t;
  opts.onProgress?.({ stage: 'istft', done: 0, total: 2 });
  t = now();
  const sp = state.config.stft;
  const len = state.plan.length;
  // a block of frames at a time: no whole-file STFT or float64 overlap-add buffers (issue 12)
  const src = sourceOf(state);
  const maskedIn = src.whole ? istft(src.whole, sp, len, { mask }) : istftFrom(src, sp, len, { mask });
  timings.istftIn = now() - t;
  opts.onProgress?.({ stage: 'istft', done: 1, total: 2 });
  opts.signal?.throwIfAborted();
  t = now();
  // ISTFT is linear: the residual ISTFT((1−M)⊙X) is the original minus the explanation
  const maskedOut = state.original && state.original.length === len ? residualOf(state.original, maskedIn)
      : src.whole
        ? istft(src.whole, sp, len, { mask, invert: true })
        : istftFrom(src, sp, len, { mask, invert: true });
  timings.istftOut = now() - t;
  timings.istft = timings.istftIn + timings.istftOut;
  opts.onProgress?.({ stage: 'istft', done: 2, total: 2 });
  timings.total = now() - t0;
  return { target, threshold, mask, maskMean, maskedIn, maskedOut, timings };
}

/**
 * The explanation's audio as the page gets it (issue 12): 16-bit PCM WAV files (mono, model rate,
 * original length; `encodeWav(x, rate, 'pcm16')` byte for byte) and their waveform peaks, so the
 * page never holds the signals as float32.
 */
export interface ExplanationAudio<F = Blob> {
  /** The masked-in audio (what the classifier relied on). */
  explanation: F;
  /** The masked-out audio: original − explanation. */
  residual: F;
  /** `peaks(signal, PEAK_BUCKETS)` of each (src/core/peaks.ts). */
  peaks: { explanation: Float32Array; residual: Float32Array };
}

/** ExplanationAudio of two float signals (short files, LMAC-TD, the focused part). */
export function explanationAudio(maskedIn: Float32Array, maskedOut: Float32Array, sampleRate: number): ExplanationAudio {
  return {
    explanation: wavBlob(maskedIn, sampleRate),
    residual: wavBlob(maskedOut, sampleRate),
    peaks: { explanation: peaks(maskedIn, PEAK_BUCKETS), residual: peaks(maskedOut, PEAK_BUCKETS) },
  };
}

/** What `renderExplanationAudio` gives: the mask as 8-bit levels and the audio as WAV files, no full-length floats. */
export interface RenderedExplanation<F = Blob> {
  target: number;
  threshold: number | null;
  /** [bins × totalFrames] levels 0..255 (value = level / 255; 0 or 255 when threshold != null), src/core/maskLevels.ts. */
  maskLevels: Uint8Array;
  /** As ExplainResult.maskMean, of the float mask (soft, or 0/1). */
  maskMean: number;
  audio: ExplanationAudio<F>;
  timings: Record<string, number>;
}

/** The two WAV files renderExplanationAudio writes into (default: Blobs in memory, WavBlobWriter). */
export type TrackSinks<F = Blob> = { explanation: WavSink<F>; residual: WavSink<F> };

/**
 * `renderExplanation` for long files (issue 12) without its full-length float arrays: the mask
 * goes out as 8-bit levels, the ISTFT runs a block of frames at a time (istftStream) straight into
 * the explanation's and the residual's WAV files and peaks. The same audio bytes and mask mean as
 * `renderExplanation` + `explanationAudio`, and the levels `quantizeMask` gives of its mask. `soft`
 * may be 8-bit levels (a long file's stitched mask): the ISTFT then applies level / 255. `sinks`
 * (fresh writers of the file's length) decide where the WAV files go: the worker writes an hour's
 * to disk (src/worker/diskAudio.ts), not into Blobs the browser holds in memory.
 */
export function renderExplanationAudio<F = Blob>(
  state: Pick<AnalysisState, 'plan' | 'config'> & { original?: Samples | null; source?: SpecSource; spec?: Spectrogram },
  target: number,
  soft: SoftMask,
  threshold: number | null,
  opts: RunOptions = {},
  timings: Record<string, number> = {},
  t0: number = now(),
  sinks?: TrackSinks<F>,
): RenderedExplanation<F> {
  opts.signal?.throwIfAborted();
  let t = now();
  const maskLevels = threshold === null ? levelsOf(soft) : binaryMaskLevels(soft, threshold);
  const maskMean = threshold === null ? signalMaskMean(soft, state.plan, soft instanceof Uint8Array ? 255 : 1) : signalMaskMean(maskLevels, state.plan, 255);
  timings.threshold = now() - t;
  opts.onProgress?.({ stage: 'istft', done: 0, total: 2 });
  t = now();
  const sp = state.config.stft;
  const sr = state.config.sampleRate;
  const len = state.plan.length;
  const src = sourceOf(state);
  // the ISTFT takes the soft mask as is, a binary one as its levels (0 and 255 are exactly 0 and 1)
  const istftMask = threshold === null ? soft : maskLevels;
  const { explanation: wIn, residual: wOut } = sinks ?? ({ explanation: new WavBlobWriter(sr, len), residual: new WavBlobWriter(sr, len) } as unknown as TrackSinks<F>);
  const pIn = new PeakAccumulator(len, PEAK_BUCKETS);
  const pOut = new PeakAccumulator(len, PEAK_BUCKETS);
  const orig = state.original && state.original.length === len ? state.original : null;
  let res = new Float32Array(0);
  let tOut = 0;
  istftStream(src, sp, len, { mask: istftMask }, (start, x) => {
    wIn.write(x);
    pIn.add(start, x);
    if (!orig) return;
    const tr = now();
    // ISTFT is linear: the residual ISTFT((1−M)⊙X) is the original minus the explanation
    if (res.length < x.length) res = new Float32Array(x.length);
    const r = res.subarray(0, x.length);
    residualInto(orig, start, x, r);
    wOut.write(r);
    pOut.add(start, r);
    tOut += now() - tr;
  });
  opts.onProgress?.({ stage: 'istft', done: 1, total: 2 });
  opts.signal?.throwIfAborted();
  if (!orig) {
    const tr = now();
    istftStream(src, sp, len, { mask: istftMask, invert: true }, (start, x) => {
      wOut.write(x);
      pOut.add(start, x);
    });
    tOut += now() - tr;
  }
  timings.istftOut = tOut;
  timings.istftIn = now() - t - tOut;
  timings.istft = timings.istftIn + timings.istftOut;
  opts.onProgress?.({ stage: 'istft', done: 2, total: 2 });
  const audio: ExplanationAudio<F> = { explanation: wIn.finish(), residual: wOut.finish(), peaks: { explanation: pIn.result(), residual: pOut.result() } };
  timings.total = now() - t0;
  return { target, threshold, maskLevels, maskMean, audio, timings };
}

/** original − explanation: the residual without a second ISTFT (ISTFT(X) = original). */
export function residualOf(original: Samples, maskedIn: Float32Array): Float32Array {
  const out = new Float32Array(maskedIn.length);
  residualInto(original, 0, maskedIn, out);
  return out;
}

/** Release cached hidden outputs (GPU buffers) of an analysis. */
export function releaseAnalysis<H>(state: AnalysisState<H>, runner: ModelRunner<H>): void {
  for (const c of state.chunks) if (c.hidden) runner.releaseHidden(c.hidden);
  for (const c of state.chunks) c.hidden = null;
  state.lastSoft = null;
}
