// The perturbation explainer and the model-dependent metrics on a classifier whose decision is
// known by construction: models/fixtures/band (made by models/fixtures/make_band_model.py) scores
// the energy of |X| in 1000–1500 Hz as class 0 ("band") and the rest as class 1; it has no decoder.
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createNodeModel, loadBundleDir, type NodeModel } from '../node/ortNode';
import { analyze, pipelineConfig, renderExplanation, type AnalysisState } from './explain';
import { explanationMetrics, maskedProbs } from './faithfulness';
import type { Manifest } from './manifest';
import { defaultPerturbationSamples, frameSegments, importanceToLevels, mulberry32, perturbationExplain, ridgeRegression } from './perturbation';

const ROOT = resolve(fileURLToPath(new URL('.', import.meta.url)), '..', '..');
const BAND = join(ROOT, 'models', 'fixtures', 'band');

describe('ridge regression (closed form)', () => {
  it('recovers exact linear weights with λ = 0 and shrinks them with λ > 0', () => {
    const rand = mulberry32(3);
    const n = 200;
    const d = 6;
    const w = [1.5, -2, 0, 0.5, 3, -0.25];
    const X = new Float64Array(n * d);
    const y = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      let s = 0.7;
      for (let j = 0; j < d; j++) {
        X[i * d + j] = rand() < 0.5 ? 1 : 0;
        s += w[j] * X[i * d + j];
      }
      y[i] = s;
    }
    const fit = ridgeRegression(X, y, n, d, 0);
    expect(fit.intercept).toBeCloseTo(0.7, 9);
    w.forEach((v, j) => expect(fit.weights[j]).toBeCloseTo(v, 9));
    const shrunk = ridgeRegression(X, y, n, d, 50);
    const norm = (a: ArrayLike<number>) => Math.hypot(...Array.from(a));
    expect(norm(shrunk.weights)).toBeLessThan(norm(fit.weights));
  });

  it('default mask count: 10 per segment of a window, within 100..300', () => {
    expect(defaultPerturbationSamples(5)).toBe(300);
    expect(defaultPerturbationSamples(1)).toBe(100);
    expect(defaultPerturbationSamples(2)).toBe(200);
    expect(defaultPerturbationSamples(2, 50)).toBe(300);
    expect(defaultPerturbationSamples(0.5)).toBe(100);
  });

  it('segments, levels and the PRNG are deterministic helpers', () => {
    expect(Array.from(frameSegments(8, 64, 160, 4))).toEqual([0, 0, 0, 1, 1, 2, 2, 2]);
    expect(Array.from(frameSegments(6, 64, 100, 3))).toEqual([0, 0, 1, 1, 2, 2]); // frames past the end go to the last segment
    expect(Array.from(importanceToLevels([-1, 2, 1, 0]))).toEqual([0, 1, 0.5, 0]);
    expect(Array.from(importanceToLevels([-1, -2]))).toEqual([0, 0]);
    const a = mulberry32(42);
    const b = mulberry32(42);
    for (let i = 0; i < 5; i++) expect(a()).toBe(b());
  });
});

describe('perturbation explainer on the band-energy fixture (no decoder)', () => {
  let model: NodeModel;
  let manifest: Manifest;
  beforeAll(async () => {
    const files = await loadBundleDir(BAND);
    manifest = files.manifest;
    expect(manifest.hasDecoder).toBe(false);
    model = await createNodeModel(files, 'ort-web', { threads: 1 });
  });
  afterAll(async () => {
    await model?.release();
  });

  /** Weak broadband noise everywhere, a 1250 Hz tone (in the band) in [t0, t1). */
  function signal(lengthS: number, tone: [number, number][], seed = 7): Float32Array {
    const sr = manifest.sampleRate;
    const n = Math.round(lengthS * sr);
    const x = new Float32Array(n);
    const rand = mulberry32(seed);
    for (let i = 0; i < n; i++) x[i] = 0.05 * (rand() * 2 - 1);
    for (const [t0, t1] of tone)
      for (let i = Math.round(t0 * sr); i < Math.round(t1 * sr); i++) x[i] += 0.5 * Math.sin((2 * Math.PI * 1250 * i) / sr);
    return x;
  }

  async function analysed(x: Float32Array): Promise<AnalysisState> {
    return analyze(x, pipelineConfig(manifest), model.runner, { batchSize: 4 });
  }

  it('finds the segments that hold the band energy (single window)', async () => {
    const state = await analysed(signal(2, [[0.5, 0.8]]));
    expect(state.probs[0]).toBeGreaterThan(0.5); // "band" is the decision
    const progress: number[] = [];
    const res = await perturbationExplain(state, model.runner, 0, {
      samples: 200,
      seed: 5,
      onProgress: (p) => progress.push(p.done),
    });
    expect(res.segments).toBe(20);
    expect(res.evaluated).toBe(201);
    expect(progress[progress.length - 1]).toBe(201);
    const top = Array.from(res.importance)
      .map((w, s) => [w, s] as const)
      .sort((a, b) => b[0] - a[0])
      .slice(0, 3)
      .map(([, s]) => s)
      .sort((a, b) => a - b);
    expect(top).toEqual([5, 6, 7]); // 0.5–0.8 s in 100 ms segments
    // segments without the tone get no positive importance worth speaking of
    for (let s = 0; s < res.segments; s++) if (s < 4 || s > 8) expect(res.importance[s]).toBeLessThan(0.1 * res.importance[6]);
    // time mask: frames centred in the tone ≈ high, far away 0, constant over bins
    const F = state.spec.bins;
    const TT = state.spec.frames;
    const hop = manifest.stft.hopLength;
    const frameAt = (sec: number) => Math.round((sec * manifest.sampleRate) / hop);
    expect(res.mask[frameAt(0.65)]).toBeGreaterThan(0.5);
    expect(res.mask[(F - 1) * TT + frameAt(0.65)]).toBe(res.mask[frameAt(0.65)]);
    expect(res.mask[frameAt(1.5)]).toBe(0);
    expect(res.r2).toBeGreaterThan(0.5);

    // the same seed gives the same explanation
    const again = await perturbationExplain(state, model.runner, 0, { samples: 200, seed: 5 });
    expect(Array.from(again.importance)).toEqual(Array.from(res.importance));

    // listenable like L-MAC: masked-in + masked-out = original
    const ex = renderExplanation(state, 0, res.mask, null);
    const x = signal(2, [[0.5, 0.8]]);
    let err = 0;
    for (let i = 0; i < x.length; i++) err = Math.max(err, Math.abs(ex.maskedIn[i] + ex.maskedOut[i] - x[i]));
    expect(err).toBeLessThan(1e-4);

    // metrics: keeping the tone keeps "band"; removing it leaves "rest"
    const m = await explanationMetrics(state, model.runner, 0, res.mask);
    expect(m.qc).toBeGreaterThan(0.9);
    expect(m.rc).toBeLessThan(0.6); // the soft mask keeps a little of the tone in the residual
    expect(m.rc).toBeLessThan(m.pc - 0.3);
    expect(m.FF).toBeGreaterThan(0.4);
    expect(m.FidIn).toBe(1);
    expect(m.MM).toBeGreaterThan(0.05);
    expect(m.MM).toBeLessThan(0.4);
  });

  it('works over several windows (long file) and finds both events', async () => {
    const x = signal(5, [
      [0.4, 0.6],
      [3.6, 3.8],
    ]);
    const state = await analysed(x);
    expect(state.plan.starts.length).toBeGreaterThan(2);
    const res = await perturbationExplain(state, model.runner, 0, { samples: 120, seed: 2, segmentMs: 200 });
    expect(res.segments).toBe(25);
    const top = Array.from(res.importance)
      .map((w, s) => [w, s] as const)
      .sort((a, b) => b[0] - a[0])
      .slice(0, 2)
      .map(([, s]) => s)
      .sort((a, b) => a - b);
    expect(top).toEqual([2, 18]);
  });

  it('all-ones mask: q = p, r = the classifier on an all-zero input; cancellation rejects', async () => {
    const state = await analysed(signal(2, [[0.5, 0.8]]));
    const ones = new Float32Array(state.spec.bins * state.spec.frames).fill(1);
    const { q, r } = await maskedProbs(state, model.runner, ones);
    for (let c = 0; c < 2; c++) expect(q[c]).toBeCloseTo(state.probs[c], 5);
    // r: (1 − 1)⊙|X| = 0 in every window, so r is the softmax of the classifier's logits on zeros (computed here)
    const per = state.spec.bins * state.plan.windowFrames;
    const zero = await model.runner.runClassifier(new Float32Array(per), 1);
    model.runner.releaseHidden(zero.hidden);
    const z = Array.from(zero.logits, (v) => Math.exp(v - Math.max(...zero.logits)));
    const rz = z.map((v) => v / z.reduce((s, w) => s + w, 0));
    console.log(`all-ones mask: p = [${Array.from(state.probs, (v) => v.toFixed(3))}], r = [${Array.from(r, (v) => v.toFixed(3))}]`);
    for (let c = 0; c < 2; c++) expect(r[c]).toBeCloseTo(rz[c], 5);
    expect(r[0]).toBeCloseTo(0.5, 2); // the band model scores silence as a tie
    // the file's tone is in the band: p says "band", silence does not
    expect(state.probs[0]).toBeGreaterThan(0.9);
    expect(r[0]).toBeLessThan(state.probs[0] - 0.3);
    const ac = new AbortController();
    ac.abort(new DOMException('cancelled', 'AbortError'));
    await expect(perturbationExplain(state, model.runner, 0, { samples: 50, signal: ac.signal })).rejects.toThrow(/cancelled/);
  });
});
