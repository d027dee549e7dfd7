// Windowing of audio of any length into model windows, and overlap-add stitching of the
// per-window masks into one mask over the whole-file STFT (docs/DESIGN.md "Long and short audio").
import { maskLevel, sharedLevels, type SoftMask } from './maskLevels';

export interface WindowPlan {
  /** Original signal length (samples). */
  length: number;
  /**
   * Zero-padded length: windowSamples for short audio, else windowSamples + k·hopLength
   * (≥ length), so that the end-aligned last window starts on a frame boundary.
   */
  paddedLength: number;
  windowSamples: number;
  hopLength: number;
  /** Hop between window starts in samples: floor(windowSamples / 2 / hopLength) · hopLength. */
  windowHop: number;
  /** Frames per window STFT: floor(windowSamples / hopLength) + 1. */
  windowFrames: number;
  /** Frames of the whole (padded) file STFT: floor(paddedLength / hopLength) + 1. */
  totalFrames: number;
  /** Window start samples (multiples of hopLength); the last one is paddedLength - windowSamples. */
  starts: number[];
  /** starts[i] / hopLength: the window's first frame in the whole-file STFT. */
  frameOffsets: number[];
}

/** Plan the analysis windows for a signal of `length` samples. */
export function planWindows(length: number, windowSamples: number, hopLength: number): WindowPlan {
  if (!Number.isInteger(length) || length < 1) throw new Error(`planWindows: length must be ≥ 1, got ${length}`);
  if (!Number.isInteger(windowSamples) || windowSamples < hopLength)
    throw new Error(`planWindows: windowSamples ${windowSamples} must be an integer ≥ hopLength ${hopLength}`);
  const windowHop = Math.max(hopLength, Math.floor(windowSamples / 2 / hopLength) * hopLength);
  const paddedLength =
    length <= windowSamples ? windowSamples : windowSamples + Math.ceil((length - windowSamples) / hopLength) * hopLength;
  const starts = [0];
  while (starts[starts.length - 1] + windowSamples < paddedLength) {
    const next = starts[starts.length - 1] + windowHop;
    starts.push(next + windowSamples >= paddedLength ? paddedLength - windowSamples : next);
  }
  return {
    length,
    paddedLength,
    windowSamples,
    hopLength,
    windowHop,
    windowFrames: Math.floor(windowSamples / hopLength) + 1,
    totalFrames: Math.floor(paddedLength / hopLength) + 1,
    starts,
    frameOffsets: starts.map((s) => s / hopLength),
  };
}

/**
 * Frames of the whole-file STFT that belong to the real signal: as many as the STFT of the
 * unpadded signal has (center=True: floor(length / hopLength) + 1), at most totalFrames. The
 * frames after them only see the zero padding of a clip shorter than the window, where any mask
 * value is inaudible (mask × 0 = 0), so mask statistics leave them out (issue 13).
 */
export function signalFrames(plan: Pick<WindowPlan, 'length' | 'hopLength' | 'totalFrames'>): number {
  return Math.min(plan.totalFrames, Math.floor(plan.length / plan.hopLength) + 1);
}

/** The signal frames (see signalFrames) of a whole-file mask [bins × totalFrames], as [bins × signalFrames]; the mask itself when there is no padding. */
export function signalPart(mask: Float32Array, plan: Pick<WindowPlan, 'length' | 'hopLength' | 'totalFrames'>): Float32Array {
  const TT = plan.totalFrames;
  const F = signalFrames(plan);
  if (F === TT) return mask;
  if (mask.length % TT !== 0) throw new Error(`signalPart: mask length ${mask.length} is not a multiple of ${TT} frames`);
  const bins = mask.length / TT;
  const out = new Float32Array(bins * F);
  for (let b = 0; b < bins; b++) out.set(mask.subarray(b * TT, b * TT + F), b * F);
  return out;
}

/**
 * Mean of a whole-file mask [bins × totalFrames] over the signal frames only (not the zero padding of
 * short clips). `full` is the value that means 1: 255 for 8-bit mask levels (src/core/maskLevels.ts);
 * a binary mask's levels (0 and 255) then give exactly the mean of its 0/1 floats (integer sums).
 */
export function signalMaskMean(mask: ArrayLike<number>, plan: Pick<WindowPlan, 'length' | 'hopLength' | 'totalFrames'>, full = 1): number {
  const TT = plan.totalFrames;
  const F = signalFrames(plan);
  if (mask.length % TT !== 0) throw new Error(`signalMaskMean: mask length ${mask.length} is not a multiple of ${TT} frames`);
  const bins = mask.length / TT;
  let s = 0;
  for (let b = 0; b < bins; b++) for (let t = 0; t < F; t++) s += mask[b * TT + t];
  return bins * F ? s / (bins * F * full) : 0;
}

/** Zero-pad (or return as is) a signal to plan.paddedLength. */
export function padToPlan(x: Float32Array, plan: WindowPlan): Float32Array {
  if (x.length === plan.paddedLength) return x;
  if (x.length > plan.paddedLength) throw new Error('padToPlan: signal longer than the plan');
  const y = new Float32Array(plan.paddedLength);
  y.set(x);
  return y;
}

/**
 * Per-window frame weights for overlap-add stitching: a positive sine taper per window,
 * normalised so that at every frame of the whole file the weights of the windows covering it
 * sum to exactly 1 (up to float64 rounding). Returns one Float64Array[windowFrames] per window.
 */
export function stitchWeights(plan: WindowPlan): Float64Array[] {
  const T = plan.windowFrames;
  const taper = new Float64Array(T);
  for (let t = 0; t < T; t++) taper[t] = Math.sin((Math.PI * (t + 0.5)) / T);
  const total = new Float64Array(plan.totalFrames);
  for (const o of plan.frameOffsets) for (let t = 0; t < T; t++) total[o + t] += taper[t];
  return plan.frameOffsets.map((o) => {
    const w = new Float64Array(T);
    for (let t = 0; t < T; t++) w[t] = taper[t] / total[o + t];
    return w;
  });
}

/**
 * Stitches per-window masks [bins × windowFrames] into one mask [bins × totalFrames] (float32,
 * the only full-size buffer: issue 12). The frame axis is cut into segments at every window's
 * first and last+1 frame, so the windows covering a segment are fixed; a segment is written once
 * all of them are added, its value the float64 sum of weight × mask in window order, rounded to
 * float32 — the same value whatever order the windows come in (progressive stitching). A window's
 * mask is kept (a copy) only until every segment it covers is written. With `levels` the mask is
 * kept as 8-bit levels instead (maskLevel of the float64 sum: a quarter of the memory, issue 12),
 * written in place as the segments complete, in shared memory where it exists (sharedLevels).
 */
export class MaskStitcher<M extends SoftMask = Float32Array> {
  readonly mask: M;
  private readonly weights: Float64Array[];
  private readonly added: boolean[];
  /** Segment boundaries: segment s is frames [bounds[s], bounds[s + 1]). */
  private readonly bounds: number[];
  /** Covering windows of segment s: lo[s]..hi[s] (inclusive). */
  private readonly lo: number[];
  private readonly hi: number[];
  /** Segments of window j: segOf[j][0]..segOf[j][1] (inclusive). */
  private readonly segOf: [number, number][];
  private readonly waiting: number[];
  private readonly final: boolean[];
  private readonly held = new Map<number, Float32Array>();

  constructor(
    readonly plan: WindowPlan,
    readonly bins: number,
    /** Keep the mask as 8-bit levels (then M is Uint8Array: `new MaskStitcher<Uint8Array>(plan, bins, true)`). */
    levels = false,
  ) {
    const { windowFrames: T, totalFrames: TT, frameOffsets } = plan;
    this.mask = (levels ? sharedLevels(bins * TT) : new Float32Array(bins * TT)) as M;
    this.weights = stitchWeights(plan);
    this.added = plan.starts.map(() => false);
    const cuts = new Set<number>([0, TT]);
    for (const o of frameOffsets) {
      cuts.add(o);
      cuts.add(Math.min(TT, o + T));
    }
    this.bounds = [...cuts].sort((a, b) => a - b);
    const nSeg = this.bounds.length - 1;
    this.lo = [];
    this.hi = [];
    let j0 = 0;
    for (let s = 0; s < nSeg; s++) {
      const a = this.bounds[s];
      // windows start in increasing order: those covering frame a are a contiguous run
      while (j0 < frameOffsets.length && frameOffsets[j0] + T <= a) j0++;
      let j1 = j0;
      while (j1 + 1 < frameOffsets.length && frameOffsets[j1 + 1] <= a) j1++;
      this.lo.push(j0);
      this.hi.push(j1);
    }
    this.segOf = frameOffsets.map((o) => {
      const a = this.bounds.indexOf(o);
      const b = this.bounds.indexOf(Math.min(TT, o + T)) - 1;
      return [a, b];
    });
    this.waiting = this.lo.map((l, s) => this.hi[s] - l + 1);
    this.final = this.lo.map(() => false);
  }

  /** Add window `index`'s mask, read from `src` starting at element `offset` (bin-major). */
  add(index: number, src: Float32Array, offset = 0): void {
    const T = this.plan.windowFrames;
    if (this.added[index]) throw new Error(`MaskStitcher: window ${index} added twice`);
    if (src.length < offset + this.bins * T) throw new Error('MaskStitcher: window mask too short');
    this.added[index] = true;
    this.held.set(index, src.slice(offset, offset + this.bins * T));
    const [s0, s1] = this.segOf[index];
    for (let s = s0; s <= s1; s++) if (--this.waiting[s] === 0) this.write(s);
    // drop the copies no segment needs any more
    for (let j = this.lo[s0]; j <= this.hi[s1]; j++) {
      if (!this.held.has(j)) continue;
      const [a, b] = this.segOf[j];
      let done = true;
      for (let s = a; s <= b && done; s++) done = this.final[s];
      if (done) this.held.delete(j);
    }
  }

  /** Segment s: the weighted sum over its windows in window order (float64), into the mask. */
  private write(s: number): void {
    const { windowFrames: T, totalFrames: TT, frameOffsets } = this.plan;
    const a = this.bounds[s];
    const b = this.bounds[s + 1];
    // the covering windows' masks, weights and first frames, looked up once per segment (not per value)
    const lo = this.lo[s];
    const n = this.hi[s] - lo + 1;
    const src: Float32Array[] = [];
    const w: Float64Array[] = [];
    const o: number[] = [];
    for (let j = lo; j < lo + n; j++) {
      src.push(this.held.get(j)!);
      w.push(this.weights[j]);
      o.push(frameOffsets[j]);
    }
    const mask = this.mask;
    const levels = mask instanceof Uint8Array;
    for (let f = 0; f < this.bins; f++) {
      const d = f * TT;
      const fT = f * T;
      for (let t = a; t < b; t++) {
        let v = 0;
        for (let i = 0; i < n; i++) {
          const k = t - o[i];
          v += w[i][k] * src[i][fT + k];
        }
        mask[d + t] = levels ? maskLevel(v) : v;
      }
    }
    this.final[s] = true;
  }

  /** Whether window `index` has been added. */
  has(index: number): boolean {
    return this.added[index];
  }

  /**
   * The mask so far (a new array; progressive stitching, issue 12): at a frame whose windows are
   * all added, exactly the value `result()` will have there; at a frame only some of its windows
   * reached, their weighted mean; 0 where none did. `covered` (optional, [totalFrames]) gets 1
   * at the frames that are final.
   */
  partial(covered?: Uint8Array): M {
    const { windowFrames: T, totalFrames: TT, frameOffsets } = this.plan;
    const levels = this.mask instanceof Uint8Array;
    // a fresh array is zero: only the parts written below become resident
    const out = (levels ? new Uint8Array(this.mask.length) : new Float32Array(this.mask.length)) as M;
    for (let s = 0; s + 1 < this.bounds.length; s++) {
      const a = this.bounds[s];
      const b = this.bounds[s + 1];
      if (covered) covered.fill(this.final[s] ? 1 : 0, a, b);
      if (this.final[s]) {
        for (let f = 0; f < this.bins; f++) out.set(this.mask.subarray(f * TT + a, f * TT + b), f * TT + a);
        continue;
      }
      const present: number[] = [];
      for (let j = this.lo[s]; j <= this.hi[s]; j++) if (this.added[j]) present.push(j);
      if (!present.length) continue;
      for (let t = a; t < b; t++) {
        let wsum = 0;
        for (const j of present) wsum += this.weights[j][t - frameOffsets[j]];
        for (let f = 0; f < this.bins; f++) {
          let v = 0;
          for (const j of present) {
            const k = t - frameOffsets[j];
            v += this.weights[j][k] * this.held.get(j)![f * T + k];
          }
          out[f * TT + t] = levels ? maskLevel(v / wsum) : v / wsum;
        }
      }
    }
    return out;
  }

  /** The stitched mask; throws if a window is missing. */
  result(): M {
    const missing = this.added.indexOf(false);
    if (missing >= 0) throw new Error(`MaskStitcher: window ${missing} was not added`);
    return this.mask;
  }
}
