import { describe, expect, it } from 'vitest';
import { level, levelSteps, magnitudeLevels } from './levels';
import { mulberry32 } from './perturbation';

/** The levels as computed before the step table: a log10 per value (Uint8Array truncation). */
function reference(magnitude: Float32Array, rangeDb = 80): Uint8Array {
  let max = 1e-12;
  for (const v of magnitude) if (v > max) max = v;
  const maxDb = 20 * Math.log10(max);
  return Uint8Array.from(magnitude, (m) => level(m, maxDb, rangeDb));
}

/** `k` float32 neighbours on each side of x (x ≥ 0). */
function neighbours(x: number, k: number): number[] {
  const f = new Float32Array(1);
  const u = new Uint32Array(f.buffer);
  f[0] = x;
  const b = u[0];
  const out: number[] = [];
  for (let d = -k; d <= k; d++) {
    if (b + d < 0 || b + d >= 0x7f800000) continue;
    u[0] = b + d;
    out.push(f[0]);
  }
  return out;
}

describe('magnitude levels from the step table', () => {
  it('equal the log10 formula on random magnitudes, zeros, the maximum, and a few float32 steps around every level boundary', () => {
    const r = mulberry32(31);
    for (const [scale, rangeDb] of [
      [1, 80],
      [37.5, 80],
      [1e-4, 60],
      [3, 120],
    ]) {
      const xs: number[] = [0, 0, scale];
      for (let i = 0; i < 50_000; i++) xs.push(scale * 10 ** (-7 * r()));
      let max = 1e-12;
      for (const v of Float32Array.from(xs)) if (v > max) max = v;
      const steps = levelSteps(20 * Math.log10(max), rangeDb);
      for (let L = 1; L < 256; L++) if (Number.isFinite(steps[L])) xs.push(...neighbours(steps[L], 3));
      const mag = Float32Array.from(xs);
      const got = magnitudeLevels(mag, rangeDb);
      const ref = reference(mag, rangeDb);
      let diff = 0;
      for (let i = 0; i < mag.length; i++) if (got[i] !== ref[i]) diff++;
      expect(diff).toBe(0);
      // the test reaches every level
      expect(new Set(got).size).toBe(256);
    }
  });

  it('silence and a single non-zero value give the levels of the formula too', () => {
    const zeros = new Float32Array(100);
    expect(Array.from(magnitudeLevels(zeros))).toEqual(Array.from(reference(zeros)));
    zeros[7] = 1e-3;
    expect(Array.from(magnitudeLevels(zeros))).toEqual(Array.from(reference(zeros)));
  });
});
