// LMAC-TD over whole files (src/core/lmactd.ts): the cross-fade weights sum to 1 at every sample,
// so explanation + residual is the original exactly for any length; then the real bundle
// (models/esc50 with its time decoder, onnxruntime-web's Node build): one window gives the
// decoder's own output, a long file is cross-faded, the overlay ratio and the metrics.
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { skipUnless } from '../../tests/skip';
import { maxAbsDiff, readFixture } from '../node/fixtures';
import { createNodeModel, loadBundleDir, type NodeModel } from '../node/ortNode';
import { analyze, pipelineConfig, releaseAnalysis, type PipelineConfig } from './explain';
import { crossfadeWeights, explanationRatioMask, timeDomainExplain, timeDomainMetrics, WaveStitcher, windowWaveformInto, type TimeFocus } from './lmactd';
import { magnitude, stft } from './stft';
import { planWindows } from './windows';

const root = resolve(fileURLToPath(new URL('.', import.meta.url)), '..', '..');
const bundleDir = join(root, 'models', 'esc50');
const fixture = join(root, 'models', 'fixtures', 'lmactd-parity.json');
const hasBundle = existsSync(join(bundleDir, 'manifest.json')) && existsSync(join(bundleDir, 'time_decoder.onnx')) && existsSync(fixture);

function signal(n: number, sr: number, seed = 1): Float32Array {
  const x = new Float32Array(n);
  let s = seed;
  for (let i = 0; i < n; i++) {
    s = (s * 16807) % 2147483647;
    const burst = Math.floor(i / (sr * 0.7)) % 2 === 0 ? 1 : 0.1;
    x[i] = burst * 0.4 * Math.sin((2 * Math.PI * 700 * i) / sr) + 0.05 * (s / 2147483647 - 0.5);
  }
  return x;
}

const energy = (x: ArrayLike<number>) => {
  let s = 0;
  for (let i = 0; i < x.length; i++) s += x[i] * x[i];
  return s;
};

describe('cross-fade of window explanations', () => {
  it('weights are positive and sum to 1 at every sample of the padded signal, for short, exact and long lengths', () => {
    for (const len of [1000, 80000, 80001, 119936, 200000, 16000 * 61 + 17]) {
      const plan = planWindows(len, 80000, 256);
      const sum = new Float64Array(plan.paddedLength);
      let min = Infinity;
      plan.starts.forEach((s, w) => {
        const wt = crossfadeWeights(plan, w);
        for (let n = 0; n < wt.length; n++) {
          min = Math.min(min, wt[n]);
          sum[s + n] += wt[n];
        }
      });
      expect(min).toBeGreaterThan(0);
      let worst = 0;
      for (let i = 0; i < sum.length; i++) worst = Math.max(worst, Math.abs(sum[i] - 1));
      expect(worst, `length ${len}`).toBeLessThan(1e-12);
    }
  });

  it('stitching each window of a signal gives back the signal (an identity decoder), and a constant stays constant', () => {
    const len = 16000 * 23 + 5;
    const x = signal(len, 16000);
    const plan = planWindows(len, 80000, 256);
    const id = new WaveStitcher(plan);
    const one = new WaveStitcher(plan);
    const ones = new Float32Array(80000).fill(1);
    const win = new Float32Array(80000);
    // any order
    for (const w of [...plan.starts.keys()].reverse()) {
      windowWaveformInto(x, plan, w, win, 0);
      id.add(w, win);
      one.add(w, ones);
    }
    expect(maxAbsDiff(id.result(), x)).toBeLessThan(1e-6);
    expect(one.result().every((v) => Math.abs(v - 1) < 1e-6)).toBe(true);
    expect(() => id.add(0, win)).toThrow(/window 0 added twice/);
    // finalRange: the samples whose windows are all in, and there the values of the whole result
    const some = new WaveStitcher(plan);
    for (const w of [3, 4, 5]) {
      windowWaveformInto(x, plan, w, win, 0);
      some.add(w, win);
    }
    const { start, end } = some.finalRange(4);
    expect(start).toBe(plan.starts[2] + plan.windowSamples);
    expect(end).toBe(plan.starts[6]);
    expect(maxAbsDiff(some.part(start, end), x.subarray(start, end))).toBeLessThan(1e-6);
    expect(() => some.finalRange(0)).toThrow(/window 0 is not added/);
    expect(() => new WaveStitcher(plan).result()).toThrow(/window 0 was not added/);
  });
});

describe.skipIf(skipUnless(hasBundle, 'LMAC-TD pipeline', 'models/esc50 with time_decoder.onnx and models/fixtures/lmactd-parity.json are needed'))(
  'LMAC-TD pipeline (models/esc50, onnxruntime-web Node)',
  () => {
    let model: NodeModel;
    let cfg: PipelineConfig;
    beforeAll(async () => {
      const files = await loadBundleDir(bundleDir);
      cfg = pipelineConfig(files.manifest);
      model = await createNodeModel(files, 'ort-web');
    });
    afterAll(async () => {
      await model?.release();
    });

    it('one window: the explanation is the PyTorch one, explanation + residual = original, overlay and metrics', async () => {
      const fx = readFixture<{ target: number; targetUnlikely: number; energyRatio: number }>(fixture);
      const x = fx.arrays.signal;
      const st = await analyze(x, cfg, model.runner);
      try {
        expect(st.cached).toBe(true);
        const r = await timeDomainExplain(st, model.runner, fx.meta.target);
        expect(maxAbsDiff(r.explanation, fx.arrays.explanation)).toBeLessThan(2e-3);
        expect(maxAbsDiff(r.explanation.map((v, i) => v + r.residual[i]), x)).toBeLessThan(1e-6);
        expect(energy(r.explanation) / energy(x)).toBeCloseTo(fx.meta.energyRatio, 2);
        // overlay: the ratio of magnitudes on the file's STFT grid, in [0, 1]
        expect(r.mask.length).toBe(st.spec.bins * st.plan.totalFrames);
        expect(r.mask.every((v) => v >= 0 && v <= 1)).toBe(true);
        const mx = magnitude(st.spec);
        const me = magnitude(stft(r.explanation, cfg.stft));
        let k = 0;
        for (let i = 1; i < mx.length; i++) if (mx[i] > mx[k]) k = i;
        expect(r.mask[k]).toBeCloseTo(Math.min(1, me[k] / mx[k]), 3);
        // the original itself: a ratio of 1 wherever |X| is well above the 80 dB floor
        const self = explanationRatioMask(st, x);
        expect(self.every((v, i) => mx[i] < 1e-2 * mx[k] || v >= 0.99)).toBe(true);
        const m = await timeDomainMetrics(st, model.runner, fx.meta.target, r.explanation, r.residual, r.mask);
        expect(m.pc).toBeCloseTo(st.probs[fx.meta.target], 6);
        for (const v of [m.qc, m.rc, m.FF, m.AD, m.SPS, m.COMP, m.MM]) expect(Number.isFinite(v)).toBe(true);
        // the classifier on the explanation: the same as running it on the explanation's own STFT
        const q = await model.runner.runClassifier(magnitude(stft(r.explanation, cfg.stft)), 1);
        let mq = -Infinity;
        for (const v of q.logits) mq = Math.max(mq, v);
        let z = 0;
        for (const v of q.logits) z += Math.exp(v - mq);
        expect(m.qc).toBeCloseTo(Math.exp(q.logits[fx.meta.target] - mq) / z, 4);
        model.runner.releaseHidden(q.hidden);
        // an unlikely class: near-silence
        const low = await timeDomainExplain(st, model.runner, fx.meta.targetUnlikely);
        expect(energy(low.explanation)).toBeLessThan(0.1 * energy(r.explanation));
        await expect(timeDomainExplain(st, model.runner, 50)).rejects.toThrow('target class 50 is out of range 0..49');
      } finally {
        releaseAnalysis(st, model.runner);
      }
    });

    it('a 13 s file: windows cross-faded, sums to the original, the first half-window is window 0 alone, no cache gives the same', async () => {
      const x = signal(16000 * 13 + 123, 16000, 7);
      const st = await analyze(x, cfg, model.runner, { batchSize: 2 });
      try {
        expect(st.plan.starts.length).toBe(5);
        const target = 3;
        const r = await timeDomainExplain(st, model.runner, target);
        expect(r.explanation.length).toBe(x.length);
        expect(maxAbsDiff(r.explanation.map((v, i) => v + r.residual[i]), x)).toBeLessThan(1e-6);
        // where only window 0 covers the signal, its weight is 1: the decoder's output on window 0
        const w0 = new Float32Array(80000);
        windowWaveformInto(x, st.plan, 0, w0, 0);
        const h = await model.runner.runClassifier(magnitude(stft(w0, cfg.stft)), 1);
        const e0 = await model.runner.runTimeDecoder!(h.hidden, w0, [target]);
        model.runner.releaseHidden(h.hidden);
        const until = st.plan.starts[1];
        // (window 0's |X| in the analysis is a slice of the whole-file STFT: near its end it differs from w0's own STFT)
        expect(maxAbsDiff(r.explanation.subarray(0, until / 2), e0.subarray(0, until / 2))).toBeLessThan(5e-3);
        // without cached hidden outputs the classifier runs again: the same explanation
        const noCache = { ...st, chunks: [], cached: false };
        const r2 = await timeDomainExplain(noCache, model.runner, target, { batchSize: 3 });
        expect(maxAbsDiff(r2.explanation, r.explanation)).toBeLessThan(1e-5);
      } finally {
        releaseAnalysis(st, model.runner);
      }
    });

    it('a 50 s file with a focus in the middle: those windows first, their samples and overlay frames are the whole-file result there; cancellable', async () => {
      const x = signal(16000 * 50 + 321, 16000, 11);
      const target = 3;
      for (const wholeStftMaxS of [undefined, 0]) {
        const st = await analyze(x, cfg, model.runner, { batchSize: 2, ...(wholeStftMaxS === 0 ? { wholeStftMaxS } : {}) });
        try {
          const nWin = st.plan.starts.length;
          const one = await timeDomainExplain(st, model.runner, target);
          const fps = cfg.sampleRate / cfg.stft.hopLength;
          const focus = { frame0: Math.floor(20 * fps), frame1: Math.ceil(30 * fps) + 1 };
          const seen: TimeFocus[] = [];
          const order: number[] = [];
          const r = await timeDomainExplain(st, model.runner, target, {
            focus,
            onFocus: (f) => seen.push(f),
            onProgress: (p) => order.push(p.done),
          });
          expect(seen.length).toBe(1);
          const f = seen[0];
          expect(f.windowsTotal).toBe(nWin);
          expect(f.windowsDone).toBeLessThan(nWin / 2);
          // the final samples cover the focus
          expect(f.start).toBeLessThanOrEqual(20 * 16000);
          expect(f.end).toBeGreaterThanOrEqual(30 * 16000);
          expect(f.end - f.start).toBeLessThan(x.length / 2);
          expect(f.explanation.length).toBe(f.end - f.start);
          // stitching is exact where windows meet: the focused part is the one-shot result's samples
          const d = maxAbsDiff(f.explanation, one.explanation.subarray(f.start, f.end));
          expect(d, `focus vs whole-file, wholeStftMaxS ${wholeStftMaxS}`).toBeLessThanOrEqual(1e-7);
          // the overlay of those frames too, and the whole-file result does not depend on the order
          const TT = st.plan.totalFrames;
          const n = f.frame1 - f.frame0;
          expect(f.frame0).toBeLessThanOrEqual(focus.frame0);
          expect(f.frame1).toBeGreaterThanOrEqual(focus.frame1 - 1);
          expect(f.mask.length).toBe(st.source.bins * n);
          let dm = 0;
          for (let b = 0; b < st.source.bins; b++)
            for (let t = 0; t < n; t++) dm = Math.max(dm, Math.abs(f.mask[b * n + t] - one.mask[b * TT + f.frame0 + t]));
          expect(dm).toBeLessThanOrEqual(1e-6);
          expect(maxAbsDiff(r.explanation, one.explanation)).toBeLessThanOrEqual(1e-7);
          expect(maxAbsDiff(r.mask, one.mask)).toBeLessThanOrEqual(1e-6);
          expect(order[order.length - 1]).toBe(nWin);
          // audible there (not the belief gate's silence), and the same as explanation + residual = original
          expect(energy(f.explanation)).toBeGreaterThan(1e-4 * energy(x.subarray(f.start, f.end)));
          // cancelled once the focus is shown (a class switch): the rest is not computed
          const ac = new AbortController();
          let after = 0;
          await expect(
            timeDomainExplain(st, model.runner, target, {
              focus,
              signal: ac.signal,
              onFocus: () => ac.abort(),
              onProgress: (p) => void (ac.signal.aborted && p.done > f.windowsDone && after++),
            }),
          ).rejects.toThrow(/abort/i);
          expect(after).toBe(0);
        } finally {
          releaseAnalysis(st, model.runner);
        }
      }
    });

    it('a long file without a whole-file STFT (issue 12): the same explanation, overlay and metrics, no spectrogram built', async () => {
      const x = signal(16000 * 13 + 123, 16000, 7);
      const whole = await analyze(x, cfg, model.runner, { batchSize: 2 });
      const long = await analyze(x, cfg, model.runner, { batchSize: 2, wholeStftMaxS: 0 });
      try {
        expect(long.magnitude).toBeNull();
        expect(long.source.whole).toBeUndefined();
        // a copy whose whole-file spectrogram must not be asked for
        const guarded = { ...long } as typeof long;
        Object.defineProperty(guarded, 'spec', { get: () => { throw new Error('the whole-file STFT was asked for'); } });
        const target = 3;
        const a = await timeDomainExplain(whole, model.runner, target);
        const b = await timeDomainExplain(guarded, model.runner, target);
        expect(maxAbsDiff(a.explanation, b.explanation)).toBeLessThan(1e-5);
        expect(maxAbsDiff(b.explanation.map((v, i) => v + b.residual[i]), x)).toBeLessThan(1e-6);
        expect(b.mask.length).toBe(a.mask.length);
        expect(maxAbsDiff(a.mask, b.mask)).toBeLessThan(1e-3);
        const ma = await timeDomainMetrics(whole, model.runner, target, a.explanation, a.residual, a.mask);
        const mb = await timeDomainMetrics(guarded, model.runner, target, b.explanation, b.residual, b.mask);
        for (const k of ['pc', 'qc', 'rc', 'MM'] as const) expect(mb[k]).toBeCloseTo(ma[k], 4);
        // metrics over some windows only (what is on screen): p pooled over them
        const w = [1, 2];
        const mw = await timeDomainMetrics(guarded, model.runner, target, b.explanation, b.residual, b.mask, { windows: w });
        expect(mw.pc).toBeCloseTo((long.windowProbs[1 * cfg.classes + target] + long.windowProbs[2 * cfg.classes + target]) / 2, 6);
        expect(Number.isFinite(mw.qc) && Number.isFinite(mw.MM)).toBe(true);
      } finally {
        releaseAnalysis(whole, model.runner);
        releaseAnalysis(long, model.runner);
      }
    });
  },
);
