// Long files in bounded memory (issue 12): no whole-file STFT, frames computed by range from the
// samples, the ISTFT a block at a time, float32 stitching. Each new path is checked bit for bit
// against the whole-file path it replaces, and the real pipeline on a long state must never ask
// for the whole-file STFT.
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { skipUnless } from '../../tests/skip';
import { createNodeModel, loadBundleDir, type NodeModel } from '../node/ortNode';
import { analyze, pipelineConfig, renderExplanation, renderExplanationAudio, stitchedMask, type PipelineConfig } from './explain';
import { explanationMetrics, windowsInRange } from './faithfulness';
import { magnitudeLevels, sourceLevels } from './levels';
import { binaryMaskLevels, levelsOf, maskLevel, quantizeMask } from './maskLevels';
import { mulberry32 } from './perturbation';
import { istft, istftFrames, istftFrom, magnitude, signalSource, specSource, stft, stftFrames } from './stft';
import { MaskStitcher, padToPlan, planWindows, stitchWeights } from './windows';

const SP = { nFft: 1024, winLength: 1024, hopLength: 256 };
const W = 80000;

function noiseTone(n: number, seed: number): Float32Array {
  const r = mulberry32(seed);
  const x = new Float32Array(n);
  for (let i = 0; i < n; i++) x[i] = 0.5 * Math.sin((2 * Math.PI * 440 * i) / 16000) * (i % 9000 < 4000 ? 1 : 0.2) + 0.2 * (r() - 0.5);
  return x;
}

function framesOf(spec: { bins: number; frames: number; re: Float32Array; im: Float32Array }, a: number, b: number) {
  return specSource(spec).block(a, b);
}

describe('STFT frames by range', () => {
  it('stftFrames equals the whole-file STFT of the zero-padded signal, at both edges and in the padding', () => {
    const len = 16000 * 13 + 77;
    const x = noiseTone(len, 1);
    const plan = planWindows(len, W, SP.hopLength);
    expect(plan.paddedLength).toBeGreaterThan(len);
    const whole = stft(padToPlan(x, plan), SP);
    for (const [a, b] of [
      [0, 5],
      [0, 313],
      [100, 413],
      [whole.frames - 313, whole.frames],
      [whole.frames - 1, whole.frames],
    ]) {
      const part = stftFrames(x, plan.paddedLength, SP, a, b);
      const ref = framesOf(whole, a, b);
      expect(part.frames).toBe(b - a);
      expect(part.re).toEqual(ref.re);
      expect(part.im).toEqual(ref.im);
    }
    expect(() => stftFrames(x, plan.paddedLength, SP, 0, whole.frames + 1)).toThrow(/outside/);
    expect(() => stftFrames(x, len - 1, SP, 0, 1)).toThrow(/shorter than the signal/);
  });

  it('the display levels from blocks of frames equal those of the whole-file |X|', () => {
    const len = 16000 * 9 + 5;
    const x = noiseTone(len, 2);
    const plan = planWindows(len, W, SP.hopLength);
    const mag = magnitude(stft(padToPlan(x, plan), SP));
    let max = 0;
    for (const v of mag) max = Math.max(max, v);
    expect(sourceLevels(signalSource(x, plan.paddedLength, SP), max, 80, 100)).toEqual(magnitudeLevels(mag));
  });
});

describe('signalSource: blocks computed into one pair of arrays', () => {
  it('reuses its arrays from block to block, each block equal to stftFrames of its frames (larger blocks grow them)', () => {
    const len = 16000 * 4 + 77;
    const x = noiseTone(len, 8);
    const src = signalSource(x, len, SP);
    const b1 = src.block(0, 50);
    const v1 = { re: b1.re.slice(), im: b1.im.slice() };
    expect(v1).toEqual({ re: stftFrames(x, len, SP, 0, 50).re, im: stftFrames(x, len, SP, 0, 50).im });
    const b2 = src.block(50, 90);
    expect(b2.re.buffer).toBe(b1.re.buffer);
    expect(b2.im.buffer).toBe(b1.im.buffer);
    const f2 = stftFrames(x, len, SP, 50, 90);
    expect([b2.frames, b2.re, b2.im]).toEqual([40, f2.re, f2.im]);
    const b3 = src.block(90, 200);
    const f3 = stftFrames(x, len, SP, 90, 200);
    expect([b3.re, b3.im]).toEqual([f3.re, f3.im]);
    // asked for again, a block is computed again into the shared arrays
    expect(src.block(0, 50).re).toEqual(v1.re);
  });
});

describe('ISTFT a block at a time', () => {
  it('istftFrom equals istft bit for bit (mask, inverted mask, no mask; odd and even frame counts; small blocks)', () => {
    for (const len of [16000 * 7 + 300, 16000 * 3 + 256 * 11]) {
      const x = noiseTone(len, 3);
      const spec = stft(x, SP);
      const r = mulberry32(4);
      const mask = Float32Array.from({ length: spec.bins * spec.frames }, () => r());
      const src = signalSource(x, x.length, SP);
      for (const blockFrames of [2, 7, 64, 100000]) {
        expect(istftFrom(src, SP, len, { mask, blockFrames })).toEqual(istft(spec, SP, len, { mask }));
        expect(istftFrom(src, SP, len, { mask, invert: true, blockFrames })).toEqual(istft(spec, SP, len, { mask, invert: true }));
      }
      expect(istftFrom(src, SP, len + 999)).toEqual(istft(spec, SP, len + 999));
    }
  });

  it('istftFrames over a source equals istftFrames over the whole spectrogram', () => {
    const len = 16000 * 11;
    const x = noiseTone(len, 5);
    const plan = planWindows(len, W, SP.hopLength);
    const spec = stft(padToPlan(x, plan), SP);
    const r = mulberry32(6);
    const mask = Float32Array.from({ length: spec.bins * spec.frames }, () => r());
    const src = signalSource(x, plan.paddedLength, SP);
    for (const [a, b] of [
      [0, 200],
      [301, 555],
      [spec.frames - 100, spec.frames],
    ]) {
      const p = istftFrames(src, SP, len, a, b, { mask });
      const q = istftFrames(spec, SP, len, a, b, { mask });
      expect(p.start).toBe(q.start);
      expect(p.samples).toEqual(q.samples);
    }
  });
});

describe('windowsInRange', () => {
  it('the windows overlapping a time range, or the nearest one', () => {
    const plan = planWindows(16000 * 60, W, SP.hopLength);
    expect(windowsInRange(plan, 16000, 0, 1)).toEqual([0]);
    expect(windowsInRange(plan, 16000, 4.9, 5.1)).toEqual([0, 1, 2]);
    expect(windowsInRange(plan, 16000, 59, 70)).toEqual([plan.starts.length - 2, plan.starts.length - 1]);
    expect(windowsInRange(plan, 16000, 100, 120)).toEqual([plan.starts.length - 1]);
  });
});

describe('float32 stitching', () => {
  it('equals the float64 accumulation in window order (the stitcher before issue 12) bit for bit, in any order', () => {
    const bins = 5;
    for (const len of [16000 * 47 + 999, W, 16000 * 7]) {
      const plan = planWindows(len, W, SP.hopLength);
      const T = plan.windowFrames;
      const TT = plan.totalFrames;
      const r = mulberry32(len);
      const masks = plan.starts.map(() => Float32Array.from({ length: bins * T }, () => r()));
      // reference: one float64 accumulator, windows added in order, rounded once
      const ws = stitchWeights(plan);
      const acc = new Float64Array(bins * TT);
      masks.forEach((m, j) => {
        for (let f = 0; f < bins; f++) for (let t = 0; t < T; t++) acc[f * TT + plan.frameOffsets[j] + t] += ws[j][t] * m[f * T + t];
      });
      const ref = Float32Array.from(acc);
      const rev = new MaskStitcher(plan, bins);
      for (let j = masks.length - 1; j >= 0; j--) rev.add(j, masks[j]);
      expect(rev.result()).toEqual(ref);
      // odd windows first, then even, with a partial on the way
      const alt = new MaskStitcher(plan, bins);
      const order = [...masks.keys()].sort((a, b) => (a % 2) - (b % 2) || b - a);
      order.forEach((j, k) => {
        alt.add(j, masks[j]);
        if (k === Math.floor(order.length / 2)) {
          const covered = new Uint8Array(TT);
          const part = alt.partial(covered);
          for (let t = 0; t < TT; t++) if (covered[t]) for (let f = 0; f < bins; f++) expect(part[f * TT + t]).toBe(ref[f * TT + t]);
        }
      });
      expect(alt.result()).toEqual(ref);
    }
  });

  it('into 8-bit levels: maskLevel of the float64 sum, in any order, partial levels final where covered, within 1/510 of the float32 mask', () => {
    const bins = 4;
    for (const len of [16000 * 31 + 123, W]) {
      const plan = planWindows(len, W, SP.hopLength);
      const T = plan.windowFrames;
      const TT = plan.totalFrames;
      const r = mulberry32(len + 1);
      const masks = plan.starts.map(() => Float32Array.from({ length: bins * T }, () => r()));
      const ws = stitchWeights(plan);
      const acc = new Float64Array(bins * TT);
      masks.forEach((m, j) => {
        for (let f = 0; f < bins; f++) for (let t = 0; t < T; t++) acc[f * TT + plan.frameOffsets[j] + t] += ws[j][t] * m[f * T + t];
      });
      const ref = Uint8Array.from(acc, maskLevel);
      const floats = new MaskStitcher(plan, bins);
      const levels = new MaskStitcher<Uint8Array>(plan, bins, true);
      const order = [...masks.keys()].sort((a, b) => (a % 2) - (b % 2) || b - a);
      order.forEach((j, k) => {
        floats.add(j, masks[j]);
        levels.add(j, masks[j]);
        if (k === Math.floor(order.length / 2)) {
          const covered = new Uint8Array(TT);
          const part = levels.partial(covered);
          expect(part).toBeInstanceOf(Uint8Array);
          let n = 0;
          for (let t = 0; t < TT; t++) if (covered[t]) for (let f = 0; f < bins; f++, n++) expect(part[f * TT + t]).toBe(ref[f * TT + t]);
          if (len > W) expect(n).toBeGreaterThan(0);
        }
      });
      const out = levels.result();
      expect(out).toBeInstanceOf(Uint8Array);
      expect(out).toEqual(ref);
      // in shared memory: the page gets these very levels (no copy); other levels are copied
      expect(out.buffer).toBeInstanceOf(SharedArrayBuffer);
      expect(levelsOf(out)).toBe(out);
      const plain = ref.slice();
      expect(levelsOf(plain)).not.toBe(plain);
      expect(levelsOf(plain)).toEqual(plain);
      const fm = floats.result();
      let worst = 0;
      for (let i = 0; i < fm.length; i++) worst = Math.max(worst, Math.abs(out[i] / 255 - fm[i]));
      expect(worst).toBeLessThanOrEqual(1 / 510 + 1e-7);
      // the levels use the range (a constant mask would not test the rounding)
      expect(new Set(out).size).toBeGreaterThan(100);
    }
  });
});

const bundleDir = join(resolve(fileURLToPath(new URL('.', import.meta.url)), '..', '..'), 'models', 'esc50');
const hasBundle = existsSync(join(bundleDir, 'manifest.json'));

describe.skipIf(skipUnless(hasBundle, 'long-file pipeline on models/esc50', `no ${join(bundleDir, 'manifest.json')}`))('long-file pipeline on models/esc50 (onnxruntime-web, Node)', () => {
  let model: NodeModel;
  let cfg: PipelineConfig;
  beforeAll(async () => {
    const files = await loadBundleDir(bundleDir);
    cfg = pipelineConfig(files.manifest);
    model = await createNodeModel(files, 'ort-web');
  });
  afterAll(async () => model?.release());

  it('frames by window give the whole-file results (probabilities, mask, audio, metrics) without a whole-file STFT', async () => {
    const x = noiseTone(Math.round(16000 * 23.3), 11);
    const whole = await analyze(x, cfg, model.runner, { batchSize: 2 });
    const long = await analyze(x, cfg, model.runner, { batchSize: 2, wholeStftMaxS: 0 });
    expect(whole.source.whole).toBeDefined();
    expect(long.source.whole).toBeUndefined();
    expect(long.magnitude).toBeNull();
    // the L-MAC path must not compute the whole-file STFT of a long file
    Object.defineProperty(long, 'spec', {
      get() {
        throw new Error('the whole-file STFT was asked for');
      },
    });
    expect(long.logits).toEqual(whole.logits);
    expect(long.probs).toEqual(whole.probs);
    let max = 0;
    for (const v of whole.magnitude!) max = Math.max(max, v);
    expect(long.maxMagnitude).toBe(max);
    expect(sourceLevels(long.source, long.maxMagnitude)).toEqual(magnitudeLevels(whole.magnitude!));
    const target = 7;
    const mw = await stitchedMask(whole, model.runner, target);
    const ml = await stitchedMask(long, model.runner, target);
    expect(ml).toEqual(mw);
    const ew = renderExplanation(whole, target, mw, null);
    const el = renderExplanation(long, target, ml, null);
    expect(el.maskedIn).toEqual(ew.maskedIn);
    expect(el.maskedOut).toEqual(ew.maskedOut);
    const bin = renderExplanation(long, target, ml, 0.5);
    expect(bin.maskedIn).toEqual(renderExplanation(whole, target, mw, 0.5).maskedIn);
    // the metrics without a whole-file |X|
    whole.magnitude = null;
    const qw = await explanationMetrics(whole, model.runner, target, mw);
    const ql = await explanationMetrics(long, model.runner, target, ml);
    expect(ql).toEqual(qw);

    // metrics of the windows on screen only: all windows give the whole-file metrics; a range
    // runs the classifier on its windows only (masked-in and masked-out: 2 rows each)
    const all = long.plan.starts.map((_, w) => w);
    expect(await explanationMetrics(long, model.runner, target, ml, { windows: all })).toEqual(ql);
    const rows: number[] = [];
    const counting = { ...model.runner, runClassifier: (m: Float32Array, b: number, ph?: Parameters<typeof model.runner.runClassifier>[2]) => (rows.push(b), model.runner.runClassifier(m, b, ph)) };
    const some = windowsInRange(long.plan, cfg.sampleRate, 6, 9);
    expect(some).toEqual([1, 2, 3]); // windows of 5 s every 2.496 s: [2.5, 7.5), [5, 10), [7.5, 12.5)
    const part = await explanationMetrics(long, counting, target, ml, { windows: some });
    expect(rows.reduce((a, b) => a + b, 0)).toBe(2 * some.length);
    const C = cfg.classes;
    const p = some.reduce((acc, w) => acc + long.windowProbs[w * C + target] / some.length, 0);
    expect(part.pc).toBeCloseTo(p, 6);
    expect(part.pc).not.toBeCloseTo(ql.pc, 6);

    // the app stitches a long file's mask into 8-bit levels (a quarter of the memory): each is the
    // level of its float64 stitched value, so the float32 mask's level or (where float32 rounding
    // crosses a half level) one off
    long.lastSoft = null;
    const m8 = await stitchedMask(long, model.runner, target, { levels: true });
    expect(m8).toBeInstanceOf(Uint8Array);
    const q8 = quantizeMask(ml);
    let off = 0;
    for (let i = 0; i < m8.length; i++) if (m8[i] !== q8[i]) (off++, expect(Math.abs(m8[i] - q8[i])).toBe(1));
    expect(off).toBeLessThan(m8.length / 1000);
    // progressive into levels (focus first) ends with exactly the one-shot levels, the focus final
    long.lastSoft = null;
    let focusLevels: Uint8Array | null = null;
    let focusCovered: Uint8Array | null = null;
    const prog = await stitchedMask(long, model.runner, target, {
      levels: true,
      batchSize: 1,
      focus: { frame0: 600, frame1: 700 },
      onFocus: (f) => ((focusLevels = f.mask as Uint8Array), (focusCovered = f.covered)),
    });
    expect(prog).toEqual(m8);
    expect(focusLevels).toBeInstanceOf(Uint8Array);
    const TT = long.plan.totalFrames;
    let finalFrames = 0;
    let wrong = 0;
    for (let t = 0; t < TT; t++) if (focusCovered![t]) {
      finalFrames++;
      for (let f = 0; f < long.source.bins; f++) if (focusLevels![f * TT + t] !== m8[f * TT + t]) wrong++;
    }
    expect(wrong).toBe(0);
    expect(finalFrames).toBeGreaterThan(0);
    expect(finalFrames).toBeLessThan(TT);
    // the audio from levels: ISTFT is linear and the STFT a tight frame here, so its distance from
    // the float mask's audio is at most max|ΔM| ≤ 1/510 times the signal's (RMS)
    const a8 = renderExplanationAudio(long, target, m8, null);
    const af = renderExplanationAudio(long, target, ml, null);
    const pcm = async (b: Blob) => new Int16Array((await b.arrayBuffer()).slice(44));
    const [x8, xf] = [await pcm(a8.audio.explanation), await pcm(af.audio.explanation)];
    let e2 = 0;
    let s2 = 0;
    for (let i = 0; i < x.length; i++) {
      e2 += ((x8[i] - xf[i]) / 32767) ** 2;
      s2 += x[i] ** 2;
    }
    expect(Math.sqrt(e2)).toBeLessThanOrEqual(Math.sqrt(s2) / 510 + Math.sqrt(x.length) / 32767);
    expect(e2).toBeGreaterThan(0);
    expect(Math.abs(a8.maskMean - af.maskMean)).toBeLessThanOrEqual(1 / 510);
    expect(a8.maskLevels).toEqual(m8);
    // a threshold on levels differs from the float one only where the value is within half a level of it
    const b8 = binaryMaskLevels(m8, 0.5);
    const bf = binaryMaskLevels(ml, 0.5);
    for (let i = 0; i < b8.length; i++) if (b8[i] !== bf[i]) expect(Math.abs(ml[i] - 0.5)).toBeLessThanOrEqual(1 / 510 + 1e-6);
    // the metrics of the levels: within a few thousandths of the float mask's
    const q = await explanationMetrics(long, model.runner, target, m8);
    for (const k of ['pc', 'qc', 'rc'] as const) expect(Math.abs(q[k] - ql[k])).toBeLessThan(5e-3);
    expect(q.predQ).toBe(ql.predQ);
  });
});
