// Listenability measures on hand-made signals: SI-SDR with a known answer (orthogonal
// interference at a chosen power ratio), its scale and offset invariance, the energy share of a
// mask, and the whole path (STFT → mask → ISTFT) on a two-tone mixture with its ideal mask.
import { describe, expect, it } from 'vitest';
import { energyShare, listenability, siSdr, sourceBins } from './listenability';
import { istft, magnitude, stft } from './stft';

const N = 4000;
const tone = (cycles: number, amp: number, phase = 0) =>
  Float32Array.from({ length: N }, (_, i) => amp * Math.sin((2 * Math.PI * cycles * i) / N + phase));

describe('siSdr', () => {
  const s = tone(5, 1);
  const n = tone(7, 1 / Math.sqrt(10), Math.PI / 2); // orthogonal to s, 1/10 of its power
  const est = s.map((v, i) => v + n[i]);
  it('is 10·log10 of the power ratio for orthogonal interference', () => {
    expect(siSdr(est, s)).toBeCloseTo(10, 4);
    const n0 = tone(7, 1, 0.3); // same power: 0 dB
    expect(siSdr(s.map((v, i) => v + n0[i]), s)).toBeCloseTo(0, 4);
    const n2 = tone(11, 2); // 4× the power: −6.02 dB
    expect(siSdr(s.map((v, i) => v + n2[i]), s)).toBeCloseTo(-10 * Math.log10(4), 4);
  });
  it('ignores the estimate’s scale and a DC offset on either signal', () => {
    expect(siSdr(est.map((v) => -0.25 * v + 3), s)).toBeCloseTo(10, 4);
    expect(siSdr(est, s.map((v) => v - 1))).toBeCloseTo(10, 4);
  });
  it('is very high for the reference itself, NaN for a silent estimate or reference; rejects bad lengths', () => {
    expect(siSdr(s, s)).toBeGreaterThan(80);
    expect(siSdr(new Float32Array(N), s)).toBeNaN();
    expect(siSdr(s, new Float32Array(N).fill(0.5))).toBeNaN();
    expect(siSdr(s.map((v) => 1e-7 * v), s)).toBeNaN(); // −140 dB: float rounding, not a signal
    expect(siSdr(s.map((v) => 1e-4 * v), s)).toBeGreaterThan(80); // −80 dB is still a (scaled) copy
    expect(() => siSdr(s, s.subarray(1))).toThrow(/3999/);
  });
});

describe('energyShare and sourceBins', () => {
  it('counts Σ(M·|X|)² in the source’s bins; ties belong to B', () => {
    const magA = new Float32Array([3, 0, 1, 2]);
    const magB = new Float32Array([1, 2, 1, 0]);
    const bins = sourceBins(magA, magB);
    expect(Array.from(bins)).toEqual([1, 0, 0, 1]);
    const mag = new Float32Array([4, 2, 1, 2]);
    expect(energyShare(new Float32Array([1, 1, 1, 1]), mag, bins)).toBeCloseTo((16 + 4) / (16 + 4 + 1 + 4), 12);
    expect(energyShare(new Float32Array([0.5, 0, 0, 1]), mag, bins)).toBe(1);
    expect(energyShare(new Float32Array([0, 1, 0, 0]), mag, bins)).toBe(0);
    expect(energyShare(new Float32Array(4), mag, bins)).toBeNaN();
    expect(() => energyShare(new Float32Array(3), mag, bins)).toThrow(/mask 3/);
  });
});

describe('listenability on a two-tone mixture', () => {
  const sr = 16000;
  const L = 8000;
  const p = { nFft: 512, winLength: 512, hopLength: 128 };
  const a = Float32Array.from({ length: L }, (_, i) => 0.5 * Math.sin((2 * Math.PI * 500 * i) / sr));
  const b = Float32Array.from({ length: L }, (_, i) => 0.5 * Math.sin((2 * Math.PI * 3000 * i) / sr + 1));
  const x = a.map((v, i) => v + b[i]);
  const X = stft(x, p);
  const mag = magnitude(X);
  const binsA = sourceBins(magnitude(stft(a, p)), magnitude(stft(b, p)));
  const measure = (mask: Float32Array) =>
    listenability({ maskedIn: istft(X, p, L, { mask }), maskedOut: istft(X, p, L, { mask, invert: true }), mask, mag }, a, b, binsA);
  it('the ideal mask separates the tones; all-ones and the swapped mask do not', () => {
    const ideal = Float32Array.from(binsA);
    const good = measure(ideal);
    expect(good.siSdrIn).toBeGreaterThan(25);
    expect(good.siSdrOut).toBeGreaterThan(25);
    expect(good.energyShare).toBeGreaterThan(0.999);
    const ones = measure(new Float32Array(mag.length).fill(1));
    expect(Math.abs(ones.siSdrIn)).toBeLessThan(0.5); // the mixture: A and B at equal power
    expect(ones.siSdrOut).toBeNaN(); // the residual is silent
    expect(ones.energyShare).toBeCloseTo(0.5, 1);
    const swapped = measure(ideal.map((v) => 1 - v));
    expect(swapped.siSdrIn).toBeLessThan(-20);
    expect(swapped.energyShare).toBeLessThan(0.001);
  });
});
