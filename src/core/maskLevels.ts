// The explanation's mask as the page gets it (issue 12): 8 bits per value instead of a float
// (an hour's mask is 115 MB instead of 462 MB). The float mask stays in the worker, which makes
// the audio and the metrics from it; views, the PNG and a long file's JSON export use these levels.

/** A whole-file mask as float values or as 8-bit levels (value = level / 255): long files keep levels (issue 12). */
export type SoftMask = Float32Array | Uint8Array;

/** The value of each level, level / 255 (0 and 255 are exactly 0 and 1). */
export const LEVEL_VALUES = Float64Array.from({ length: 256 }, (_, q) => q / 255);

/** Level of a mask value in [0, 1]: round(v · 255), clamped (value = level / 255). */
export function maskLevel(v: number): number {
  const q = Math.round(v * 255);
  return q <= 0 ? 0 : q >= 255 ? 255 : q;
}

// Both write only the non-zero levels: a fresh array is zero already, and pages never written are
// not resident, so the levels of a progressive explanation's focused part (zero outside it) cost
// memory for that part only.

/** Quantise a soft mask to levels 0..255 (|v − level/255| ≤ 1/510 for v in [0, 1]). */
export function quantizeMask(mask: ArrayLike<number>): Uint8Array {
  const out = new Uint8Array(mask.length);
  for (let i = 0; i < mask.length; i++) {
    const q = maskLevel(mask[i]);
    if (q !== 0) out[i] = q;
  }
  return out;
}

/**
 * The binary mask (value ≥ threshold) as levels: 255 where kept, 0 elsewhere (exactly 1 and 0 as
 * values). Of a float mask or of levels (their values level / 255 compared).
 */
export function binaryMaskLevels(soft: ArrayLike<number> | Uint8Array, threshold: number): Uint8Array {
  const out = new Uint8Array(soft.length);
  if (soft instanceof Uint8Array) {
    const keep = new Uint8Array(256);
    for (let q = 0; q < 256; q++) if (LEVEL_VALUES[q] >= threshold) keep[q] = 255;
    for (let i = 0; i < soft.length; i++) if (keep[soft[i]]) out[i] = 255;
    return out;
  }
  for (let i = 0; i < soft.length; i++) if (soft[i] >= threshold) out[i] = 255;
  return out;
}

/**
 * A zeroed levels array of `n` values, in shared memory where there is SharedArrayBuffer (a
 * cross-origin isolated page and its worker): the worker's stitched mask and the page's levels are
 * then one copy (issue 12: 115 MB for an hour), which neither side writes once stitched.
 */
export function sharedLevels(n: number): Uint8Array {
  return typeof SharedArrayBuffer === 'function' ? new Uint8Array(new SharedArrayBuffer(n)) : new Uint8Array(n);
}

/** A mask's levels for the page: shared levels as they are (sharedLevels), other levels copied, a float mask quantised (quantizeMask). */
export function levelsOf(mask: SoftMask): Uint8Array {
  if (!(mask instanceof Uint8Array)) return quantizeMask(mask);
  return typeof SharedArrayBuffer === 'function' && mask.buffer instanceof SharedArrayBuffer ? mask : mask.slice();
}

/** Levels back to values in [0, 1] (level / 255). */
export function maskFromLevels(levels: Uint8Array): Float32Array {
  const out = new Float32Array(levels.length);
  for (let i = 0; i < levels.length; i++) out[i] = levels[i] / 255;
  return out;
}

/** A mask value at index i of either form: a float mask as is, levels divided by 255. */
export function maskScale(mask: Float32Array | Uint8Array): number {
  return mask instanceof Uint8Array ? 1 / 255 : 1;
}
