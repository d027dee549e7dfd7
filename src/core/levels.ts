// |X| as 8-bit display levels (the spectrogram view, PNG export): computed in the worker so the page
// holds a byte per STFT value instead of a float (issue 12: long files in bounded memory).
import { BLOCK_FRAMES, type SpecSource } from './stft';

/** One magnitude's level: 0..255 over `rangeDb` below `maxDb` (truncated, as a Uint8Array stores it). */
export function level(m: number, maxDb: number, rangeDb: number): number {
  const db = 20 * Math.log10(m + 1e-12);
  const v = (db - (maxDb - rangeDb)) * (255 / rangeDb);
  return v <= 0 ? 0 : v >= 255 ? 255 : v;
}

const F32 = new Float32Array(1);
const U32 = new Uint32Array(F32.buffer);
/** The float32 whose bits are `b` (0 … 0x7f800000: +0 … +Infinity, in increasing order). */
function f32(b: number): number {
  U32[0] = b;
  return F32[0];
}

/**
 * Where the levels step up, for float32 magnitudes: steps[L] (L = 1..255) is the smallest float32
 * m ≥ 0 with level(m) ≥ L (+Infinity when there is none), steps[0] = -Infinity. `level` is
 * non-decreasing in m, so level(m) = the largest L with steps[L] ≤ m (LevelTable: a table lookup
 * instead of a log10 per value; issue 12: the levels of a 5 s clip took 3-6 ms in the worker
 * before its explanation). Each step is a binary search over the float32 bit patterns, with `level` itself.
 */
export function levelSteps(maxDb: number, rangeDb: number): Float32Array {
  const steps = new Float32Array(256);
  steps[0] = -Infinity;
  let lo = 0;
  for (let L = 1; L < 256; L++) {
    // the smallest bit pattern in [lo, +Inf] whose level is ≥ L (lo: the previous step's)
    let a = lo;
    let b = 0x7f800000;
    if (Math.trunc(level(f32(b), maxDb, rangeDb)) < L) {
      steps.fill(Infinity, L);
      break;
    }
    while (a < b) {
      const mid = a + Math.floor((b - a) / 2);
      if (Math.trunc(level(f32(mid), maxDb, rangeDb)) >= L) b = mid;
      else a = mid + 1;
    }
    steps[L] = f32(a);
    lo = a;
  }
  return steps;
}

/**
 * Levels of float32 magnitudes by their bit patterns (non-negative floats sort as their bits): a
 * table per bucket of 2^16 patterns (0.8 % of a value; a level is rangeDb/255 dB) gives the level
 * where the bucket starts, then the steps inside the bucket are compared. Equals `level`
 * (truncated) for every m ≥ 0.
 */
class LevelTable {
  private readonly lo: number;
  private readonly hi: number;
  private readonly table: Uint8Array;

  constructor(private readonly steps: Float32Array) {
    const bits = new Uint32Array(Float32Array.of(steps[1], steps[255]).buffer);
    this.lo = bits[0] >>> 16;
    this.hi = bits[1] >>> 16;
    this.table = new Uint8Array(this.hi - this.lo + 1);
    let L = 0;
    for (let i = this.lo; i <= this.hi; i++) {
      const start = f32(i << 16);
      while (L < 255 && steps[L + 1] <= start) L++;
      this.table[i - this.lo] = L;
    }
  }

  /** The level of float32 magnitude `m` whose bit pattern is `bits`. */
  level(m: number, bits: number): number {
    const idx = bits >>> 16;
    if (idx < this.lo) return 0;
    if (idx > this.hi) return 255;
    let L = this.table[idx - this.lo];
    while (L < 255 && this.steps[L + 1] <= m) L++;
    return L;
  }
}

/** Map magnitudes to 0..255 over an `rangeDb` window below the maximum. */
export function magnitudeLevels(magnitude: Float32Array, rangeDb = 80): Uint8Array {
  let max = 1e-12;
  for (let i = 0; i < magnitude.length; i++) if (magnitude[i] > max) max = magnitude[i];
  const maxDb = 20 * Math.log10(max);
  const lt = new LevelTable(levelSteps(maxDb, rangeDb));
  const bits = new Uint32Array(magnitude.buffer, magnitude.byteOffset, magnitude.length);
  const out = new Uint8Array(magnitude.length);
  for (let i = 0; i < magnitude.length; i++) out[i] = lt.level(magnitude[i], bits[i]);
  return out;
}

/**
 * The same levels for a whole file from its frames a block at a time (long files keep no
 * whole-file STFT, issue 12): `maxMagnitude` is the largest |X| of the file (the pipeline notes it
 * while the classifier reads every window). Equals magnitudeLevels(|X|) when it is that maximum.
 */
export function sourceLevels(src: SpecSource, maxMagnitude: number, rangeDb = 80, blockFrames = BLOCK_FRAMES): Uint8Array {
  const maxDb = 20 * Math.log10(Math.max(1e-12, maxMagnitude));
  const lt = new LevelTable(levelSteps(maxDb, rangeDb));
  const { bins, frames } = src;
  const out = new Uint8Array(bins * frames);
  for (let t0 = 0; t0 < frames; t0 += blockFrames) {
    const t1 = Math.min(frames, t0 + blockFrames);
    const { re, im } = src.block(t0, t1);
    const n = t1 - t0;
    for (let f = 0; f < bins; f++)
      for (let t = 0; t < n; t++) {
        const a = re[f * n + t];
        const b = im[f * n + t];
        // |X| rounded to float32 first, as magnitude() stores it
        F32[0] = Math.sqrt(a * a + b * b);
        out[f * frames + t0 + t] = lt.level(F32[0], U32[0]);
      }
  }
  return out;
}
