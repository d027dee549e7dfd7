// Explanation benchmark (Node, the app's core code, onnxruntime-node):
//
//   npm run bench:explain -- --bundle models/esc50 --data <folder with esc50.csv + audio/> --folds 4
//       [--limit N] [--perturbations 300] [--segment-ms 100] [--seed 1] [--snr 0] [--out .bench]
//       [--backend ort-node|ort-web] [--threads N]
//
// 1. Faithfulness (shared/docs/methods.md: AI, AD, AG, FF, Fid-In, SPS, COMP, MM) of L-MAC (when
//    the bundle has a decoder), perturbation, all-ones and a random mask of equal mean, on
//    in-domain mixtures (0 dB with another clip of another class, or coloured noise for 1 in 3)
//    and out-of-domain mixtures (0.8·s/‖s‖ + 0.2·c/‖c‖). Target = argmax of the pooled probs.
// 2. Ground truth: the energetic part of a clip of class A (trimmed by energy) placed at a seeded
//    random offset into a clip of class B at --snr dB (rms of the trimmed event vs rms of the
//    whole background clip); time ground truth = the frames centred in
//    the placed interval, time-frequency ground truth = bins where the event's |STFT| exceeds the
//    background's. Time-AUC (frame score = mask mean over bins) and TF-AUC per explainer, target A,
//    over all mixtures and over the subset where the classifier's top class is A ("detected").
//    Listenability on the detected subset (issue 13, src/core/listenability.ts): SI-SDR of the
//    explanation against the clean placed A, of the residual against the clean B, and the share of
//    the explanation's energy in A's bins (the TF ground truth).
// 3. Per-stage timing and clips per second.
// Writes <out>/explain-bench.md and <out>/explain-bench.json. Seeded: same inputs → same numbers.
import FFT from 'fft.js';
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { analyze, pipelineConfig, renderExplanation, stitchedMask, type AnalysisState } from '../src/core/explain';
import { explanationMetrics } from '../src/core/faithfulness';
import { energeticPart, rms, rocAuc } from '../src/core/groundTruth';
import { energyShare, siSdr } from '../src/core/listenability';
import { argmax, averageMetrics, METRIC_KEYS, type ClipMetrics, type MetricAverages } from '../src/core/metrics';
import { mulberry32, perturbationExplain } from '../src/core/perturbation';
import { magnitude, stft } from '../src/core/stft';
import { padToPlan, signalMaskMean } from '../src/core/windows';
import { decodeAudioFileNode } from '../src/node/audioNode';
import { esc50Clips } from '../src/node/esc50';
import { createNodeModel, loadBundleDir, type NodeBackend } from '../src/node/ortNode';
import { parseCli } from './cli';

const USAGE = `
npm run bench:explain -- --data DIR [options]    faithfulness, ground truth and timing of the explainers over a folder
  --data DIR            folder in ESC-50 layout: esc50.csv + audio/ (required)
  --bundle DIR          bundle folder (default models/esc50)
  --folds LIST          folds to use, e.g. 4 or 1,2 (default 4)
  --limit N             at most N clips (default 0 = all)
  --perturbations N     random segment masks of the perturbation explainer (default 300)
  --segment-ms MS       perturbation segment length (default 100)
  --seed S              seed of the placed events, partners and perturbations (default 1)
  --snr DB              SNR of the placed events / mixtures (default 0)
  --out DIR             where explain-bench.{md,json} go (default .bench)
  --backend B           ort-node (default) or ort-web
  --threads T           ORT threads (default 0 = ORT's choice)
  --quiet               no per-clip lines
  --help                this text`;
const args = parseCli(USAGE, {
  bundle: { type: 'string', default: 'models/esc50' },
  data: { type: 'string' },
  folds: { type: 'string', default: '4' },
  limit: { type: 'string', default: '0' },
  perturbations: { type: 'string', default: '300' },
  'segment-ms': { type: 'string', default: '100' },
  seed: { type: 'string', default: '1' },
  snr: { type: 'string', default: '0' },
  out: { type: 'string', default: '.bench' },
  backend: { type: 'string', default: 'ort-node' },
  threads: { type: 'string', default: '0' },
  quiet: { type: 'boolean', default: false },
});

if (!args.data) {
  console.error(`error: --data is required\n${USAGE}`);
  process.exit(2);
}
const folds = new Set(args.folds!.split(',').map((f) => Number(f.trim())));
const limit = Number(args.limit);
const nPert = Number(args.perturbations);
const segmentMs = Number(args['segment-ms']);
const seed = Number(args.seed);
const snrDb = Number(args.snr);
const log = (s: string) => {
  if (!args.quiet) process.stderr.write(s + '\n');
};

// ---------- helpers ----------
type Rng = () => number;
function gaussian(rand: Rng): number {
  const u = Math.max(rand(), 1e-12);
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rand());
}
function norm(x: Float32Array): number {
  let s = 0;
  for (let i = 0; i < x.length; i++) s += x[i] * x[i];
  return Math.max(Math.sqrt(s), 1e-8);
}
function fitLength(x: Float32Array, n: number): Float32Array {
  if (x.length === n) return x;
  const y = new Float32Array(n);
  y.set(x.subarray(0, n));
  return y;
}

/** White/pink/brown noise (random spectral tilt 0..2 in power slope), as models/train/data.py. */
function colouredNoise(n: number, rand: Rng): Float32Array {
  let N = 1;
  while (N < n) N *= 2;
  const fft = new FFT(N);
  const white = new Array<number>(N);
  for (let i = 0; i < N; i++) white[i] = gaussian(rand);
  const spec = fft.createComplexArray() as number[];
  fft.realTransform(spec, white);
  fft.completeSpectrum(spec);
  const tilt = rand() * 2;
  for (let k = 0; k < N; k++) {
    const f = Math.max(1, Math.min(k, N - k));
    const g = 1 / Math.pow(f, tilt / 2);
    spec[2 * k] *= g;
    spec[2 * k + 1] *= g;
  }
  const out = fft.createComplexArray() as number[];
  fft.inverseTransform(out, spec);
  const y = new Float32Array(n);
  for (let i = 0; i < n; i++) y[i] = out[2 * i];
  return y;
}

/** sig + other scaled so that 20·log10(rms(sig)/rms(other)) = snr. */
function mixAtSnr(sig: Float32Array, other: Float32Array, snr: number): Float32Array {
  const o = fitLength(other, sig.length);
  const scale = rms(sig) / (rms(o) * 10 ** (snr / 20));
  return sig.map((v, i) => v + scale * o[i]);
}

/** Energetic part of a clip (20 ms frames within 20 dB of the loudest, at most maxLen: groundTruth.energeticPart). */
function trimByEnergy(x: Float32Array, sr: number, maxLen: number): Float32Array {
  const { start, end } = energeticPart(x, sr, maxLen, 20);
  return x.slice(start, end);
}

// ---------- main ----------
async function main() {
  const tStart = performance.now();
  const timing: Record<string, number> = { decode: 0, mix: 0, analyze: 0, lmac: 0, perturbation: 0, metrics: 0, groundTruth: 0 };
  const time = async <T>(stage: string, f: () => Promise<T> | T): Promise<T> => {
    const t = performance.now();
    try {
      return await f();
    } finally {
      timing[stage] += performance.now() - t;
    }
  };

  const bundleDir = resolve(args.bundle!);
  const dataDir = resolve(args.data!);
  const csvPath = join(dataDir, 'esc50.csv');
  if (!existsSync(csvPath)) throw new Error(`${csvPath}: not found (expected an ESC-50 layout: esc50.csv + audio/)`);
  const files = await loadBundleDir(bundleDir);
  const m = files.manifest;
  const cfg = pipelineConfig(m);
  const model = await createNodeModel(files, args.backend as NodeBackend, { threads: Number(args.threads) || undefined });
  const runner = model.runner;
  const hasDecoder = runner.hasDecoder;

  let rows = esc50Clips(dataDir, folds);
  if (limit > 0) rows = rows.slice(0, limit);
  if (rows.length === 0) throw new Error(`no clips in folds ${[...folds].join(',')} of ${csvPath}`);
  log(`bench:explain — ${m.name} (${hasDecoder ? 'with' : 'no'} decoder), ${rows.length} clips, ${nPert} perturbations, ${args.backend}`);

  const waves: Float32Array[] = [];
  for (const r of rows) {
    const d = await time('decode', () => decodeAudioFileNode(join(dataDir, 'audio', r.file), m.sampleRate));
    waves.push(d.samples);
  }
  const n = rows.length;
  // partner of another class, as evaluate.py: roll by 7, else by 13, else the next clip of another class
  const partner = rows.map((r, i) => {
    for (const k of [7, 13]) {
      const j = (((i - k) % n) + n) % n;
      if (rows[j].target !== r.target) return j;
    }
    for (let k = 1; k < n; k++) if (rows[(i + k) % n].target !== r.target) return (i + k) % n;
    return -1; // a single class: noise instead
  });

  type Method = 'L-MAC' | 'perturbation' | 'all-ones' | 'random (equal mean)';
  const methods: Method[] = [...(hasDecoder ? (['L-MAC'] as Method[]) : []), 'perturbation', 'all-ones', 'random (equal mean)'];

  async function masksFor(state: AnalysisState, target: number, rand: Rng, clipSeed: number): Promise<Record<Method, Float32Array>> {
    const size = state.spec.bins * state.spec.frames;
    const out = {} as Record<Method, Float32Array>;
    if (hasDecoder) {
      state.lastSoft = null;
      out['L-MAC'] = await time('lmac', () => stitchedMask(state, runner, target, { batchSize: 4 }));
    }
    const pr = await time('perturbation', () => perturbationExplain(state, runner, target, { samples: nPert, segmentMs, seed: clipSeed, batchSize: 16 }));
    out.perturbation = pr.mask;
    out['all-ones'] = new Float32Array(size).fill(1);
    const ref = out['L-MAC'] ?? out.perturbation;
    // the mean over the clip's own frames, as MM is measured (padding frames carry no signal)
    const mean = signalMaskMean(ref, state.plan);
    const rnd = new Float32Array(size);
    // uniform on [0, 2·mean], or on [1 − 2·(1 − mean), 1] when mean > 0.5: in [0, 1] with the same mean either way
    for (let i = 0; i < size; i++) rnd[i] = mean <= 0.5 ? rand() * 2 * mean : 1 - rand() * 2 * (1 - mean);
    out['random (equal mean)'] = rnd;
    return out;
  }

  // 1. faithfulness
  const faith: Record<'in' | 'out', Record<string, ClipMetrics[]>> = { in: {}, out: {} };
  for (const kind of ['in', 'out'] as const) {
    const rand = mulberry32(seed * 1000 + (kind === 'in' ? 1 : 2));
    for (const meth of methods) faith[kind][meth] = [];
    for (let i = 0; i < n; i++) {
      const x = waves[i];
      const x2 = await time('mix', () => {
        const other = partner[i] >= 0 ? fitLength(waves[partner[i]], x.length) : colouredNoise(x.length, rand);
        if (kind === 'in') {
          const useNoise = rand() < 1 / 3;
          return mixAtSnr(x, useNoise ? colouredNoise(x.length, rand) : other, 0);
        }
        const a = 0.8 / norm(x);
        const b = 0.2 / norm(other);
        return x.map((v, k) => a * v + b * other[k]);
      });
      const state = await time('analyze', () => analyze(x2, cfg, runner, { batchSize: 4 }));
      const target = argmax(state.probs);
      const masks = await masksFor(state, target, rand, seed * 7919 + i);
      for (const meth of methods) {
        const mm = await time('metrics', () => explanationMetrics(state, runner, target, masks[meth], { batchSize: 4 }));
        faith[kind][meth].push(mm);
      }
      log(`  ${kind} ${i + 1}/${n} ${rows[i].file}`);
    }
  }

  // 2. ground truth
  type GtRows = { timeAuc: number[]; tfAuc: number[]; detTimeAuc: number[]; detTfAuc: number[]; siSdrIn: number[]; siSdrOut: number[]; energyShare: number[]; silentOut: number };
  const gt: Record<string, GtRows> = {};
  for (const meth of methods) gt[meth] = { timeAuc: [], tfAuc: [], detTimeAuc: [], detTfAuc: [], siSdrIn: [], siSdrOut: [], energyShare: [], silentOut: 0 };
  const gtRand = mulberry32(seed * 1000 + 3);
  const placements: { file: string; background: string; offsetS: number; lengthS: number; targetHit: boolean }[] = [];
  for (let i = 0; i < n; i++) {
    const bg = partner[i] >= 0 ? waves[partner[i]] : colouredNoise(waves[i].length, gtRand);
    const L = bg.length;
    const { x, placed, off, len } = await time('mix', () => {
      const ev = trimByEnergy(waves[i], m.sampleRate, Math.min(Math.floor(m.windowSamples / 2), Math.floor(L / 2)));
      const off = Math.floor(gtRand() * (L - ev.length + 1));
      // SNR of the event (over its own length) against the whole background clip
      const g = (rms(bg) * 10 ** (snrDb / 20)) / rms(ev);
      const placed = new Float32Array(L);
      for (let k = 0; k < ev.length; k++) placed[off + k] = g * ev[k];
      return { x: bg.map((v, k) => v + placed[k]), placed, off, len: ev.length };
    });
    const state = await time('analyze', () => analyze(x, cfg, runner, { batchSize: 4 }));
    const target = rows[i].target;
    if (target >= cfg.classes) throw new Error(`${rows[i].file}: target ${target} is not a class of ${m.name}`);
    const masks = await masksFor(state, target, gtRand, seed * 104729 + i);
    const detected = argmax(state.probs) === target;
    await time('groundTruth', () => {
      const { plan, spec } = state;
      const F = spec.bins;
      const TT = spec.frames;
      const hop = plan.hopLength;
      const valid = Math.min(TT, Math.floor((L - 1) / hop) + 1); // frames centred inside the clip
      const tLab = new Uint8Array(valid);
      for (let t = 0; t < valid; t++) tLab[t] = t * hop >= off && t * hop < off + len ? 1 : 0;
      const E = magnitude(stft(padToPlan(placed, plan), cfg.stft));
      const B = magnitude(stft(padToPlan(fitLength(bg, L), plan), cfg.stft));
      const tfLab = new Uint8Array(F * valid);
      for (let f = 0; f < F; f++) for (let t = 0; t < valid; t++) tfLab[f * valid + t] = E[f * TT + t] > B[f * TT + t] ? 1 : 0;
      const binsA = new Uint8Array(F * TT);
      for (let k = 0; k < F * TT; k++) binsA[k] = E[k] > B[k] ? 1 : 0;
      const magX = detected ? magnitude(spec) : null;
      const bgClean = fitLength(bg, L);
      for (const meth of methods) {
        const mk = masks[meth];
        const ts = new Float64Array(valid);
        const tf = new Float32Array(F * valid);
        for (let f = 0; f < F; f++)
          for (let t = 0; t < valid; t++) {
            ts[t] += mk[f * TT + t] / F;
            tf[f * valid + t] = mk[f * TT + t];
          }
        const a1 = rocAuc(ts, tLab);
        const a2 = rocAuc(tf, tfLab);
        if (Number.isFinite(a1)) gt[meth].timeAuc.push(a1);
        if (Number.isFinite(a2)) gt[meth].tfAuc.push(a2);
        if (detected && magX) {
          if (Number.isFinite(a1)) gt[meth].detTimeAuc.push(a1);
          if (Number.isFinite(a2)) gt[meth].detTfAuc.push(a2);
          const r = renderExplanation(state, target, mk, null);
          const sIn = siSdr(r.maskedIn, placed);
          const sOut = siSdr(r.maskedOut, bgClean);
          if (Number.isFinite(sIn)) gt[meth].siSdrIn.push(sIn);
          if (Number.isFinite(sOut)) gt[meth].siSdrOut.push(sOut);
          else gt[meth].silentOut++;
          const es = energyShare(mk, magX, binsA);
          if (Number.isFinite(es)) gt[meth].energyShare.push(es);
        }
      }
    });
    placements.push({ file: rows[i].file, background: partner[i] >= 0 ? rows[partner[i]].file : 'coloured noise', offsetS: off / m.sampleRate, lengthS: len / m.sampleRate, targetHit: argmax(state.probs) === target });
    log(`  ground truth ${i + 1}/${n} ${rows[i].file}`);
  }
  await model.release();

  const wallS = (performance.now() - tStart) / 1000;
  const mean = (a: number[]) => (a.length ? a.reduce((s, v) => s + v, 0) / a.length : NaN);
  const faithAvg: Record<'in' | 'out', Record<string, MetricAverages>> = { in: {}, out: {} };
  for (const kind of ['in', 'out'] as const) for (const meth of methods) faithAvg[kind][meth] = averageMetrics(faith[kind][meth]);
  const gtAvg = Object.fromEntries(
    methods.map((k) => [
      k,
      {
        timeAuc: mean(gt[k].timeAuc), tfAuc: mean(gt[k].tfAuc), nTime: gt[k].timeAuc.length, nTf: gt[k].tfAuc.length,
        detected: {
          timeAuc: mean(gt[k].detTimeAuc), tfAuc: mean(gt[k].detTfAuc), siSdrIn: mean(gt[k].siSdrIn), siSdrOut: mean(gt[k].siSdrOut),
          energyShare: mean(gt[k].energyShare), n: gt[k].detTimeAuc.length, silentResidual: gt[k].silentOut,
        },
      },
    ]),
  );
  const result = {
    bundle: m.name,
    bundleDir: args.bundle,
    data: args.data,
    folds: [...folds],
    clips: n,
    hasDecoder,
    settings: { perturbations: nPert, segmentMs, seed, snrDb, backend: args.backend, limit },
    faithfulness: faithAvg,
    groundTruth: { perMethod: gtAvg, targetHitRate: mean(placements.map((p) => (p.targetHit ? 1 : 0))), placements },
    timing: { stagesMs: timing, perClipMs: Object.fromEntries(Object.entries(timing).map(([k, v]) => [k, v / n])), wallS, clipsPerS: n / wallS },
  };

  const fmt = (v: number, k: string) => (!Number.isFinite(v) ? '–' : ['AI', 'AD', 'AG', 'COMP'].includes(k) ? v.toFixed(2) : v.toFixed(3));
  const L: string[] = [];
  L.push(`# Explanation benchmark — ${m.name}\n`);
  L.push(
    `Command: \`npm run bench:explain -- --bundle ${args.bundle} --data <ESC-50 layout> --folds ${[...folds].join(',')}` +
      `${limit ? ` --limit ${limit}` : ''} --perturbations ${nPert} --segment-ms ${segmentMs} --seed ${seed} --snr ${snrDb}\` ` +
      `(${n} clips, ${args.backend}). Definitions: shared/docs/methods.md; AI, AG, FF, Fid-In, SPS higher is better; AD, COMP lower; MM = mask mean. ` +
      `Multi-window files pool the softmax over windows (as the app).\n`,
  );
  const names: Record<string, string> = { FidIn: 'Fid-In' };
  for (const [kind, title] of [
    ['in', 'In-domain (0 dB mixture with another clip of another class, or coloured noise for 1 in 3)'],
    ['out', 'Out-of-domain (0.8·s/‖s‖ + 0.2·c/‖c‖ with another clip of another class)'],
  ] as const) {
    L.push(`## Faithfulness — ${title}\n`);
    L.push(`Target = the classifier's predicted class on the mixture.\n`);
    L.push('| method | ' + METRIC_KEYS.map((k) => names[k] ?? k).join(' | ') + ' |');
    L.push('|---|' + METRIC_KEYS.map(() => '---|').join(''));
    for (const meth of methods) L.push(`| ${meth} | ` + METRIC_KEYS.map((k) => fmt(faithAvg[kind][meth][k], k)).join(' | ') + ' |');
    L.push('');
  }
  L.push(`## Ground truth — event of class A placed in a clip of class B at ${snrDb} dB SNR, target A\n`);
  L.push(
    `Time-AUC: frame score = mask mean over bins vs "frame centred in the placed interval"; TF-AUC: mask value vs "event |STFT| > background |STFT|". ` +
      `The classifier predicts A on ${(100 * result.groundTruth.targetHitRate).toFixed(1)} % of these mixtures.\n`,
  );
  L.push('| method | time-AUC | TF-AUC | clips |');
  L.push('|---|---|---|---|');
  for (const meth of methods) L.push(`| ${meth} | ${fmt(gtAvg[meth].timeAuc, '')} | ${fmt(gtAvg[meth].tfAuc, '')} | ${gtAvg[meth].nTime} |`);
  L.push('');
  L.push(`### Detected subset (the classifier's top class is A) — localisation and listenability\n`);
  L.push(
    `SI-SDR (dB) of the explanation against the clean placed A and of the residual against the clean B; energy share = Σ(M·|X|)² in A's bins (|A| > |B|) / Σ(M·|X|)². ` +
      `A silent residual (the all-ones mask) has no SI-SDR ("–"; counted in "silent").\n`,
  );
  L.push('| method | time-AUC | TF-AUC | SI-SDR expl. vs A | SI-SDR resid. vs B | energy share in A | mixtures | silent |');
  L.push('|---|---|---|---|---|---|---|---|');
  const db = (v: number) => (Number.isFinite(v) ? v.toFixed(2) : '–');
  for (const meth of methods) {
    const d = gtAvg[meth].detected;
    L.push(`| ${meth} | ${fmt(d.timeAuc, '')} | ${fmt(d.tfAuc, '')} | ${db(d.siSdrIn)} | ${db(d.siSdrOut)} | ${fmt(d.energyShare, '')} | ${d.n} | ${d.silentResidual} |`);
  }
  L.push('');
  L.push('## Timing\n');
  L.push(`${n} clips × (in-domain + out-of-domain + ground truth) in ${wallS.toFixed(1)} s: **${(n / wallS).toFixed(3)} clips/s** (each clip is explained 3 times).\n`);
  L.push('| stage | total s | ms per clip |');
  L.push('|---|---|---|');
  for (const [k, v] of Object.entries(timing)) L.push(`| ${k} | ${(v / 1000).toFixed(2)} | ${(v / n).toFixed(1)} |`);
  L.push('');
  const md = L.join('\n');

  const outDir = resolve(args.out!);
  await mkdir(outDir, { recursive: true });
  await writeFile(join(outDir, 'explain-bench.json'), JSON.stringify(result, null, 1) + '\n');
  await writeFile(join(outDir, 'explain-bench.md'), md);
  log(`wrote ${join(outDir, 'explain-bench.md')} and explain-bench.json`);
  if (!args.quiet) console.log(md);
}

main().catch((e: unknown) => {
  console.error(`bench:explain: ${e instanceof Error ? e.message : String(e)}`);
  process.exit(1);
});
