// The classifier's hidden outputs as a long file's cache keeps them (issue 12): 8 bits per value,
// affine per item and channel (value ≈ min + level · step), a quarter of float32 and half of
// float16 — an hour's 1442 windows in ≈ 325 MB instead of 650 MB. The decoder's mask from them is
// within a tolerance of the float32 one that hiddenLevels.test.ts checks on the shipped bundles.

/**
 * A decoder's mask from 8-bit hidden outputs may differ from its float32 mask by at most this
 * much (the worker checks a long file's first batch against it, else keeps float16). Measured on
 * the shipped bundles' decoders: ≤ 0.009 (esc50, esc50-stage1; hiddenLevels.test.ts).
 */
export const HIDDEN_LEVELS_TOLERANCE = 0.02;

/** One tensor [B × C × …] as 8-bit levels with a (min, step) pair per item and channel. */
export interface HiddenLevels {
  dims: readonly number[];
  levels: Uint8Array;
  /** [B × C]: the smallest value of the item's channel. */
  mins: Float32Array;
  /** [B × C]: (max − min) / 255 of the item's channel (0 when constant). */
  steps: Float32Array;
}

/** Quantise a float tensor [B × C × …] (rank ≥ 2) to levels per item and channel; null when a value is not finite. */
export function packHiddenLevels(data: Float32Array, dims: readonly number[]): HiddenLevels | null {
  if (dims.length < 2) return null;
  const rows = dims[0] * dims[1];
  const n = rows ? data.length / rows : 0;
  if (!Number.isInteger(n)) return null;
  const levels = new Uint8Array(data.length);
  const mins = new Float32Array(rows);
  const steps = new Float32Array(rows);
  for (let r = 0; r < rows; r++) {
    const o = r * n;
    let lo = Infinity;
    let hi = -Infinity;
    for (let i = o; i < o + n; i++) {
      const v = data[i];
      if (!Number.isFinite(v)) return null;
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
    if (n === 0) continue;
    const step = (hi - lo) / 255;
    mins[r] = lo;
    steps[r] = step;
    if (step === 0) continue;
    const inv = 1 / step;
    for (let i = o; i < o + n; i++) levels[i] = Math.round((data[i] - lo) * inv);
  }
  return { dims, levels, mins, steps };
}

/**
 * The float values of packed levels (min + level · step, within step / 2 of the packed ones),
 * written into `into` when given (its length must be the levels'), else into a new array.
 */
export function unpackHiddenLevels(p: HiddenLevels, into?: Float32Array): Float32Array {
  const { levels, mins, steps } = p;
  if (into && into.length !== levels.length) throw new Error(`unpackHiddenLevels: ${levels.length} values into an array of ${into.length}`);
  const out = into ?? new Float32Array(levels.length);
  const rows = mins.length;
  const n = rows ? levels.length / rows : 0;
  for (let r = 0; r < rows; r++) {
    const lo = mins[r];
    const step = steps[r];
    const o = r * n;
    for (let i = o; i < o + n; i++) out[i] = lo + levels[i] * step;
  }
  return out;
}

/** Bytes a packed tensor holds. */
export function hiddenLevelsBytes(p: HiddenLevels): number {
  return p.levels.byteLength + p.mins.byteLength + p.steps.byteLength;
}
