// Ground-truth helpers on hand-made cases: segment labels (whole and first-part annotations),
// segment scores of a mask, ROC AUC, bootstrap intervals, SSIM, event placement at an SNR.
import { describe, expect, it } from 'vitest';
import { bootstrapMean, energeticPart, frameToSegment, placeEvent, rms, rocAuc, segmentLabels, segmentScores, ssim, barChartSvg, lineChartSvg } from './groundTruth';

describe('segment labels', () => {
  it('marks the 100 ms segments an event overlaps, and only the first part when asked', () => {
    // 1 s, event 0.25-0.62 s → segments 2..6
    expect(Array.from(segmentLabels(1, 0.1, [{ onsetS: 0.25, offsetS: 0.62 }]))).toEqual([0, 0, 1, 1, 1, 1, 1, 0, 0, 0]);
    // first 25 %: 0.25-0.3425 → segments 2, 3
    expect(Array.from(segmentLabels(1, 0.1, [{ onsetS: 0.25, offsetS: 0.62 }], 0.25))).toEqual([0, 0, 1, 1, 0, 0, 0, 0, 0, 0]);
    // keep 0: the onset's segment only; two events; a last shorter segment
    expect(Array.from(segmentLabels(0.55, 0.1, [{ onsetS: 0.05, offsetS: 0.5 }, { onsetS: 0.51, offsetS: 0.9 }], 0))).toEqual([1, 0, 0, 0, 0, 1]);
  });
  it('maps frames to segments and scores a mask by mean and explanation energy', () => {
    // 8 frames, hop 50 samples at 1000 Hz, 100 ms segments, 300 samples: frames 0,1 → 0; 2,3 → 1; 4,5 → 2; 6,7 outside
    const seg = frameToSegment(8, 50, 1000, 0.1, 300);
    expect(Array.from(seg)).toEqual([0, 0, 1, 1, 2, 2, -1, -1]);
    const bins = 2;
    const mask = new Float32Array([1, 1, 0.5, 0.5, 0, 0, 9, 9, /* bin 1 */ 1, 1, 0.5, 0.5, 0, 0, 9, 9]);
    const mag = new Float32Array(16).fill(2);
    const { mean, energy } = segmentScores(mask, bins, 8, seg, 3, mag);
    expect(Array.from(mean)).toEqual([1, 0.5, 0]);
    expect(Array.from(energy)).toEqual([8, 2, 0]); // Σ_f (M·|X|)² per frame: 2·(1·2)² = 8, 2·(0.5·2)² = 2
  });
});

describe('ROC AUC', () => {
  it('is 1 for a perfect ranking, 0 for the reverse, 0.5 for ties, NaN with one class', () => {
    expect(rocAuc([0.1, 0.2, 0.9, 0.8], [0, 0, 1, 1])).toBe(1);
    expect(rocAuc([0.9, 0.8, 0.1, 0.2], [0, 0, 1, 1])).toBe(0);
    expect(rocAuc([1, 1, 1, 1], [0, 1, 0, 1])).toBe(0.5);
    expect(rocAuc([1, 2, 3], [1, 1, 1])).toBeNaN();
    // 2 positives, 3 negatives; positive scores 0.4, 0.7 vs negatives 0.1, 0.5, 0.9: pairs won = 1 + 2 = 3 of 6
    expect(rocAuc([0.4, 0.7, 0.1, 0.5, 0.9], [1, 1, 0, 0, 0])).toBeCloseTo(0.5, 12);
    // a tie between a positive and a negative counts one half: 0.5 vs {0.5, 0.1} → (0.5 + 1) / 2
    expect(rocAuc([0.5, 0.5, 0.1], [1, 0, 0])).toBeCloseTo(0.75, 12);
  });
});

describe('bootstrap interval of the mean over clips', () => {
  it('is a point for constant values, contains the mean, shrinks with more clips, drops NaN', () => {
    const c = bootstrapMean([0.8, 0.8, 0.8, NaN]);
    expect(c.n).toBe(3);
    for (const v of [c.mean, c.lo, c.hi]) expect(v).toBeCloseTo(0.8, 12);
    const few = bootstrapMean([0, 1, 0, 1, 1, 0, 1, 0], 2000, 3);
    expect(few.mean).toBe(0.5);
    expect(few.lo).toBeLessThan(0.5);
    expect(few.hi).toBeGreaterThan(0.5);
    // 8 Bernoulli(½) clips: standard error 0.177 → the 95 % interval is about ±0.35
    expect(few.hi - few.lo).toBeGreaterThan(0.5);
    expect(few.hi - few.lo).toBeLessThan(0.85);
    const many = bootstrapMean(Array.from({ length: 800 }, (_, i) => i % 2), 2000, 3);
    expect(many.hi - many.lo).toBeLessThan((few.hi - few.lo) / 5);
    expect(bootstrapMean([NaN]).n).toBe(0);
  });
});

describe('SSIM', () => {
  const W = 16;
  const H = 12;
  const img = Float64Array.from({ length: W * H }, (_, i) => Math.sin(i * 0.7) * 0.5 + ((i % W) / W) * 0.5);
  it('is 1 for identical images, symmetric, lower for a distorted image, about 0 for an unrelated one', () => {
    expect(ssim(img, img, W, H)).toBeCloseTo(1, 12);
    const noisy = img.map((v, i) => v + 0.2 * Math.sin(i * 12.9898));
    const s1 = ssim(img, noisy, W, H);
    expect(s1).toBeCloseTo(ssim(noisy, img, W, H), 12);
    expect(s1).toBeLessThan(0.9);
    expect(s1).toBeGreaterThan(0.2);
    const other = Float64Array.from({ length: W * H }, (_, i) => Math.abs(Math.sin(i * 78.233)) % 1);
    expect(Math.abs(ssim(img, other, W, H))).toBeLessThan(0.25);
    expect(ssim(img, img.map((v) => 1 - v), W, H)).toBeLessThan(0); // inverted structure (the mean stays positive)
  });
  it('handles constant images and 1-D curves', () => {
    const a = new Float64Array(W * H).fill(0.3);
    expect(ssim(a, a, W, H)).toBeCloseTo(1, 9);
    // a brightness shift of a constant image: luminance term (2·0.3·0.5 + C1)/(0.3² + 0.5² + C1) with L = 0.2
    const b = new Float64Array(W * H).fill(0.5);
    const C1 = (0.01 * 0.2) ** 2;
    const C2 = (0.03 * 0.2) ** 2;
    expect(ssim(a, b, W, H)).toBeCloseTo(((2 * 0.15 + C1) * C2) / ((0.09 + 0.25 + C1) * C2), 12);
    const curve = [0, 0, 1, 1, 0.5, 0, 0, 0, 0.2, 0];
    expect(ssim(curve, curve, curve.length, 1)).toBeCloseTo(1, 12);
    expect(ssim(curve, curve.slice().reverse(), curve.length, 1)).toBeLessThan(0.5);
  });
});

describe('event placement', () => {
  it('places the energetic part at the SNR and offset asked', () => {
    const sr = 1000;
    const x = new Float32Array(2000);
    for (let i = 700; i < 1100; i++) x[i] = Math.sin(i * 0.3);
    const { start, end } = energeticPart(x, sr, 10_000);
    expect(start).toBe(700);
    expect(end).toBe(1100);
    expect(energeticPart(x, sr, 200).end - energeticPart(x, sr, 200).start).toBe(200);
    const bg = Float32Array.from({ length: 3000 }, (_, i) => 0.1 * Math.sin(i * 1.7));
    const ev = x.subarray(start, end);
    for (const snr of [6, 0, -6]) {
      const { mixture, placed } = placeEvent(bg, ev, 1234, snr);
      expect(20 * Math.log10(rms(placed, 1234, 1634) / rms(bg))).toBeCloseTo(snr, 6);
      expect(placed[1233]).toBe(0);
      expect(placed[1634]).toBe(0);
      expect(mixture[1300]).toBeCloseTo(bg[1300] + placed[1300], 6);
    }
  });
  it('charts are SVG documents', () => {
    const bar = barChartSvg('t', ['a', 'b'], [{ label: 'g', values: [{ mean: 0.5, lo: 0.4, hi: 0.6, n: 3 }, { mean: 0.7, lo: NaN, hi: NaN, n: 0 }] }]);
    expect(bar.startsWith('<svg')).toBe(true);
    expect(bar.endsWith('</svg>')).toBe(true);
    expect(lineChartSvg('t', ['1', '2'], [{ name: 'x<y', values: [0.2, 0.4] }])).toContain('x&lt;y');
  });
});
