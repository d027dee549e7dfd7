// Long files (issue 12): the residual by subtraction equals the ISTFT of (1−M)⊙X; progressive
// stitching (windows in any order, partial masks on the way) equals one-shot stitching; with a
// focus the real pipeline decodes the focused windows first and ends with the same mask.
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { skipUnless } from '../../tests/skip';
import { createNodeModel, loadBundleDir, type NodeModel } from '../node/ortNode';
import { analyze, focusMaskLevels, focusOrder, pipelineConfig, renderExplanation, residualOf, stitchedMask, type FocusMask, type PipelineConfig } from './explain';
import { binaryMaskLevels, quantizeMask } from './maskLevels';
import { mulberry32 } from './perturbation';
import { istft, istftFrames, stft } from './stft';
import { MaskStitcher, padToPlan, planWindows } from './windows';

const SP = { nFft: 1024, winLength: 1024, hopLength: 256 };
const W = 80000;

function noiseTone(n: number, seed: number): Float32Array {
  const r = mulberry32(seed);
  const x = new Float32Array(n);
  for (let i = 0; i < n; i++) x[i] = 0.5 * Math.sin((2 * Math.PI * 440 * i) / 16000) * (i % 9000 < 4000 ? 1 : 0.2) + 0.2 * (r() - 0.5);
  return x;
}

function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

describe('residual = original − explanation', () => {
  it('equals ISTFT((1−M)⊙X) to float precision, over several windows and a short clip', () => {
    for (const [len, seed] of [
      [Math.round(16000 * 13.7), 3],
      [12345, 4],
    ]) {
      const x = noiseTone(len, seed);
      const plan = planWindows(len, W, SP.hopLength);
      const spec = stft(padToPlan(x, plan), SP);
      const r = mulberry32(seed + 10);
      const mask = Float32Array.from({ length: spec.bins * spec.frames }, () => r());
      const maskedIn = istft(spec, SP, len, { mask });
      const byIstft = istft(spec, SP, len, { mask, invert: true });
      const bySub = residualOf(x, maskedIn);
      // float32 rounding of signals of amplitude ≤ 0.6
      expect(maxDiff(bySub, byIstft)).toBeLessThan(2e-6);
      // renderExplanation takes the subtraction when it has the original, the ISTFT when not
      const cfg = { sampleRate: 16000, windowSamples: W, stft: SP, classes: 1 };
      const a = renderExplanation({ spec, plan, config: cfg, original: x }, 0, mask, null);
      const b = renderExplanation({ spec, plan, config: cfg, original: null }, 0, mask, null);
      expect(maxDiff(a.maskedIn, b.maskedIn)).toBe(0);
      expect(maxDiff(a.maskedOut, b.maskedOut)).toBeLessThan(2e-6);
      expect(maxDiff(a.maskedOut, bySub)).toBe(0);
    }
  });
});

describe('the audio of a frame range', () => {
  it('istftFrames equals the whole-file ISTFT bit for bit where it is complete, at the edges too', () => {
    const len = Math.round(16000 * 21.3);
    const x = noiseTone(len, 8);
    const plan = planWindows(len, W, SP.hopLength);
    const spec = stft(padToPlan(x, plan), SP);
    const r = mulberry32(9);
    const mask = Float32Array.from({ length: spec.bins * spec.frames }, () => r());
    const whole = istft(spec, SP, len, { mask });
    for (const [a, b] of [
      [400, 900],
      [401, 777],
      [0, 300],
      [spec.frames - 250, spec.frames],
    ]) {
      const part = istftFrames(spec, SP, len, a, b, { mask });
      expect(part.samples.length).toBeGreaterThan((b - a - 6) * SP.hopLength);
      expect(part.start).toBeGreaterThanOrEqual(Math.max(0, (a - 1) * SP.hopLength));
      expect(part.start + part.samples.length).toBeLessThanOrEqual(Math.min(len, b * SP.hopLength));
      expect(part.samples).toEqual(whole.subarray(part.start, part.start + part.samples.length));
    }
  });
});

describe('progressive stitching', () => {
  it('windows added in any order, with partial masks on the way, give exactly the one-shot mask', () => {
    const bins = 7;
    const plan = planWindows(16000 * 61 + 123, W, SP.hopLength);
    const T = plan.windowFrames;
    const n = plan.starts.length;
    const r = mulberry32(5);
    const masks = plan.starts.map(() => Float32Array.from({ length: bins * T }, () => r()));
    const oneShot = new MaskStitcher(plan, bins);
    masks.forEach((m, w) => oneShot.add(w, m));
    const expected = oneShot.result().slice();

    const order = focusOrder(plan, plan.starts.map((_, w) => ({ windows: [w] })), { frame0: 2000, frame1: 2300 }).order;
    expect(order.length).toBe(n);
    expect(new Set(order).size).toBe(n);
    const prog = new MaskStitcher(plan, bins);
    for (let k = 0; k < order.length; k++) {
      prog.add(order[k], masks[order[k]]);
      if (k % 3 === 0 || k === 4) {
        const covered = new Uint8Array(plan.totalFrames);
        const part = prog.partial(covered);
        // where the partial says it is final, it is the final value, bit for bit
        for (let t = 0; t < plan.totalFrames; t++)
          if (covered[t]) for (let f = 0; f < bins; f++) expect(part[f * plan.totalFrames + t]).toBe(expected[f * plan.totalFrames + t]);
      }
    }
    expect(prog.result()).toEqual(expected);
  });

  it('focusOrder puts the windows that overlap the focus first, then the nearest', () => {
    const plan = planWindows(16000 * 60, W, SP.hopLength);
    const chunks = plan.starts.map((_, w) => ({ windows: [w] }));
    // frames 1000..1100 lie in windows starting at frame 780, 936 (156-frame hop, 313 frames)
    const { order, focused } = focusOrder(plan, chunks, { frame0: 1000, frame1: 1100 });
    const overlapping = chunks.map((_, w) => w).filter((w) => plan.frameOffsets[w] < 1100 && plan.frameOffsets[w] + plan.windowFrames > 1000);
    expect(focused).toBe(overlapping.length);
    expect(order.slice(0, focused).sort((a, b) => a - b)).toEqual(overlapping);
    // then outwards: the next ones are the neighbours of the focused block
    const next = order.slice(focused, focused + 2).sort((a, b) => a - b);
    expect(next).toEqual([overlapping[0] - 1, overlapping[overlapping.length - 1] + 1]);
    expect(focusOrder(plan, chunks).order).toEqual(chunks.map((_, w) => w));
  });
});

const bundleDir = join(resolve(fileURLToPath(new URL('.', import.meta.url)), '..', '..'), 'models', 'esc50');
const hasBundle = existsSync(join(bundleDir, 'manifest.json'));

describe.skipIf(skipUnless(hasBundle, 'focused stitching on models/esc50', `no ${join(bundleDir, 'manifest.json')}`))('focus on models/esc50 (onnxruntime-web, Node)', () => {
  let model: NodeModel;
  let cfg: PipelineConfig;
  beforeAll(async () => {
    const files = await loadBundleDir(bundleDir);
    cfg = pipelineConfig(files.manifest);
    model = await createNodeModel(files, 'ort-web');
  });
  afterAll(async () => model?.release());

  it('decodes the focused windows first, reports their final mask, and ends with the one-shot mask', async () => {
    const x = noiseTone(Math.round(16000 * 42), 7);
    const state = await analyze(x, cfg, model.runner, { batchSize: 2 });
    const target = 3;
    const oneShot = (await stitchedMask(state, model.runner, target)).slice();
    state.lastSoft = null;
    const T = state.plan.totalFrames;
    const focus = { frame0: Math.round(T * 0.6), frame1: Math.round(T * 0.7) };
    const progress: number[] = [];
    let seen: FocusMask | null = null;
    let progressAtFocus = -1;
    const mask = await stitchedMask(state, model.runner, target, {
      focus,
      onFocus: (f) => {
        seen = f;
        progressAtFocus = progress.length;
      },
      onProgress: (p) => progress.push(p.done),
    });
    expect(mask).toEqual(oneShot);
    const f = seen as FocusMask | null;
    expect(f).not.toBeNull();
    expect(f!.windowsDone).toBeLessThan(f!.windowsTotal);
    // the focus lies inside the final run of frames, and there the partial mask is the final one
    expect(f!.frame0).toBeLessThanOrEqual(focus.frame0);
    expect(f!.frame1).toBeGreaterThanOrEqual(focus.frame1);
    for (let b = 0; b < state.spec.bins; b += 17)
      for (let t = f!.frame0; t < f!.frame1; t++) expect(f!.mask[b * T + t]).toBe(oneShot[b * T + t]);
    // the mask is 0 outside the frames the stitched windows cover (and not only there), and the
    // levels a long file's focus message gets from that extent are the whole mask's levels
    const bins = state.spec.bins;
    const { frame0: e0, frame1: e1 } = f!.extent;
    expect(e0).toBeLessThanOrEqual(f!.frame0);
    expect(e1).toBeGreaterThanOrEqual(f!.frame1);
    expect(e1 - e0).toBeLessThan(T);
    let outside = 0;
    let edges = 0;
    for (let b = 0; b < bins; b++)
      for (let t = 0; t < T; t++) {
        const v = f!.mask[b * T + t];
        if (t < e0 || t >= e1) outside += v !== 0 ? 1 : 0;
        else if (t === e0 || t === e1 - 1) edges += v > 0 ? 1 : 0;
      }
    expect(outside).toBe(0);
    expect(edges).toBeGreaterThan(0);
    expect(focusMaskLevels(f!, null, bins, T)).toEqual(quantizeMask(f!.mask));
    expect(focusMaskLevels(f!, 0.5, bins, T)).toEqual(binaryMaskLevels(f!.mask, 0.5));
    expect(focusMaskLevels(f!, 0, bins, T)).toEqual(binaryMaskLevels(f!.mask, 0));
    // it came before the rest of the file was decoded
    expect(progressAtFocus).toBeLessThan(progress.length);
    expect(progress[progress.length - 1]).toBe(state.plan.starts.length);
  });
});
