// Waveform peaks (issue 12): the largest |x| per bucket of a signal, computed in one pass or a
// block at a time (the worker renders a long file's audio in blocks and never holds it whole), so
// the page draws the explanation and residual tracks without their samples.

/** Buckets the waveform views draw across a whole file (src/ui/Waveforms.tsx). */
export const PEAK_BUCKETS = 2400;

/** How many buckets `peaks` uses for `n` samples: at most one per sample, at least one. */
function bucketCount(n: number, buckets: number): number {
  return Math.max(1, Math.min(buckets, n));
}

/**
 * Waveform peaks with `buckets` columns: the largest |x| per bucket (bucket i covers samples
 * [floor(i·n/b), floor((i+1)·n/b))), a fresh array (wavesurfer normalises what it is given in
 * place, and draws one channel symmetrically).
 */
export function peaks(samples: Float32Array, buckets: number): Float32Array {
  const n = samples.length;
  const b = bucketCount(n, buckets);
  const out = new Float32Array(b);
  for (let i = 0; i < b; i++) {
    const start = Math.floor((i * n) / b);
    const end = Math.max(start + 1, Math.floor(((i + 1) * n) / b));
    let hi = 0;
    for (let j = start; j < end && j < n; j++) {
      const v = Math.abs(samples[j]);
      if (v > hi) hi = v;
    }
    out[i] = hi;
  }
  return out;
}

/**
 * `peaks` of a signal of `length` samples fed a block at a time, in any order (samples never fed
 * count as 0): `result()` equals `peaks(wholeSignal, buckets)` exactly.
 */
export class PeakAccumulator {
  readonly length: number;
  private readonly out: Float32Array;

  constructor(length: number, buckets: number = PEAK_BUCKETS) {
    if (!Number.isInteger(length) || length < 0) throw new Error(`PeakAccumulator: bad length ${length}`);
    this.length = length;
    this.out = new Float32Array(bucketCount(length, buckets));
  }

  /** Bucket i's first sample (as `peaks` splits the signal). */
  private start(i: number): number {
    return Math.floor((i * this.length) / this.out.length);
  }

  /** Samples [start, start + block.length) of the signal. */
  add(start: number, block: ArrayLike<number>): void {
    const n = this.length;
    const b = this.out.length;
    if (start < 0 || start + block.length > n) throw new Error(`PeakAccumulator: samples ${start}..${start + block.length} outside 0..${n}`);
    if (block.length === 0) return;
    // a bucket at or before sample `start`'s (the loop below moves on to the right one)
    let i = Math.min(b - 1, Math.floor((start * b) / n));
    while (i > 0 && this.start(i) > start) i--;
    let end = i + 1 < b ? this.start(i + 1) : n;
    let hi = this.out[i];
    for (let k = 0; k < block.length; k++) {
      const j = start + k;
      if (j >= end) {
        this.out[i] = hi;
        do {
          i++;
          end = i + 1 < b ? this.start(i + 1) : n;
        } while (j >= end);
        hi = this.out[i];
      }
      const v = Math.abs(block[k]);
      if (v > hi) hi = v;
    }
    this.out[i] = hi;
  }

  /** The peaks (the accumulator's own array: add nothing after taking it). */
  result(): Float32Array {
    return this.out;
  }
}
