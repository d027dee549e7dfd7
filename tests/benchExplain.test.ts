// `npm run bench:explain` end to end on a tiny generated data folder in the ESC-50 layout
// (esc50.csv + audio/*.wav written to a temp dir; no dataset file is copied anywhere).
// Always with the band-energy fixture bundle (no decoder; its decision is known by construction,
// so the ground-truth AUC of the perturbation explainer must be high); also with models/esc50
// (L-MAC rows) when that bundle is present, on the generated tone bursts (outside ESC-50's classes:
// the CLI's plumbing, L-MAC above a random mask) and, when the data set is here, on 8 real fold-4
// clips (where the default's fine-tuned decoder must find the placed event; stage 1 does not).
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeWav } from '../src/core/wav';
import { mulberry32 } from '../src/core/perturbation';
import { esc50Dir } from '../src/node/esc50';
import { skipUnless } from './skip';

const run = promisify(execFile);
const ROOT = resolve(fileURLToPath(new URL('.', import.meta.url)), '..');
const ESC50_BUNDLE = join(ROOT, 'models', 'esc50');
const ESC50_DATA = esc50Dir(ROOT);

/** 2.5 s at 22.05 kHz (resampled by the CLI): class 0 = a 1250 Hz tone burst, class 1 = a 3 kHz one; weak noise. */
function clip(cls: number, k: number): Uint8Array {
  const sr = 22050;
  const n = Math.round(2.5 * sr);
  const rand = mulberry32(100 * cls + k);
  const x = new Float32Array(n);
  for (let i = 0; i < n; i++) x[i] = 0.02 * (rand() * 2 - 1);
  const f = cls === 0 ? 1250 : 3000;
  const t0 = 0.3 + 0.4 * k;
  for (let i = Math.round(t0 * sr); i < Math.round((t0 + 0.5) * sr); i++) x[i] += 0.4 * Math.sin((2 * Math.PI * f * i) / sr);
  return new Uint8Array(encodeWav(x, sr, 'pcm16'));
}

let data: string;
beforeAll(() => {
  data = mkdtempSync(join(tmpdir(), 'bench-explain-'));
  mkdirSync(join(data, 'audio'));
  const rows = ['filename,fold,target,category,src_file,take,esc10'];
  for (const cls of [0, 1])
    for (let k = 0; k < 3; k++) {
      const name = `4-${cls}${k}-A-${cls}.wav`;
      writeFileSync(join(data, 'audio', name), clip(cls, k));
      rows.push(`${name},4,${cls},${cls ? 'rest' : 'band'},${cls}${k},A,False`);
    }
  // a clip of another fold: must be ignored
  writeFileSync(join(data, 'audio', '1-99-A-0.wav'), clip(0, 0));
  rows.push('1-99-A-0.wav,1,0,band,99,A,False');
  writeFileSync(join(data, 'esc50.csv'), rows.join('\n') + '\n');
});
afterAll(() => {
  if (data) rmSync(data, { recursive: true, force: true });
});

async function cli(bundle: string, out: string, extra: string[] = [], dataDir = data) {
  const args = ['--import', 'tsx', 'bench/explain.ts', '--bundle', bundle, '--data', dataDir, '--folds', '4', '--seed', '3', '--out', out, '--quiet', ...extra];
  await run('nice', ['-n', '19', process.execPath, ...args], { cwd: ROOT, timeout: 600_000 });
  return {
    json: JSON.parse(readFileSync(join(out, 'explain-bench.json'), 'utf8')),
    md: readFileSync(join(out, 'explain-bench.md'), 'utf8'),
  };
}

describe('bench:explain CLI', () => {
  it('band fixture: tables; the perturbation explainer beats the random baseline and finds the placed event', async () => {
    const outA = join(data, 'outA');
    const a = await cli('models/fixtures/band', outA, ['--perturbations', '100', '--snr', '6']);
    expect(a.json.clips).toBe(6);
    expect(a.json.hasDecoder).toBe(false);
    const methods = Object.keys(a.json.faithfulness.in);
    expect(methods).toEqual(['perturbation', 'all-ones', 'random (equal mean)']);
    for (const kind of ['in', 'out']) {
      const ones = a.json.faithfulness[kind]['all-ones'];
      // all-ones: M⊙|X| = |X| → q = p exactly
      expect(ones.AI).toBe(0);
      expect(ones.AD).toBeCloseTo(0, 6);
      expect(ones.FidIn).toBe(1);
      expect(ones.MM).toBe(1);
      expect(ones.SPS).toBeCloseTo(0, 6);
      const pert = a.json.faithfulness[kind].perturbation;
      const rnd = a.json.faithfulness[kind]['random (equal mean)'];
      expect(pert.n).toBe(6);
      expect(rnd.MM).toBeCloseTo(pert.MM, 2); // same mask mean: only where the mask is differs
      console.log(`band ${kind}: perturbation FF ${pert.FF.toFixed(3)} AD ${pert.AD.toFixed(3)}; random FF ${rnd.FF.toFixed(3)} AD ${rnd.AD.toFixed(3)}`);
      // removing what the explanation keeps drops the class far more than removing a random mask of the same mean
      expect(pert.FF).toBeGreaterThan(rnd.FF + 0.1);
      // and keeping it keeps the class better
      expect(pert.AD).toBeLessThan(rnd.AD - 0.1);
    }
    const gt = a.json.groundTruth.perMethod;
    expect(gt.perturbation.timeAuc).toBeGreaterThan(0.8);
    expect(gt.perturbation.timeAuc).toBeGreaterThan(gt['random (equal mean)'].timeAuc + 0.15);
    expect(gt['all-ones'].timeAuc).toBeCloseTo(0.5, 10);
    expect(gt.perturbation.nTime).toBe(6);
    // listenability on the mixtures where the top class is A (issue 13)
    const det = gt.perturbation.detected;
    const onesDet = gt['all-ones'].detected;
    console.log(`band detected (${det.n}): perturbation SI-SDR ${det.siSdrIn.toFixed(2)} / ${det.siSdrOut.toFixed(2)} dB, share ${det.energyShare.toFixed(3)}; all-ones ${onesDet.siSdrIn.toFixed(2)} dB, share ${onesDet.energyShare.toFixed(3)}`);
    expect(det.n).toBeGreaterThan(0);
    expect(onesDet.n).toBe(det.n);
    expect(onesDet.silentResidual).toBe(det.n); // 1 − 1 = 0: no residual, no SI-SDR
    expect(onesDet.siSdrOut).toBeNull(); // NaN in JSON
    expect(det.silentResidual).toBe(0);
    expect(det.siSdrIn).toBeGreaterThan(onesDet.siSdrIn + 1); // keeping the event's segments sounds more like A than the whole mixture
    expect(det.energyShare).toBeGreaterThan(onesDet.energyShare + 0.05);
    expect(a.md).toMatch(/### Detected subset/);
    expect(a.md).toMatch(/\| all-ones \| [\d.]+ \| [\d.]+ \| -?[\d.]+ \| – \|/);
    expect(a.json.timing.clipsPerS).toBeGreaterThan(0);
    expect(a.json.timing.stagesMs.perturbation).toBeGreaterThan(0);
    expect(a.md).toMatch(/## Faithfulness — In-domain/);
    expect(a.md).toMatch(/\| perturbation \| [\d.]+ \| [\d.]+ \|/);
    expect(a.md).toMatch(/clips\/s/);

  }, 900_000);

  it('is reproducible: the same seed gives the same numbers', async () => {
    const small = ['--limit', '2', '--perturbations', '30'];
    const a = await cli('models/fixtures/band', join(data, 'outR1'), small);
    const b = await cli('models/fixtures/band', join(data, 'outR2'), small);
    expect(a.json.clips).toBe(2);
    expect(b.json.faithfulness).toEqual(a.json.faithfulness);
    expect(b.json.groundTruth).toEqual(a.json.groundTruth);
    const c = await cli('models/fixtures/band', join(data, 'outR3'), [...small, '--seed', '4']);
    expect(c.json.groundTruth.placements).not.toEqual(a.json.groundTruth.placements);
  }, 900_000);

  it.skipIf(skipUnless(existsSync(join(ESC50_BUNDLE, 'manifest.json')), 'bench:explain on models/esc50', `no ${join(ESC50_BUNDLE, 'manifest.json')}`))('models/esc50: L-MAC rows next to perturbation', async () => {
    const out = join(data, 'outEsc');
    const r = await cli('models/esc50', out, ['--limit', '2', '--perturbations', '8']);
    expect(r.json.hasDecoder).toBe(true);
    expect(Object.keys(r.json.faithfulness.out)).toEqual(['L-MAC', 'perturbation', 'all-ones', 'random (equal mean)']);
    for (const kind of ['in', 'out']) {
      const l = r.json.faithfulness[kind]['L-MAC'];
      const rnd = r.json.faithfulness[kind]['random (equal mean)'];
      expect(l.n).toBe(2);
      expect(rnd.MM).toBeCloseTo(l.MM, 2);
      console.log(`esc50 tones ${kind}: L-MAC FF ${l.FF.toFixed(3)} AD ${l.AD.toFixed(1)}; random FF ${rnd.FF.toFixed(3)} AD ${rnd.AD.toFixed(1)}`);
      // L-MAC beats a random mask of the same mean: higher FF, lower AD
      expect(l.FF).toBeGreaterThan(rnd.FF + 0.03);
      expect(l.AD).toBeLessThan(rnd.AD);
    }
    const gt = r.json.groundTruth.perMethod;
    console.log(`esc50 tones ground truth: L-MAC time AUC ${gt['L-MAC'].timeAuc.toFixed(3)} TF AUC ${gt['L-MAC'].tfAuc.toFixed(3)}; random ${gt['random (equal mean)'].timeAuc.toFixed(3)} / ${gt['random (equal mean)'].tfAuc.toFixed(3)}`);
    // tone bursts are no ESC-50 class: where the classifier looks for "dog" in them is not known, so
    // only the count here; localisation is asserted on real clips below
    expect(gt['L-MAC'].nTime).toBe(2);
    expect(r.md).toMatch(/\| L-MAC \|/);
  }, 900_000);

  const hasRealData = existsSync(join(ESC50_DATA, 'esc50.csv')) && existsSync(join(ESC50_BUNDLE, 'manifest.json'));
  it.skipIf(skipUnless(hasRealData, 'bench:explain on real fold-4 clips', `no ${join(ESC50_DATA, 'esc50.csv')} or no models/esc50`))('models/esc50 on 8 real fold-4 clips: faithful, and the placed event is found', async () => {
    const r = await cli('models/esc50', join(data, 'outReal'), ['--limit', '8', '--perturbations', '8'], ESC50_DATA);
    for (const kind of ['in', 'out']) {
      const l = r.json.faithfulness[kind]['L-MAC'];
      const rnd = r.json.faithfulness[kind]['random (equal mean)'];
      expect(l.n).toBe(8);
      console.log(`esc50 fold 4 ${kind}: L-MAC FF ${l.FF.toFixed(3)} AD ${l.AD.toFixed(1)} AI ${l.AI.toFixed(1)}; random FF ${rnd.FF.toFixed(3)} AD ${rnd.AD.toFixed(1)}`);
      expect(l.FF).toBeGreaterThan(rnd.FF + 0.03);
      expect(l.AD).toBeLessThan(0.5 * rnd.AD);
    }
    const gt = r.json.groundTruth.perMethod;
    const l = gt['L-MAC'];
    const rnd = gt['random (equal mean)'];
    console.log(`esc50 fold 4 ground truth: L-MAC time AUC ${l.timeAuc.toFixed(3)} TF AUC ${l.tfAuc.toFixed(3)}; random ${rnd.timeAuc.toFixed(3)} / ${rnd.tfAuc.toFixed(3)}`);
    expect(l.nTime).toBe(8);
    // the fine-tuned decoder (issue 13): 0.833 / 0.762 on these 8 placements; the stage-1 decoder 0.617 / 0.575
    expect(l.timeAuc).toBeGreaterThan(0.75);
    expect(l.tfAuc).toBeGreaterThan(0.7);
    expect(l.timeAuc).toBeGreaterThan(rnd.timeAuc + 0.2);
  }, 900_000);
});
