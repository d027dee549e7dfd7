import { describe, expect, it } from 'vitest';
import { resample, resampledLength } from './resample';

function sine(n: number, sr: number, f: number, a: number): Float32Array {
  return Float32Array.from({ length: n }, (_, i) => a * Math.sin((2 * Math.PI * f * i) / sr));
}

/** Frequency from the number of upward zero crossings over the middle of the signal. */
function freqByZeroCrossings(x: Float32Array, sr: number): number {
  let first = -1;
  let last = -1;
  let count = 0;
  for (let i = 1; i < x.length; i++) {
    if (x[i - 1] < 0 && x[i] >= 0) {
      const pos = i - 1 + -x[i - 1] / (x[i] - x[i - 1]);
      if (first < 0) first = pos;
      else count++;
      last = pos;
    }
  }
  return (count * sr) / (last - first);
}

function rms(x: Float32Array): number {
  return Math.sqrt(x.reduce((s, v) => s + v * v, 0) / x.length);
}

describe('resample', () => {
  const cases: [number, number, number][] = [
    [44100, 16000, 1000],
    [48000, 16000, 3000],
    [8000, 16000, 440],
    [22050, 16000, 5000],
  ];
  for (const [from, to, f] of cases) {
    it(`${from} → ${to} Hz keeps a ${f} Hz sine's frequency, amplitude and timing`, async () => {
      const x = sine(from * 2, from, f, 0.5);
      const y = await resample(x, from, to);
      expect(y.length).toBe(resampledLength(x.length, from, to));
      expect(y.length).toBe(to * 2);
      const mid = y.subarray(to / 4, y.length - to / 4);
      expect(Math.abs(freqByZeroCrossings(mid, to) - f)).toBeLessThan(0.5);
      expect(rms(mid)).toBeCloseTo(0.5 / Math.SQRT2, 2);
      // no delay: equals the sine sampled directly at the new rate
      const ref = sine(to * 2, to, f, 0.5).subarray(to / 4, y.length - to / 4);
      let err = 0;
      for (let i = 0; i < mid.length; i++) err = Math.max(err, Math.abs(mid[i] - ref[i]));
      expect(err).toBeLessThan(0.01);
    });
  }

  it('removes content above the new Nyquist frequency (anti-aliasing)', async () => {
    const x = sine(48000, 48000, 12000, 0.5); // above 8 kHz
    const y = await resample(x, 48000, 16000);
    expect(rms(y.subarray(4000, 12000))).toBeLessThan(0.01);
  });

  it('same rate returns a copy; empty input gives empty output; bad rates throw', async () => {
    const x = sine(100, 16000, 100, 0.1);
    const y = await resample(x, 16000, 16000);
    expect(y).not.toBe(x);
    expect(Array.from(y)).toEqual(Array.from(x));
    expect((await resample(new Float32Array(0), 44100, 16000)).length).toBe(0);
    await expect(resample(x, 0, 16000)).rejects.toThrow(/invalid rates/);
  });
});
