// Windowing of audio of any length into model windows, and overlap-add stitching of the
// per-window masks into one mask over the whole-file STFT (docs/DESIGN.md "Long and short audio").

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

/** Accumulates per-window masks [bins × windowFrames] into one mask [bins × totalFrames]. */
export class MaskStitcher {
  readonly mask: Float32Array;
  private readonly acc: Float64Array;
  private readonly weights: Float64Array[];
  private readonly added: boolean[];

  constructor(
    readonly plan: WindowPlan,
    readonly bins: number,
  ) {
    this.acc = new Float64Array(bins * plan.totalFrames);
    this.mask = new Float32Array(bins * plan.totalFrames);
    this.weights = stitchWeights(plan);
    this.added = plan.starts.map(() => false);
  }

  /** Add window `index`'s mask, read from `src` starting at element `offset` (bin-major). */
  add(index: number, src: Float32Array, offset = 0): void {
    const { windowFrames: T, totalFrames: TT } = this.plan;
    if (this.added[index]) throw new Error(`MaskStitcher: window ${index} added twice`);
    if (src.length < offset + this.bins * T) throw new Error('MaskStitcher: window mask too short');
    const w = this.weights[index];
    const o = this.plan.frameOffsets[index];
    for (let f = 0; f < this.bins; f++) {
      const s = offset + f * T;
      const d = f * TT + o;
      for (let t = 0; t < T; t++) this.acc[d + t] += w[t] * src[s + t];
    }
    this.added[index] = true;
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
  partial(covered?: Uint8Array): Float32Array {
    const { windowFrames: T, totalFrames: TT, frameOffsets } = this.plan;
    const need = new Uint16Array(TT);
    const have = new Uint16Array(TT);
    const weight = new Float64Array(TT);
    frameOffsets.forEach((o, j) => {
      for (let t = 0; t < T; t++) {
        need[o + t]++;
        if (this.added[j]) {
          have[o + t]++;
          weight[o + t] += this.weights[j][t];
        }
      }
    });
    const scale = new Float64Array(TT);
    for (let t = 0; t < TT; t++) {
      scale[t] = have[t] === need[t] ? 1 : have[t] > 0 ? 1 / weight[t] : 0;
      if (covered) covered[t] = have[t] === need[t] ? 1 : 0;
    }
    const out = new Float32Array(this.acc.length);
    for (let f = 0; f < this.bins; f++) {
      const b = f * TT;
      for (let t = 0; t < TT; t++) out[b + t] = scale[t] === 1 ? this.acc[b + t] : this.acc[b + t] * scale[t];
    }
    return out;
  }

  /** The stitched mask; throws if a window is missing. */
  result(): Float32Array {
    const missing = this.added.indexOf(false);
    if (missing >= 0) throw new Error(`MaskStitcher: window ${missing} was not added`);
    for (let i = 0; i < this.acc.length; i++) this.mask[i] = this.acc[i];
    return this.mask;
  }
}
