// The random-forest surrogate: on synthetic masks with known effects, and end to end on the
// band-energy fixture (models/fixtures/band: class 'band' = energy of |X| in 1000-1500 Hz), where
// a tone in the band placed at a known time must get the top importance.
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createNodeModel, loadBundleDir, type NodeModel } from '../node/ortNode';
import { analyze, pipelineConfig } from './explain';
import { forestImportance } from './forestSurrogate';
import { mulberry32, perturbationExplain } from './perturbation';

const ROOT = resolve(fileURLToPath(new URL('.', import.meta.url)), '..', '..');
const BAND = join(ROOT, 'models', 'fixtures', 'band');

describe('forest importance on synthetic masks', () => {
  it('ranks the segments by their effect and signs them by its direction', () => {
    const rand = mulberry32(5);
    const n = 150;
    const d = 12;
    const Z = new Uint8Array(n * d);
    const y = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < d; j++) Z[i * d + j] = rand() < 0.5 ? 1 : 0;
      // segment 3 matters most, 8 less, 5 lowers the score; an interaction the ridge would miss: 10 only with 3
      y[i] = 3 * Z[i * d + 3] + 1 * Z[i * d + 8] - 1 * Z[i * d + 5] + 1 * Z[i * d + 3] * Z[i * d + 10] + 0.1 * (rand() - 0.5);
    }
    const fi = forestImportance(Z, y, n, d, { trees: 20, seed: 2 });
    const order = Array.from(fi.dependence.keys()).sort((a, b) => fi.dependence[b] - fi.dependence[a]);
    expect(order[0]).toBe(3);
    expect(fi.dependence[3]).toBeGreaterThan(2.5); // ≈ 3 + 0.5 (the interaction half the time)
    expect(fi.dependence[5]).toBeLessThan(-0.5);
    expect(fi.impurity[5]).toBeLessThan(0); // signed by the direction
    expect(Math.abs(fi.impurity[3])).toBeGreaterThan(0.4);
    let absSum = 0;
    for (const v of fi.impurity) absSum += Math.abs(v);
    expect(absSum).toBeCloseTo(1, 9);
    expect(fi.r2).toBeGreaterThan(0.9);
    // deterministic for a seed
    expect(Array.from(forestImportance(Z, y, n, d, { trees: 20, seed: 2 }).dependence)).toEqual(Array.from(fi.dependence));
  });
});

describe('perturbation explainer with the forest surrogate on the band fixture', () => {
  let model: NodeModel;
  beforeAll(async () => {
    model = await createNodeModel(await loadBundleDir(BAND), 'ort-web', { threads: 1 });
  });
  afterAll(async () => {
    await model?.release();
  });

  it('gives the top importance to the segment of a 1250 Hz tone placed at 1.2-1.3 s, with silence or noise removal', async () => {
    const files = await loadBundleDir(BAND);
    const cfg = pipelineConfig(files.manifest);
    const sr = cfg.sampleRate;
    const rand = mulberry32(11);
    const x = new Float32Array(2 * sr);
    for (let i = 0; i < x.length; i++) x[i] = 0.05 * (rand() * 2 - 1); // broadband noise: mostly "rest" energy
    for (let i = Math.round(1.2 * sr); i < Math.round(1.3 * sr); i++) x[i] += 0.3 * Math.sin((2 * Math.PI * 1250 * i) / sr);
    const state = await analyze(x, cfg, model.runner, { batchSize: 4 });
    for (const removal of ['silence', 'noise'] as const) {
      const pr = await perturbationExplain(state, model.runner, 0, { samples: 120, segmentMs: 100, seed: 3, surrogate: 'forest', removal, forest: { trees: 20 } });
      expect(pr.segments).toBe(20);
      const top = Array.from(pr.importance.keys()).sort((a, b) => pr.importance[b] - pr.importance[a]);
      expect(top[0]).toBe(12);
      expect(pr.importance[12]).toBeGreaterThan(0);
      // the mask is the scaled importance: 1 on the event's frames
      const hop = cfg.stft.hopLength;
      const tEvent = Math.round((1.25 * sr) / hop);
      expect(pr.mask[tEvent]).toBe(1);
    }
  });
});
