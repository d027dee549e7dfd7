// Model test: the LMAC-TD time decoder (issue 14; models/esc50/time_decoder.onnx, exported by
// models/train/lmactd_export.py, manifest.timeDecoder) run through onnxruntime-node on
// the PyTorch parity fixture: the explanation from torch's hidden outputs, the chain app STFT →
// classifier.onnx → time decoder, explanation + residual = original, near-silence for an
// unlikely class, and a dynamic batch.
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { InferenceSession, Tensor } from 'onnxruntime-common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { skipUnless } from '../../tests/skip';
import { maxAbsDiff, readFixture } from '../node/fixtures';
import { magnitude, stft } from './stft';

const repoRoot = resolve(fileURLToPath(new URL('.', import.meta.url)), '..', '..');
const tdFile = join(repoRoot, 'models', 'esc50', 'time_decoder.onnx');
const clsFile = join(repoRoot, 'models', 'esc50', 'classifier.onnx');
const fixtureJson = join(repoRoot, 'models', 'fixtures', 'lmactd-parity.json');
const present = existsSync(tdFile) && existsSync(clsFile) && existsSync(fixtureJson);

interface Meta {
  target: number;
  targetUnlikely: number;
  energyRatio: number;
  energyRatioUnlikely: number;
}
interface Ort {
  Tensor: new (type: string, data: unknown, dims: number[]) => Tensor;
  InferenceSession: { create(m: Uint8Array, o?: InferenceSession.SessionOptions): Promise<InferenceSession> };
}

const L = 80000;
const energy = (x: ArrayLike<number>) => {
  let s = 0;
  for (let i = 0; i < x.length; i++) s += x[i] * x[i];
  return s;
};

describe.skipIf(skipUnless(present, 'LMAC-TD time decoder tests', 'models/esc50/time_decoder.onnx or models/fixtures/lmactd-parity.json is missing (models/train/lmactd_export.py writes them)'))(
  'LMAC-TD time decoder (onnxruntime-node)',
  () => {
    let ort: Ort;
    let td: InferenceSession;
    let cls: InferenceSession;
    let fx: ReturnType<typeof readFixture<Meta>>;
    const run = async (wave: Float32Array, h3: Float32Array, h4: Float32Array, targets: number[]) => {
      const b = targets.length;
      const out = await td.run({
        waveform: new ort.Tensor('float32', wave, [b, L]),
        h3: new ort.Tensor('float32', h3, [b, 96, 8, 39]),
        h4: new ort.Tensor('float32', h4, [b, 192, 4, 19]),
        target: new ort.Tensor('int64', BigInt64Array.from(targets.map(BigInt)), [b]),
      });
      return out.explanation.data as Float32Array;
    };
    beforeAll(async () => {
      ort = (await import('onnxruntime-node')) as unknown as Ort;
      const so: InferenceSession.SessionOptions = { executionProviders: ['cpu'], intraOpNumThreads: 1 };
      td = await ort.InferenceSession.create(new Uint8Array(readFileSync(tdFile)), so);
      cls = await ort.InferenceSession.create(new Uint8Array(readFileSync(clsFile)), so);
      fx = readFixture<Meta>(fixtureJson);
    });
    afterAll(async () => {
      await td?.release();
      await cls?.release();
    });

    it('declares the timeDecoder contract: waveform, h3, h4, target -> explanation', () => {
      expect([...td.inputNames].sort()).toEqual(['h3', 'h4', 'target', 'waveform']);
      expect(td.outputNames).toEqual(['explanation']);
    });

    it("matches PyTorch on torch's hidden outputs, and explanation + residual = original", async () => {
      const { signal, h3, h4, explanation } = fx.arrays;
      const e = await run(signal, h3, h4, [fx.meta.target]);
      expect(e.length).toBe(L);
      expect(maxAbsDiff(e, explanation)).toBeLessThan(1e-4);
      const residual = signal.map((v, i) => v - e[i]);
      expect(maxAbsDiff(residual.map((v, i) => v + e[i]), signal)).toBeLessThan(1e-6);
      expect(energy(e) / energy(signal)).toBeCloseTo(fx.meta.energyRatio, 3);
    });

    it("through the app's STFT and classifier.onnx: the same hidden outputs and explanation", async () => {
      const { signal, h3, h4, explanation } = fx.arrays;
      const mag = magnitude(stft(signal, { nFft: 1024, winLength: 1024, hopLength: 256 }));
      const out = await cls.run({ magnitude: new ort.Tensor('float32', mag, [1, 513, mag.length / 513]) });
      const ah3 = out.h3.data as Float32Array;
      const ah4 = out.h4.data as Float32Array;
      expect(maxAbsDiff(ah3, h3)).toBeLessThan(1e-3);
      expect(maxAbsDiff(ah4, h4)).toBeLessThan(1e-3);
      const e = await run(signal, ah3, ah4, [fx.meta.target]);
      expect(maxAbsDiff(e, explanation)).toBeLessThan(2e-3);
    });

    it('an unlikely class gets near-silence, and a batch of two runs each row as alone', async () => {
      const { signal, h3, h4, explanation } = fx.arrays;
      const cat = (a: Float32Array, b: Float32Array) => {
        const o = new Float32Array(a.length + b.length);
        o.set(a);
        o.set(b, a.length);
        return o;
      };
      const e = await run(cat(signal, signal), cat(h3, h3), cat(h4, h4), [fx.meta.target, fx.meta.targetUnlikely]);
      expect(maxAbsDiff(e.subarray(0, L), explanation)).toBeLessThan(1e-4);
      const ratioLow = energy(e.subarray(L)) / energy(signal);
      expect(ratioLow).toBeCloseTo(fx.meta.energyRatioUnlikely, 4);
      expect(ratioLow).toBeLessThan(0.1 * fx.meta.energyRatio);
    });
  },
);
