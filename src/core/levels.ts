// |X| as 8-bit display levels (the spectrogram view, PNG export): computed in the worker so the page
// holds a byte per STFT value instead of a float (issue 12: long files in bounded memory).
import type { SpecSource } from './stft';

/** One magnitude's level: 0..255 over `rangeDb` below `maxDb` (truncated, as a Uint8Array stores it). */
function level(m: number, maxDb: number, rangeDb: number): number {
  const db = 20 * Math.log10(m + 1e-12);
  const v = (db - (maxDb - rangeDb)) * (255 / rangeDb);
  return v <= 0 ? 0 : v >= 255 ? 255 : v;
}

/** Map magnitudes to 0..255 over an `rangeDb` window below the maximum. */
export function magnitudeLevels(magnitude: Float32Array, rangeDb = 80): Uint8Array {
  let max = 1e-12;
  for (let i = 0; i < magnitude.length; i++) if (magnitude[i] > max) max = magnitude[i];
  const maxDb = 20 * Math.log10(max);
  const out = new Uint8Array(magnitude.length);
  for (let i = 0; i < magnitude.length; i++) out[i] = level(magnitude[i], maxDb, rangeDb);
  return out;
}

/**
 * The same levels for a whole file from its frames a block at a time (long files keep no
 * whole-file STFT, issue 12): `maxMagnitude` is the largest |X| of the file (the pipeline notes it
 * while the classifier reads every window). Equals magnitudeLevels(|X|) when it is that maximum.
 */
export function sourceLevels(src: SpecSource, maxMagnitude: number, rangeDb = 80, blockFrames = 2048): Uint8Array {
  const maxDb = 20 * Math.log10(Math.max(1e-12, maxMagnitude));
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
        out[f * frames + t0 + t] = level(Math.fround(Math.sqrt(a * a + b * b)), maxDb, rangeDb);
      }
  }
  return out;
}
