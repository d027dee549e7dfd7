// Model test: a waveform-input classifier (inputKind "waveform") and a decoder fed |X| and the
// logits (models/fixtures/wave, written with its PyTorch reference by make_wave_model.py), through
// the core pipeline with onnxruntime-node: the classifier must hear ISTFT(M⊙X) exactly as
// torch.istft gives it, and the decoder must get the window's |X| and the classifier's logits.
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { maxAbsDiff, readFixture } from '../node/fixtures';
import { createNodeModel, loadBundleDir, type NodeModel } from '../node/ortNode';
import { analyze, explain, pipelineConfig, windowPhase } from './explain';
import { explanationMetrics } from './faithfulness';
import { parseManifest, type BundleFiles } from './manifest';
import { createOrtRunner, smokeTest } from './modelRunner';
import { istft, magnitude, stft } from './stft';

const repoRoot = resolve(fileURLToPath(new URL('.', import.meta.url)), '..', '..');
const bundleDir = join(repoRoot, 'models', 'fixtures', 'wave');
const fx = readFixture<{ target: number }>(join(repoRoot, 'models', 'fixtures', 'wave-parity.json'));

describe('waveform-input bundle (models/fixtures/wave, onnxruntime-node)', () => {
  let files: BundleFiles;
  let model: NodeModel;
  beforeAll(async () => {
    files = await loadBundleDir(bundleDir);
    model = await createNodeModel(files, 'ort-node');
  });
  afterAll(async () => {
    await model?.release();
  });

  it('parses inputKind and the decoder inputs fed from any classifier', () => {
    expect(files.manifest.classifier.inputKind).toBe('waveform');
    expect(files.manifest.decoder).toMatchObject({ hidden: [], magnitude: 'magnitude', logits: 'logits', target: 'target' });
    expect(model.runner.inputKind).toBe('waveform');
  });

  it('the TypeScript ISTFT of M⊙X equals torch.istft (the audio a waveform classifier hears)', () => {
    const sp = pipelineConfig(files.manifest).stft;
    const spec = stft(fx.arrays.signal, sp);
    const y = istft(spec, sp, files.manifest.windowSamples, { mask: fx.arrays.mask });
    expect(maxAbsDiff(y, fx.arrays.masked_waveform)).toBeLessThan(1e-5);
  });

  it('analysis: logits of the unmasked window equal the PyTorch reference', async () => {
    const state = await analyze(fx.arrays.signal, pipelineConfig(files.manifest), model.runner);
    expect(state.plan.starts.length).toBe(1);
    expect(maxAbsDiff(state.logits, fx.arrays.logits)).toBeLessThan(1e-4);
  });

  it('masked input: the classifier on M⊙|X| with the window phase equals the classifier on torch.istft(M⊙X)', async () => {
    const state = await analyze(fx.arrays.signal, pipelineConfig(files.manifest), model.runner);
    const mag = magnitude(state.spec);
    const masked = mag.map((v, i) => v * fx.arrays.mask[i]);
    const res = await model.runner.runClassifier(masked, 1, windowPhase(state, model.runner, [0]));
    expect(maxAbsDiff(res.logits, fx.arrays.masked_logits)).toBeLessThan(1e-3);
    // the mask removed most of the second half: "late" must have dropped by far more than "early"
    const dEarly = fx.arrays.logits[0] - res.logits[0];
    const dLate = fx.arrays.logits[1] - res.logits[1];
    expect(dLate).toBeGreaterThan(2 * dEarly);
    await expect(model.runner.runClassifier(masked, 1)).rejects.toThrow(/needs the windows' phase/);
  });

  it('decoder fed |X| and the logits: the explained mask equals the PyTorch reference', async () => {
    const state = await analyze(fx.arrays.signal, pipelineConfig(files.manifest), model.runner);
    const ex = await explain(state, model.runner, fx.meta.target, null);
    expect(maxAbsDiff(ex.mask, fx.arrays.decoder_mask_target1)).toBeLessThan(1e-4);
    // explanation + residual = original, and the metrics run the classifier on ISTFT(M⊙X)
    const sum = ex.maskedIn.map((v, i) => v + ex.maskedOut[i]);
    expect(maxAbsDiff(sum, fx.arrays.signal)).toBeLessThan(1e-5);
    const m = await explanationMetrics(state, model.runner, 1, fx.arrays.mask);
    const q = Math.exp(fx.arrays.masked_logits[1]) / (Math.exp(fx.arrays.masked_logits[0]) + Math.exp(fx.arrays.masked_logits[1]));
    expect(m.qc).toBeCloseTo(q, 4);
  });

  it('smokeTest passes on the fixture and names a labels/logits mismatch', async () => {
    await expect(smokeTest(model.runner, files.manifest)).resolves.toBeUndefined();
    const raw = JSON.parse(JSON.stringify({ ...files.manifest, decoder: files.manifest.decoder }));
    const ort = await import('onnxruntime-node');
    const cls = await ort.InferenceSession.create(files.classifier);
    try {
      const three = parseManifest({ ...raw, labels: ['a', 'b', 'c'], decoder: null });
      expect(() => createOrtRunner(three, ort.Tensor as never, cls as never, null)).toThrow(
        'classifier.onnx: the manifest has 3 labels but the model gives 2 logits',
      );
      const magKind = parseManifest({ ...raw, classifier: { ...raw.classifier, inputKind: 'magnitude' }, decoder: null });
      expect(() => createOrtRunner(magKind, ort.Tensor as never, cls as never, null)).toThrow(
        'classifier.onnx: input "waveform" has rank 2 [batch, 4000], the bundle needs [batch, 129, 63] (magnitude)',
      );
      const longer = parseManifest({ ...raw, windowSamples: 8000, decoder: null });
      expect(() => createOrtRunner(longer, ort.Tensor as never, cls as never, null)).toThrow(
        'classifier.onnx: input "waveform" is [batch, 4000], the bundle needs [batch, 8000] (waveform)',
      );
    } finally {
      await cls.release();
    }
  });
});

describe('manifest: inputKind and decoders for any classifier', () => {
  const base = JSON.parse(JSON.stringify(readManifestJson()));
  function readManifestJson(): Record<string, unknown> {
    return JSON.parse(readFileSync(join(bundleDir, 'manifest.json'), 'utf8')) as Record<string, unknown>;
  }
  it('defaults inputKind to "magnitude" (old bundles keep working)', () => {
    const m = parseManifest(readFileSync(join(repoRoot, 'models', 'esc50', 'manifest.json'), 'utf8'));
    expect(m.classifier.inputKind).toBe('magnitude');
    expect(m.decoder?.hidden.length).toBeGreaterThan(0);
  });
  it('names a wrong inputKind and a decoder with no input from the classifier', () => {
    expect(() => parseManifest({ ...base, classifier: { ...base.classifier, inputKind: 'mel' } })).toThrow(
      'manifest.json: classifier.inputKind must be "magnitude" or "waveform" (got "mel")',
    );
    const { magnitude: _m, logits: _l, ...bare } = base.decoder;
    expect(() => parseManifest({ ...base, decoder: bare })).toThrow('decoder needs at least one input from the classifier');
    expect(() => parseManifest({ ...base, decoder: { ...base.decoder, logits: 3 } })).toThrow('manifest.json: decoder.logits must be a string (got 3)');
  });
});
