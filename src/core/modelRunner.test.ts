// createOrtRunner over the real bundle's sessions (onnxruntime-web, Node): names from the
// manifest, shapes, batch independence, and specific errors.
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as ort from 'onnxruntime-web';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { skipUnless } from '../../tests/skip';
import { maxAbsDiff, readFixture } from '../node/fixtures';
import { loadBundleDir } from '../node/ortNode';
import { parseManifest, type BundleFiles } from './manifest';
import { createOrtRunner, smokeTest } from './modelRunner';
import { magnitude, stft } from './stft';

const bundleDir = join(resolve(fileURLToPath(new URL('.', import.meta.url)), '..', '..'), 'models', 'esc50');
const hasBundle = existsSync(join(bundleDir, 'manifest.json'));

describe.skipIf(skipUnless(hasBundle, 'createOrtRunner', `no ${join(bundleDir, 'manifest.json')} (models/train/export.py writes it)`))('createOrtRunner (models/esc50)', () => {
  let files: BundleFiles;
  let cls: ort.InferenceSession;
  let dec: ort.InferenceSession;
  let td: ort.InferenceSession | null = null;
  beforeAll(async () => {
    files = await loadBundleDir(bundleDir);
    cls = await ort.InferenceSession.create(files.classifier, { executionProviders: ['wasm'] });
    dec = await ort.InferenceSession.create(files.decoder!, { executionProviders: ['wasm'] });
    if (files.timeDecoder) td = await ort.InferenceSession.create(files.timeDecoder, { executionProviders: ['wasm'] });
  });
  afterAll(async () => {
    await cls?.release();
    await dec?.release();
    await td?.release();
  });

  function input(batch: number, seed: number): Float32Array {
    const n = batch * files.manifest.freqBins * files.manifest.windowFrames;
    const x = new Float32Array(n);
    let s = seed;
    for (let i = 0; i < n; i++) {
      s = (s * 16807) % 2147483647;
      x[i] = (s / 2147483647) * 2;
    }
    return x;
  }

  it('runs a batch; results match single-item runs; hidden names and sizes from the manifest', async () => {
    const r = createOrtRunner(files.manifest, ort.Tensor, cls, dec);
    expect(r.hasDecoder).toBe(true);
    const per = r.bins * r.frames;
    const x = input(3, 11);
    const out = await r.runClassifier(x, 3);
    expect(out.logits.length).toBe(3 * r.classes);
    expect(out.hidden.length).toBe(files.manifest.classifier.hidden.length);
    expect(out.hidden.every((t) => t.dims[0] === 3)).toBe(true);
    expect(r.hiddenBytes(out.hidden)).toBe(out.hidden.reduce((s, t) => s + 4 * t.size, 0));
    const single = await r.runClassifier(x.slice(per, 2 * per), 1);
    for (let k = 0; k < r.classes; k++) expect(single.logits[k]).toBeCloseTo(out.logits[r.classes + k], 3);
    const masks = await r.runDecoder(out.hidden, [0, 5, 49]);
    expect(masks.length).toBe(3 * per);
    expect(masks.every((v) => v > 0 && v < 1)).toBe(true);
    const m1 = await r.runDecoder(single.hidden, [5]);
    let d = 0;
    for (let i = 0; i < per; i++) d = Math.max(d, Math.abs(m1[i] - masks[per + i]));
    expect(d).toBeLessThan(1e-3);
  });

  it('reports wrong tensor names, sizes and targets specifically', async () => {
    const raw = JSON.parse(readFileSync(join(bundleDir, 'manifest.json'), 'utf8'));
    raw.classifier.input = 'spectrogram';
    expect(() => createOrtRunner(parseManifest(raw), ort.Tensor, cls, dec)).toThrow(/classifier.onnx: has no input "spectrogram" \(inputs: magnitude\)/);
    raw.classifier.input = 'magnitude';
    raw.decoder.mask = 'maps';
    expect(() => createOrtRunner(parseManifest(raw), ort.Tensor, cls, dec)).toThrow(/decoder.onnx: has no output "maps"/);
    const r = createOrtRunner(files.manifest, ort.Tensor, cls, dec);
    await expect(r.runClassifier(new Float32Array(10), 1)).rejects.toThrow(/got 10 values for batch 1 × 513 × 313/);
    const out = await r.runClassifier(input(1, 3), 1);
    await expect(r.runDecoder(out.hidden, [50])).rejects.toThrow('target class 50 is out of range 0..49');
  });

  it('without a decoder session: hasDecoder false and a clear error', async () => {
    const r = createOrtRunner(files.manifest, ort.Tensor, cls, null);
    expect(r.hasDecoder).toBe(false);
    const out = await r.runClassifier(input(1, 5), 1);
    expect(out.hidden).toEqual([]);
    await expect(r.runDecoder(out.hidden, [0])).rejects.toThrow(/has no decoder/);
  });

  const fixture = join(bundleDir, '..', 'fixtures', 'lmactd-parity.json');
  it.skipIf(skipUnless(existsSync(fixture), 'createOrtRunner time decoder', `no ${fixture} (models/train/lmactd_export.py writes it)`))(
    'runs the LMAC-TD time decoder from the manifest: hidden outputs kept, the PyTorch explanation, smoke test, specific errors',
    async () => {
      expect(files.manifest.timeDecoder?.hidden).toEqual(['h3', 'h4']);
      expect(td).not.toBeNull();
      const fx = readFixture<{ target: number }>(fixture);
      const { signal, explanation } = fx.arrays;
      // a bundle with only the time decoder still keeps the hidden outputs it needs
      for (const d of [dec, null]) {
        const r = createOrtRunner(files.manifest, ort.Tensor, cls, d, null, td);
        expect(r.hasTimeDecoder).toBe(true);
        expect(r.hasDecoder).toBe(d !== null);
        const out = await r.runClassifier(magnitude(stft(signal, { nFft: 1024, winLength: 1024, hopLength: 256 })), 1);
        expect(out.hidden.length).toBe(4);
        const e = await r.runTimeDecoder!(out.hidden, signal, [fx.meta.target]);
        expect(e.length).toBe(signal.length);
        expect(maxAbsDiff(e, explanation)).toBeLessThan(2e-3);
        await expect(r.runTimeDecoder!(out.hidden, signal, [50])).rejects.toThrow('target class 50 is out of range 0..49');
        await expect(r.runTimeDecoder!(out.hidden, signal.subarray(0, 100), [0])).rejects.toThrow(/got 100 samples for batch 1 × 80000/);
        await smokeTest(r, files.manifest);
      }
      // lazily created (the app's worker): no session before the first use, one load for concurrent
      // first uses, the manifest checks then, and a failed load is reported and retried
      let calls = 0;
      let fail: Error | null = new Error('time_decoder.onnx: sha256 mismatch (expected 0, got 1)');
      const lazy = createOrtRunner(files.manifest, ort.Tensor, cls, dec, null, async () => {
        calls++;
        if (fail) throw fail;
        return td!;
      });
      expect(lazy.hasTimeDecoder).toBe(true);
      expect(lazy.timeDecoderLoaded).toBe(false);
      await smokeTest(lazy, files.manifest);
      expect(calls).toBe(0);
      const lo = await lazy.runClassifier(magnitude(stft(signal, { nFft: 1024, winLength: 1024, hopLength: 256 })), 1);
      await expect(lazy.runTimeDecoder!(lo.hidden, signal, [50])).rejects.toThrow('target class 50 is out of range 0..49');
      expect(calls).toBe(0);
      await expect(lazy.runTimeDecoder!(lo.hidden, signal, [fx.meta.target])).rejects.toThrow(/time_decoder.onnx: sha256 mismatch/);
      expect(lazy.timeDecoderLoaded).toBe(false);
      fail = null;
      const [e1, e2] = await Promise.all([0, 1].map(() => lazy.runTimeDecoder!(lo.hidden, signal, [fx.meta.target])));
      expect(calls).toBe(2);
      expect(lazy.timeDecoderLoaded).toBe(true);
      expect(maxAbsDiff(e1, explanation)).toBeLessThan(2e-3);
      expect(maxAbsDiff(e2, e1)).toBe(0);
      const raw0 = JSON.parse(readFileSync(join(bundleDir, 'manifest.json'), 'utf8'));
      raw0.timeDecoder.explanation = 'audio';
      const wrong = createOrtRunner(parseManifest(raw0), ort.Tensor, cls, dec, null, async () => ort.InferenceSession.create(files.timeDecoder!, { executionProviders: ['wasm'] }));
      await expect(wrong.runTimeDecoder!(lo.hidden, signal, [0])).rejects.toThrow(/time_decoder.onnx: has no output "audio" \(outputs: explanation\)/);
      expect(wrong.timeDecoderLoaded).toBe(false);
      const none = createOrtRunner(files.manifest, ort.Tensor, cls, dec, null, null);
      expect(none.hasTimeDecoder).toBe(false);
      expect(none.runTimeDecoder).toBeUndefined();
      const raw = JSON.parse(readFileSync(join(bundleDir, 'manifest.json'), 'utf8'));
      raw.timeDecoder.explanation = 'audio';
      expect(() => createOrtRunner(parseManifest(raw), ort.Tensor, cls, dec, null, td)).toThrow(/time_decoder.onnx: has no output "audio" \(outputs: explanation\)/);
      raw.timeDecoder.explanation = 'explanation';
      raw.timeDecoder.hidden = ['h3'];
      expect(() => createOrtRunner(parseManifest(raw), ort.Tensor, cls, dec, null, td)).toThrow(/time_decoder.onnx: has inputs the manifest does not feed \(h4\)/);
      raw.timeDecoder.hidden = ['h3', 'h4'];
      raw.timeDecoder.waveform = 'audio';
      expect(() => createOrtRunner(parseManifest(raw), ort.Tensor, cls, dec, null, td)).toThrow(/time_decoder.onnx: has no input "audio"/);
    },
  );
});
