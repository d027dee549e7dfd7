import { describe, expect, it } from 'vitest';
import { MaskStitcher, padToPlan, planWindows, signalFrames, signalMaskMean, signalPart, stitchWeights } from './windows';

const W = 80000;
const HOP = 256;

describe('planWindows', () => {
  it('pads short audio to one window', () => {
    const p = planWindows(12345, W, HOP);
    expect(p.paddedLength).toBe(W);
    expect(p.starts).toEqual([0]);
    expect(p.windowFrames).toBe(313);
    expect(p.totalFrames).toBe(313);
    const x = new Float32Array(12345).fill(0.5);
    const y = padToPlan(x, p);
    expect(y.length).toBe(W);
    expect(y[12344]).toBe(0.5);
    expect(y[12345]).toBe(0);
  });

  it('one exact window needs no padding', () => {
    const p = planWindows(W, W, HOP);
    expect(p.paddedLength).toBe(W);
    expect(p.starts).toEqual([0]);
  });

  it('uses the DESIGN hop (39936 = 156 frames) and end-aligns the last window', () => {
    for (const len of [W + 1, 100000, 119936, 160000, 16000 * 600 + 17]) {
      const p = planWindows(len, W, HOP);
      expect(p.windowHop).toBe(39936);
      expect(p.paddedLength).toBeGreaterThanOrEqual(len);
      expect(p.paddedLength - len).toBeLessThan(HOP);
      expect((p.paddedLength - W) % HOP).toBe(0);
      const last = p.starts[p.starts.length - 1];
      expect(last + W).toBe(p.paddedLength);
      for (let i = 1; i < p.starts.length; i++) {
        expect(p.starts[i] % HOP).toBe(0);
        expect(p.starts[i] - p.starts[i - 1]).toBeGreaterThan(0);
        expect(p.starts[i] - p.starts[i - 1]).toBeLessThanOrEqual(39936);
      }
      expect(p.frameOffsets[p.frameOffsets.length - 1] + p.windowFrames).toBe(p.totalFrames);
      // every sample of the padded signal lies in some window
      const covered = new Uint8Array(p.paddedLength);
      for (const s of p.starts) covered.fill(1, s, s + W);
      expect(covered.every((c) => c === 1)).toBe(true);
    }
  });

  it('rejects empty input', () => {
    expect(() => planWindows(0, W, HOP)).toThrow(/length/);
  });
});

describe('stitching', () => {
  it('weights sum to exactly 1 at every frame (every frame covered once in weight)', () => {
    for (const len of [5000, W, 100001, 16000 * 61]) {
      const p = planWindows(len, W, HOP);
      const ws = stitchWeights(p);
      const sum = new Float64Array(p.totalFrames);
      ws.forEach((w, j) => w.forEach((v, t) => (sum[p.frameOffsets[j] + t] += v)));
      for (let t = 0; t < p.totalFrames; t++) expect(Math.abs(sum[t] - 1)).toBeLessThan(1e-12);
      ws.forEach((w) => w.forEach((v) => expect(v).toBeGreaterThan(0)));
    }
  });

  it('stitching constant masks reproduces the constant; windows keep their own values where alone', () => {
    const bins = 3;
    const p = planWindows(16000 * 20, W, HOP);
    const T = p.windowFrames;
    const st = new MaskStitcher(p, bins);
    // all windows of value 0.25 in one batch buffer
    const batch = new Float32Array(p.starts.length * bins * T).fill(0.25);
    p.starts.forEach((_, j) => st.add(j, batch, j * bins * T));
    const m = st.result();
    expect(m.length).toBe(bins * p.totalFrames);
    for (const v of m) expect(v).toBeCloseTo(0.25, 6);

    const st2 = new MaskStitcher(p, bins);
    p.starts.forEach((_, j) => st2.add(j, new Float32Array(bins * T).fill(j)));
    const m2 = st2.result();
    expect(m2[0]).toBeCloseTo(0, 6); // first frames: window 0 alone
    expect(m2[p.totalFrames - 1]).toBeCloseTo(p.starts.length - 1, 5); // last frame: last window alone
    for (let t = 1; t < p.totalFrames; t++) expect(m2[t]).toBeGreaterThanOrEqual(m2[t - 1] - 1e-6); // monotone crossfade
  });

  it('throws on a missing or duplicated window', () => {
    const p = planWindows(200000, W, HOP);
    const st = new MaskStitcher(p, 2);
    st.add(0, new Float32Array(2 * p.windowFrames));
    expect(() => st.add(0, new Float32Array(2 * p.windowFrames))).toThrow(/twice/);
    expect(() => st.result()).toThrow(/window 1 was not added/);
  });
});

describe('signal frames (issue 13)', () => {
  it('a short clip: the frames of the unpadded STFT; the padding frames are left out of the mean', () => {
    const plan = planWindows(32000, 80000, 160); // 2 s in a 5 s window
    expect(plan.totalFrames).toBe(501);
    expect(signalFrames(plan)).toBe(201);
    const bins = 3;
    const m = new Float32Array(bins * 501);
    for (let f = 0; f < bins; f++) for (let t = 0; t < 501; t++) m[f * 501 + t] = t < 201 ? 0.1 * (f + 1) : 1;
    expect(signalMaskMean(m, plan)).toBeCloseTo(0.2, 6);
    const part = signalPart(m, plan);
    expect(part.length).toBe(bins * 201);
    expect(part[201]).toBeCloseTo(0.2, 6); // bin 1, frame 0
    expect(Array.from(part).every((v) => v < 1)).toBe(true);
  });

  it('a long clip: at most totalFrames; no padding means the whole mask', () => {
    const exact = planWindows(80000, 80000, 160);
    expect(signalFrames(exact)).toBe(exact.totalFrames);
    const m = new Float32Array(2 * exact.totalFrames).fill(0.5);
    expect(signalPart(m, exact)).toBe(m);
    expect(signalMaskMean(m, exact)).toBeCloseTo(0.5, 6);
    const long = planWindows(200050, 80000, 160); // padded by < one hop
    expect(signalFrames(long)).toBe(Math.min(long.totalFrames, Math.floor(200050 / 160) + 1));
  });
});
