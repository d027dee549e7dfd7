// Model test of the zero-shot bundle (models/esc50-zs) through the core pipeline with
// onnxruntime-web's Node build: text projector, audio encoder and prompt-conditioned decoder
// against the PyTorch fixture; prompts change the mask; and (with the data set) the zero-shot
// accuracy on the held-out classes equals the manifest's.
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { skipUnless } from '../../tests/skip';
import { decodeAudioFileNode } from '../node/audioNode';
import { esc50Clips, esc50Dir as esc50DirOf } from '../node/esc50';
import { maxAbsDiff, readFixture } from '../node/fixtures';
import { createNodeModel, loadBundleDir, type NodeModel } from '../node/ortNode';
import { analyze, explain, pipelineConfig } from './explain';
import { maskedPromptSimilarity, promptSimilarity } from './faithfulness';
import type { BundleFiles } from './manifest';
import { labelPrompt } from './modelRunner';
import { PromptError } from './textEncoder';

const repoRoot = resolve(fileURLToPath(new URL('.', import.meta.url)), '..', '..');
const bundleDir = join(repoRoot, 'models', 'esc50-zs');
const fixtureJson = join(repoRoot, 'models', 'fixtures', 'esc50-zs-parity.json');
const esc50Dir = esc50DirOf(repoRoot);
const hasBundle = existsSync(join(bundleDir, 'manifest.json')) && existsSync(fixtureJson);
const hasData = existsSync(join(esc50Dir, 'esc50.csv'));

/** Cosine similarity, computed here so the checks do not reuse the code under test. */
function cos(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let ab = 0;
  let aa = 0;
  let bb = 0;
  for (let i = 0; i < a.length; i++) {
    ab += a[i] * b[i];
    aa += a[i] * a[i];
    bb += b[i] * b[i];
  }
  return ab / Math.sqrt(aa * bb);
}

interface ZsResults {
  heldOut10Accuracy?: number;
  fold4Clips?: number;
}

describe.skipIf(skipUnless(hasBundle, 'models/esc50-zs model tests', `no ${join(bundleDir, 'manifest.json')} or ${fixtureJson} (models/train/export_zs.py writes them)`))('bundle models/esc50-zs (onnxruntime-web, Node)', () => {
  let files: BundleFiles;
  let model: NodeModel;
  let fx: ReturnType<typeof readFixture<{ prompts: string[]; maskPrompt: number }>>;
  beforeAll(async () => {
    files = await loadBundleDir(bundleDir);
    model = await createNodeModel(files, 'ort-web');
    fx = readFixture(fixtureJson);
  });
  afterAll(async () => {
    await model?.release();
  });

  it('has a text encoder and a prompt-conditioned decoder', () => {
    expect(files.manifest.textEncoder?.dim).toBe(model.runner.textDim);
    expect(files.manifest.decoder?.text).toBe('text');
    expect(model.runner.embedPrompt).toBeTypeOf('function');
    expect(model.runner.runDecoderText).toBeTypeOf('function');
  });

  it('prompt embeddings (tokenise, pool, ONNX projector) match PyTorch', async () => {
    const D = model.runner.textDim;
    for (const [i, prompt] of fx.meta.prompts.entries()) {
      const e = await model.runner.embedPrompt!(prompt);
      const d = maxAbsDiff(e.embedding, fx.arrays.textEmbedding.subarray(i * D, (i + 1) * D));
      expect(d, prompt).toBeLessThan(1e-4);
      expect(Math.hypot(...e.embedding)).toBeCloseTo(1, 4);
    }
    await expect(model.runner.embedPrompt!('qwzx plorkk')).rejects.toThrow(PromptError);
  });

  it('audio logits, embedding and the mask for a prompt match PyTorch on the generated signal', async () => {
    const cfg = pipelineConfig(files.manifest);
    const state = await analyze(fx.arrays.signal, cfg, model.runner);
    expect(maxAbsDiff(state.logits, fx.arrays.logits)).toBeLessThan(2e-3 * Math.max(1, ...Array.from(fx.arrays.logits, Math.abs)));
    expect(maxAbsDiff(state.embeddings!, fx.arrays.embedding)).toBeLessThan(1e-3);
    const pe = await model.runner.embedPrompt!(fx.meta.prompts[fx.meta.maskPrompt]);
    const ex = await explain(state, model.runner, pe, null);
    expect(ex.target).toBe(-1);
    expect(maxAbsDiff(ex.mask, fx.arrays.mask)).toBeLessThan(1e-3);
  });

  it('two prompts give two different masks; class targets use the label prompt', async () => {
    const cfg = pipelineConfig(files.manifest);
    const state = await analyze(fx.arrays.signal, cfg, model.runner);
    const a = await explain(state, model.runner, await model.runner.embedPrompt!('a dog barking'), null);
    const b = await explain(state, model.runner, await model.runner.embedPrompt!('church bells ringing'), null);
    expect(maxAbsDiff(a.mask, b.mask)).toBeGreaterThan(1e-3);
    const k = files.manifest.labels.indexOf('church_bells');
    const byClass = await explain(state, model.runner, k, null);
    const byPrompt = await explain(state, model.runner, await model.runner.embedPrompt!(labelPrompt('church_bells')), null);
    expect(maxAbsDiff(byClass.mask, byPrompt.mask)).toBeLessThan(1e-6);
  });

  it('masked prompt similarities: by hand from the audio encoder; all-ones keeps the original; an unmatched prompt’s mask is near-empty; the matched label’s mask keeps more than its residual', async () => {
    const cfg = pipelineConfig(files.manifest);
    const state = await analyze(fx.arrays.signal, cfg, model.runner);
    expect(state.plan.starts.length).toBe(1); // one window: the similarities are of that window's embedding
    const F = state.spec.bins;
    const T = state.plan.windowFrames;
    const mag = state.magnitude!;
    expect(mag.length).toBe(F * T);
    const pe = await model.runner.embedPrompt!(fx.meta.prompts[fx.meta.maskPrompt]);
    // the cosine of the audio encoder's embedding of `input` and the prompt, computed here (not by faithfulness.ts)
    const cosOf = async (input: Float32Array) => {
      const r = await model.runner.runClassifier(input, 1);
      model.runner.releaseHidden(r.hidden);
      return cos(r.embedding!, pe.embedding);
    };
    const mask = fx.arrays.mask; // PyTorch's mask for this prompt on this signal
    const sim = await maskedPromptSimilarity(state, model.runner, pe.embedding, mask);
    // original: PyTorch's audio embedding of the signal against the prompt embedding
    expect(sim.original).toBeCloseTo(cos(fx.arrays.embedding, pe.embedding), 3);
    expect(sim.maskedIn).toBeCloseTo(await cosOf(mag.map((v, i) => v * mask[i])), 5);
    expect(sim.maskedOut).toBeCloseTo(await cosOf(mag.map((v, i) => v * (1 - mask[i]))), 5);
    console.log(`"${pe.prompt}" on the fixture signal: original ${sim.original.toFixed(3)}, masked-in ${sim.maskedIn.toFixed(3)}, masked-out ${sim.maskedOut.toFixed(3)}`);
    // the fixture's prompt does not match the synthetic signal (cosine ≈ 0): the similarity gate leaves its mask near-empty
    expect(mask.reduce((a, v) => a + v, 0) / mask.length).toBeLessThan(0.05);
    // the decoder was trained to keep what matches the prompt: for the label the signal matches best (a chirp and a
    // vibrato tone: "siren"), the explanation is closer to it than the residual
    const top = state.logits.indexOf(Math.max(...state.logits));
    const tp = await model.runner.embedPrompt!(labelPrompt(files.manifest.labels[top]));
    const own = await maskedPromptSimilarity(state, model.runner, tp.embedding, (await explain(state, model.runner, top, null)).mask);
    console.log(`"${tp.prompt}" on the fixture signal: original ${own.original.toFixed(3)}, masked-in ${own.maskedIn.toFixed(3)}, masked-out ${own.maskedOut.toFixed(3)}`);
    expect(own.maskedIn).toBeGreaterThan(own.maskedOut + 0.05);
    // all-ones: masked-in is the original, masked-out is the encoder's view of silence
    const all = await maskedPromptSimilarity(state, model.runner, pe.embedding, new Float32Array(F * T).fill(1));
    expect(all.maskedIn).toBeCloseTo(sim.original, 3);
    expect(all.maskedOut).toBeCloseTo(await cosOf(new Float32Array(F * T)), 5);
    expect(Math.abs(all.maskedOut - all.maskedIn)).toBeGreaterThan(1e-3);
  });

  describe.skipIf(skipUnless(hasData, 'zero-shot held-out accuracy', `no ESC-50 data set at ${esc50Dir} (esc50.csv; set ESC50_DIR)`))(`ESC-50 fold 4 (${esc50Dir})`, () => {
    it('zero-shot accuracy on the held-out classes equals manifest results.heldOut10Accuracy (±1 point)', async (ctx) => {
      const res = files.manifest.extra.results as ZsResults | undefined;
      const held = files.manifest.extra.heldOutClasses as string[] | undefined;
      if (typeof res?.heldOut10Accuracy !== 'number' || !held) {
        console.warn('SKIP held-out accuracy: models/esc50-zs/manifest.json has no results.heldOut10Accuracy (provisional bundle?)');
        ctx.skip();
        return;
      }
      const clips = esc50Clips(esc50Dir, [4]).filter((c) => held.includes(c.category));
      expect(clips.length).toBe(held.length * 8);
      const D = model.runner.textDim;
      const prompts = await Promise.all(held.map((h) => model.runner.embedPrompt!(labelPrompt(h))));
      const cfg = pipelineConfig(files.manifest);
      let correct = 0;
      for (const c of clips) {
        const { samples } = await decodeAudioFileNode(join(esc50Dir, 'audio', c.file), cfg.sampleRate);
        const state = await analyze(samples, cfg, model.runner, { maxCacheBytes: 0 });
        const sims = prompts.map((p) => promptSimilarity(state.embeddings!, p.embedding));
        if (held[sims.indexOf(Math.max(...sims))] === c.category) correct++;
        expect(state.embeddings!.length).toBe(D);
      }
      const acc = correct / clips.length;
      console.log(`held-out zero-shot: ${correct}/${clips.length} = ${(100 * acc).toFixed(1)} % (manifest ${(100 * res.heldOut10Accuracy).toFixed(1)} %)`);
      expect(Math.abs(acc - res.heldOut10Accuracy)).toBeLessThanOrEqual(0.01 + 1e-9);
    }, 600_000);
  });
});
