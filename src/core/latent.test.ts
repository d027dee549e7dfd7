// Model test: the latent explainer (issue 15; models/esc50-latent, exported by
// models/train/latent_export.py) with the real ONNX graphs in onnxruntime-node: manifest block,
// parity of the four graphs and of the whole explainer with the PyTorch reference
// (models/train/latent_explain.py), attribution on a test-made classifier that reads one latent
// channel only, and the explanation's energy / class evidence against β on ESC-50 clips.
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { InferenceSession, Tensor } from 'onnxruntime-common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { skipUnless } from '../../tests/skip';
import { decodeAudioFileNode } from '../node/audioNode';
import { esc50Clips, esc50Dir } from '../node/esc50';
import { loadBundleDir } from '../node/ortNode';
import { maxAbsDiff, readFixture } from '../node/fixtures';
import {
  analyseLatentWindow,
  applyKeep,
  attributeLatentFile,
  latentFileMetrics,
  synthesiseLatentFile,
  createOrtLatentGraphs,
  gradXInputScores,
  groupEdges,
  keptCount,
  latentProbabilities,
  latentSpec,
  loadLatentFiles,
  occlusionScores,
  reconstructLatent,
  resynthesize,
  synthesiseLatent,
  topBetaKeep,
  type LatentGraphs,
  type LatentSpec,
} from './latent';
import { ManifestError, parseManifest, type Manifest } from './manifest';
import { magnitude, stft } from './stft';
import { clipMetrics, maskMetrics } from './metrics';
import { planWindows } from './windows';
import { windowWaveformInto } from './lmactd';

const repoRoot = resolve(fileURLToPath(new URL('.', import.meta.url)), '..', '..');
const bundleDir = join(repoRoot, 'models', 'esc50-latent');
const fixtureJson = join(repoRoot, 'models', 'fixtures', 'latent-parity.json');
const oneDir = join(repoRoot, 'models', 'fixtures', 'latent-onechannel');
const present = existsSync(join(bundleDir, 'manifest.json')) && existsSync(fixtureJson) && existsSync(oneDir);
const ONE_CHANNEL = 5;

interface Meta {
  target: number;
  beta: number;
  groups: number;
}
interface Ort {
  Tensor: new (type: 'float32', data: Float32Array, dims: readonly number[]) => Tensor;
  InferenceSession: { create(m: Uint8Array, o?: InferenceSession.SessionOptions): Promise<InferenceSession> };
}

const logSoftmaxOf = (l: ArrayLike<number>) => {
  const m = Math.max(...Array.from(l));
  const s = Math.log(Array.from(l).reduce((a, v) => a + Math.exp(v - m), 0)) + m;
  return Array.from(l, (v) => v - s);
};
const energy = (x: ArrayLike<number>) => {
  let s = 0;
  for (let i = 0; i < x.length; i++) s += x[i] * x[i];
  return s;
};
/** ‖a − b‖ / ‖b‖. */
const relL2 = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let d = 0;
  for (let i = 0; i < b.length; i++) d += (a[i] - b[i]) ** 2;
  return Math.sqrt(d / energy(b));
};
const relDiff = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let m = 0;
  for (let i = 0; i < b.length; i++) m = Math.max(m, Math.abs(b[i]));
  return maxAbsDiff(a, b) / m;
};

describe('latent block and top-β helpers (no models)', () => {
  const base = {
    format: 'lmac-bundle/1',
    name: 't',
    description: 'd',
    license: 'l',
    sampleRate: 16000,
    windowSamples: 80000,
    stft: { nFft: 1024, winLength: 1024, hopLength: 256 },
    labels: ['a', 'b'],
    classifier: { file: 'c.onnx', sha256: 'a'.repeat(64), input: 'magnitude', logits: 'logits', hidden: [] },
  };
  const g = (n: string, extra: object) => ({ file: `${n}.onnx`, sha256: 'b'.repeat(64), ...extra });
  const latent = {
    channels: 2,
    frameRate: 62.5,
    groups: 4,
    encoder: g('e', { input: 'magnitude', output: 'z' }),
    decoder: g('d', { input: 'z', output: 'magnitude' }),
    classifier: g('k', { input: 'z', logits: 'logits' }),
    gradient: g('g', { input: 'z', target: 'target', logits: 'logits', grad: 'grad', frames: 313 }),
    baseline: 'silence',
    baselines: { silence: [0, 1] },
  };
  const parse = (l: unknown) => latentSpec(parseManifest({ ...base, latent: l }));

  it('parses a valid block and is null without one', () => {
    const s = parse(latent)!;
    expect(s.channels).toBe(2);
    expect(Array.from(s.baselines.silence)).toEqual([0, 1]);
    expect(latentSpec(parseManifest(base))).toBeNull();
  });

  it('names the bad field', () => {
    expect(() => parse({ ...latent, baselines: { silence: [0] } })).toThrow(/latent.baselines.silence must be 2 finite numbers/);
    expect(() => parse({ ...latent, baseline: 'mean' })).toThrow(/latent.baseline must name one of/);
    expect(() => parse({ ...latent, gradient: { ...latent.gradient, frames: 100 } })).toThrow(/must equal the window's frames \(313\)/);
    expect(() => parse({ ...latent, decoder: { ...latent.decoder, file: '../x.onnx' } })).toThrow(ManifestError);
    expect(() => parse({ ...latent, encoder: { ...latent.encoder, output: '' } })).toThrow(/latent.encoder.output/);
  });

  it('keeps max(1, round(β·n)) top cells, ties to the lower index, and applies them per group', () => {
    expect(keptCount(0, 512)).toBe(1);
    expect(keptCount(0.1, 512)).toBe(51);
    expect(() => keptCount(1.5, 10)).toThrow(/β must be in \[0, 1\]/);
    const keep = topBetaKeep(Float32Array.from([0.5, 2, 2, -1]), 0.5);
    expect(Array.from(keep)).toEqual([0, 1, 1, 0]);
    expect(groupEdges(313, 8)).toEqual([0, 39, 78, 117, 156, 195, 234, 273, 313]);
    // 1 channel, 4 frames, 2 groups: keep group 1 only
    const z = Float32Array.from([1, 2, 3, 4]);
    expect(Array.from(applyKeep(z, 4, 2, Float32Array.from([9]), Uint8Array.from([0, 1])))).toEqual([9, 9, 3, 4]);
    expect(Array.from(applyKeep(z, 4, 2, Float32Array.from([9]), Uint8Array.from([0, 1]), true))).toEqual([1, 2, 9, 9]);
  });
});

describe.skipIf(skipUnless(present, 'latent explainer model tests', 'models/esc50-latent or models/fixtures/latent-* is missing (models/train/latent_export.py writes them)'))(
  'latent explainer (models/esc50-latent, onnxruntime-node)',
  () => {
    let ort: Ort;
    let manifest: Manifest;
    let spec: LatentSpec;
    let graphs: LatentGraphs;
    let oneGraphs: LatentGraphs;
    const sessions: InferenceSession[] = [];
    let fx: ReturnType<typeof readFixture<Meta>>;
    const so: InferenceSession.SessionOptions = { executionProviders: ['cpu'], intraOpNumThreads: 1 };
    const create = async (bytes: Uint8Array) => {
      const s = await ort.InferenceSession.create(bytes, so);
      sessions.push(s);
      return s;
    };
    const p = () => manifest.stft;

    beforeAll(async () => {
      ort = (await import('onnxruntime-node')) as unknown as Ort;
      const files = await loadBundleDir(bundleDir);
      manifest = files.manifest;
      spec = latentSpec(manifest)!;
      const lf = await loadLatentFiles(spec, (rel) => new Uint8Array(readFileSync(join(bundleDir, rel))));
      const enc = await create(lf.encoder);
      const dec = await create(lf.decoder);
      graphs = createOrtLatentGraphs(spec, manifest.freqBins, manifest.labels.length, ort.Tensor, {
        encoder: enc,
        decoder: dec,
        classifier: await create(lf.classifier),
        gradient: await create(lf.gradient),
      });
      oneGraphs = createOrtLatentGraphs(spec, manifest.freqBins, manifest.labels.length, ort.Tensor, {
        encoder: enc,
        decoder: dec,
        classifier: await create(new Uint8Array(readFileSync(join(oneDir, 'latent_classifier.onnx')))),
        gradient: await create(new Uint8Array(readFileSync(join(oneDir, 'classifier_grad.onnx')))),
      });
      fx = readFixture<Meta>(fixtureJson);
    });
    afterAll(async () => {
      for (const s of sessions) await s.release();
    });

    it('declares 64 channels at 62.5 frames/s, 8 groups, the sha256-verified graphs, a silence baseline', () => {
      expect(spec.channels).toBe(64);
      expect(spec.frameRate).toBeCloseTo(62.5, 6);
      expect(spec.groups).toBe(fx.meta.groups);
      expect(spec.baselines.silence.length).toBe(64);
      expect(spec.baseline).toBe('silence');
    });

    it('encoder, decoder, classifier and gradient graph match PyTorch on the fixture', async () => {
      const { signal, z, magnitudeHat, logits, grad } = fx.arrays;
      const s = stft(signal, p());
      const zTs = await graphs.encode(magnitude(s), s.frames);
      // app STFT vs torch.stft feeding the encoder: log(|X| + 1e-4) magnifies float differences in quiet bins
      expect(relDiff(zTs, z)).toBeLessThan(1e-3);
      expect(relDiff(await graphs.decode(z, 1, s.frames), magnitudeHat)).toBeLessThan(1e-4);
      expect(maxAbsDiff(await graphs.classify(z, 1, s.frames), logits)).toBeLessThan(1e-4);
      const g = await graphs.gradient(z, fx.meta.target, s.frames);
      expect(maxAbsDiff(g.logits, logits)).toBeLessThan(1e-4);
      expect(relDiff(g.grad, grad)).toBeLessThan(1e-4);
    });

    it('attributions, the top-β cells and the explanation audio match latent_explain.py', async () => {
      const { signal, z, scoresGrad, scoresOcclusion, keep, magnitudeKeep, explanation, removed, reconstruction } = fx.arrays;
      const b = spec.baselines.silence;
      const T = manifest.windowFrames;
      const gx = await gradXInputScores(graphs, z, T, spec.groups, b, fx.meta.target);
      expect(relDiff(gx.scores, scoresGrad)).toBeLessThan(1e-4);
      const oc = await occlusionScores(graphs, z, T, spec.groups, b, fx.meta.target, { batch: 100 });
      expect(relDiff(oc.scores, scoresOcclusion)).toBeLessThan(1e-3);
      expect(Array.from(topBetaKeep(gx.scores, fx.meta.beta))).toEqual(Array.from(keep, (v) => (v > 0.5 ? 1 : 0)));
      // decoding + resynthesis on torch's z and scores
      const a = await analyseLatentWindow(graphs, spec, signal, p());
      expect(a.target).toBe(fx.meta.target);
      const syn = await synthesiseLatent(graphs, { ...a, z, scores: scoresGrad }, fx.meta.beta, p());
      const zk = applyKeep(z, manifest.windowFrames, spec.groups, b, topBetaKeep(scoresGrad, fx.meta.beta));
      expect(relDiff(await graphs.decode(zk, 1, manifest.windowFrames), magnitudeKeep)).toBeLessThan(1e-4);
      // the explanation audio from torch's spectrogram (its phase): decoder + resynthesize + ISTFT exactly
      const torchSpec = { bins: manifest.freqBins, frames: manifest.windowFrames, re: fx.arrays.specRe, im: fx.arrays.specIm };
      const xk = resynthesize(await graphs.decode(zk, 1, manifest.windowFrames), torchSpec, p(), signal.length);
      expect(relL2(xk, explanation)).toBeLessThan(1e-4);
      // with the app's STFT phase, audio compared by ‖a − b‖/‖b‖: the phase of bins where |X| is ~1e-7 of
      // the peak differs between torch.stft and the app's STFT, and the decoded magnitude there need not
      // be small. That shows most in the quiet explanation (mostly the decoded baseline: ~0.26 here),
      // little in the removed audio and the reconstruction.
      expect(relL2(syn.explanation, explanation)).toBeLessThan(0.4);
      expect(relL2(syn.removed, removed)).toBeLessThan(1e-3);
      expect(relL2(await reconstructLatent(graphs, { ...a, z }, p()), reconstruction)).toBeLessThan(1e-3);
      // the whole chain from the waveform (app STFT, encoder, gradient graph): same cells up to near-ties
      const chain = await synthesiseLatent(graphs, a, fx.meta.beta, p());
      let same = 0;
      for (let i = 0; i < keep.length; i++) if ((keep[i] > 0.5 ? 1 : 0) === chain.keep[i]) same++;
      expect(same / keep.length).toBeGreaterThan(0.97);
    });

    it('a classifier that reads one latent channel gets all attribution on that channel, with both methods', async () => {
      const { signal } = fx.arrays;
      for (const method of ['gradxinput', 'occlusion'] as const) {
        const a = await analyseLatentWindow(oneGraphs, spec, signal, p(), { method });
        let on = 0;
        let off = 0;
        for (let c = 0; c < spec.channels; c++)
          for (let g = 0; g < spec.groups; g++) {
            const v = Math.abs(a.scores[c * spec.groups + g]);
            if (c === ONE_CHANNEL) on += v;
            else off += v;
          }
        expect(on, method).toBeGreaterThan(0);
        expect(off, method).toBeLessThan(1e-5 * on);
        // the strongest cell (either sign) is that channel's
        const abs = Array.from(a.scores, Math.abs);
        expect(Math.floor(abs.indexOf(Math.max(...abs)) / spec.groups), method).toBe(ONE_CHANNEL);
      }
    });

    /** The real graphs, counting the gradient-graph and decoder runs (to see what a new β reruns). */
    const counting = () => {
      const n = { gradient: 0, decode: 0 };
      const g: LatentGraphs = {
        ...graphs,
        encode: (m, f) => graphs.encode(m, f),
        classify: (z, b, f) => graphs.classify(z, b, f),
        decode: (z, b, f) => (n.decode++, graphs.decode(z, b, f)),
        gradient: (z, t, f) => (n.gradient++, graphs.gradient(z, t, f)),
      };
      return { g, n };
    };

    it('the whole-file explainer on a 5 s clip is the one-window explainer, and its metrics re-encode the decoded audio (latent_eval.py)', async () => {
      const { signal } = fx.arrays;
      const x = signal.slice(0, manifest.windowSamples);
      const plan = planWindows(x.length, manifest.windowSamples, manifest.stft.hopLength);
      expect(plan.starts.length).toBe(1);
      const state = { plan, original: x };
      const t = fx.meta.target;
      const attr = await attributeLatentFile(graphs, spec, state, p(), t);
      const one = await analyseLatentWindow(graphs, spec, x, p(), { target: t });
      expect(maxAbsDiff(attr.windows[0].scores, one.scores)).toBe(0);
      const syn = await synthesiseLatentFile(graphs, attr, state, p(), 0.1);
      const ref = await synthesiseLatent(graphs, one, 0.1, p());
      // one window alone has cross-fade weight 1: the same audio
      expect(syn.explanation.length).toBe(x.length);
      expect(maxAbsDiff(syn.explanation, ref.explanation)).toBeLessThan(1e-7);
      expect(maxAbsDiff(syn.removed, ref.removed)).toBeLessThan(1e-7);
      expect(Array.from(syn.keep)).toEqual(Array.from(ref.keep));
      // not L-MAC's in + out = original: both are decoder outputs
      expect(relL2(Float32Array.from(x, (_v, i) => syn.explanation[i] + syn.removed[i]), x)).toBeGreaterThan(0.05);
      const m = await latentFileMetrics(graphs, attr, syn, state, p());
      // p from the window's latent classifier; q, r = the latent classifier on Enc(|STFT|) of the decoded audio
      const pw = Float64Array.from(one.logits).map((v, _i, a) => Math.exp(v - Math.max(...a)));
      const ps = pw.reduce((a, b) => a + b, 0);
      const q = await latentProbabilities(graphs, ref.explanation, p());
      const r = await latentProbabilities(graphs, ref.removed, p());
      expect(m.pc).toBeCloseTo(pw[t] / ps, 6);
      expect(m.qc).toBeCloseTo(q[t], 6);
      expect(m.rc).toBeCloseTo(r[t], 6);
      const want = clipMetrics(Float64Array.from(pw, (v) => v / ps), q, r, t, maskMetrics(ref.keep));
      for (const k of ['AI', 'AD', 'AG', 'FF', 'FidIn', 'SPS', 'COMP', 'MM'] as const) expect(m[k], k).toBeCloseTo(want[k], 5);
      // the kept-cell mask (latent_eval.py's M): MM = kept / cells
      expect(m.MM).toBeCloseTo(keptCount(0.1, spec.channels * spec.groups) / (spec.channels * spec.groups), 9);
      // p is also what the app's classifier (encoder + latent classifier in one graph) gives the clip
      const composed = await ort.InferenceSession.create(new Uint8Array(readFileSync(join(bundleDir, manifest.classifier.file))), so);
      sessions.push(composed);
      const s = stft(x, p());
      const out = await composed.run({ [manifest.classifier.input]: new ort.Tensor('float32', magnitude(s), [1, s.bins, s.frames]) });
      const lc = out[manifest.classifier.logits].data as Float32Array;
      expect(maxAbsDiff(lc, one.logits)).toBeLessThan(1e-3);
    });

    it('over a 12 s file: per-window attribution, cross-faded audio, a new β decodes again without attributing again', async () => {
      const { signal } = fx.arrays;
      const W = manifest.windowSamples;
      // 12 s: the fixture signal, then its reverse (three 50 %-overlapping windows)
      const x = new Float32Array(12 * manifest.sampleRate);
      for (let i = 0; i < x.length; i++) x[i] = i < W ? signal[i] : signal[W - 1 - (i % W)] * 0.5;
      const plan = planWindows(x.length, W, manifest.stft.hopLength);
      const n = plan.starts.length;
      expect(n).toBeGreaterThan(1);
      const state = { plan, original: x };
      const t = fx.meta.target;
      const { g, n: calls } = counting();
      const attr = await attributeLatentFile(g, spec, state, p(), t);
      expect(calls.gradient).toBe(n);
      expect(attr.windows.length).toBe(n);
      // each window attributed on its own samples (the last one zero-padded past the end)
      const buf = new Float32Array(W);
      windowWaveformInto(x, plan, n - 1, buf, 0);
      expect(maxAbsDiff(attr.windows[n - 1].scores, (await analyseLatentWindow(graphs, spec, buf, p(), { target: t })).scores)).toBe(0);
      const energies: number[] = [];
      for (const beta of [0.05, 0.2, 0.5]) {
        const before = { ...calls };
        const syn = await synthesiseLatentFile(g, attr, state, p(), beta);
        expect(calls.gradient).toBe(before.gradient); // the attribution is reused
        expect(calls.decode - before.decode).toBe(n); // one batched decoder run (keep + remove) per window
        expect(syn.explanation.length).toBe(x.length);
        expect(syn.removed.length).toBe(x.length);
        expect(syn.keep.length).toBe(n * spec.channels * spec.groups);
        expect(syn.explanation.every(Number.isFinite) && syn.removed.every(Number.isFinite)).toBe(true);
        if (beta === 0.2) {
          // where window 0 alone covers the signal its weight is 1: its own explanation there
          windowWaveformInto(x, plan, 0, buf, 0);
          const a0 = await analyseLatentWindow(graphs, spec, buf, p(), { target: t });
          const s0 = await synthesiseLatent(graphs, a0, beta, p());
          expect(maxAbsDiff(syn.explanation.subarray(0, plan.starts[1]), s0.explanation.subarray(0, plan.starts[1]))).toBeLessThan(1e-6);
          // the metrics of window 0 only (a long file's range on screen) are that window's
          const m0 = await latentFileMetrics(graphs, attr, syn, state, p(), { windows: [0] });
          const all = await latentFileMetrics(graphs, attr, syn, state, p());
          expect(m0.pc).toBeCloseTo(Math.exp(logSoftmaxOf(a0.logits)[t]), 6);
          expect(all.MM).toBeCloseTo(keptCount(beta, spec.channels * spec.groups) / (spec.channels * spec.groups), 9);
        }
        energies.push(energy(syn.explanation));
      }
      console.log(`12 s fixture file: explanation energy at β 0.05/0.2/0.5: ${energies.map((e) => e.toExponential(3)).join(' ')}`);
      for (let i = 1; i < energies.length; i++) expect(energies[i]).toBeGreaterThan(energies[i - 1]);
    });

    const dir = esc50Dir(repoRoot);
    const haveData = existsSync(join(dir, 'esc50.csv'));
    it.skipIf(skipUnless(haveData, 'latent β monotonicity on ESC-50', `no ESC-50 at ${dir} (set ESC50_DIR)`))(
      'explanation energy and class evidence grow with β, removal evidence falls (fold-4 clips)',
      async () => {
        const clips = esc50Clips(dir, [4]).filter((_, i) => i % 80 === 0); // 5 clips, spread over classes
        const betas = [0.05, 0.1, 0.2, 0.5, 1];
        for (const clip of clips) {
          const x = new Float32Array(manifest.windowSamples);
          x.set((await decodeAudioFileNode(join(dir, 'audio', clip.file), manifest.sampleRate)).samples.subarray(0, manifest.windowSamples));
          const a = await analyseLatentWindow(graphs, spec, x, p());
          const eIn: number[] = [];
          const pIn: number[] = [];
          const pOut: number[] = [];
          for (const beta of betas) {
            const s = await synthesiseLatent(graphs, a, beta, p());
            eIn.push(energy(s.explanation));
            pIn.push((await latentProbabilities(graphs, s.explanation, p()))[a.target]);
            pOut.push((await latentProbabilities(graphs, s.removed, p()))[a.target]);
          }
          for (let i = 1; i < betas.length; i++) expect(eIn[i], `${clip.file} energy`).toBeGreaterThanOrEqual(eIn[i - 1]);
          expect(pIn[pIn.length - 1], `${clip.file} kept evidence`).toBeGreaterThan(pIn[0]);
          expect(pOut[pOut.length - 1], `${clip.file} removal evidence`).toBeLessThan(pOut[0]);
        }
      },
      120_000,
    );
  },
);
