// Ground-truth benchmark of time-localized explanations (seed: "Benchmarking time-localized
// explanations for audio classification models"; definitions: shared/docs/methods.md), Node, the
// app's core code, onnxruntime-node:
//
//   npm run bench:ground-truth -- --bundle models/esc50 --data <ESC-50 layout> --folds 4 [--limit N]
//   npm run bench:ground-truth -- --bundle models/drums --drums 100
//   npm run bench:ground-truth -- --bundle B --csv labels.csv --audio DIR     (file,class,onset,offset in s)
//   ... --tune        a small grid of perturbation settings instead (validation data only)
//
// Sources: (1) ESC-50 placed events: the energetic part of a clip of class A placed at a seeded
// random offset into a clip of class B (another class) at each --snrs (rms of the event over its
// length vs rms of the whole background); target A; time-frequency ground truth = bins where the
// placed event's |STFT| exceeds the background's. (2) --drums N: seeded drum loops
// (src/core/drumSynth.ts renderDrumLoop), target = the instrument of one hit drawn per loop, its
// events = all hits of that instrument (onset → −40 dB end). (3) --csv: the user's annotations.
// Per item: --eval-segment-ms segments (100 ms); label = overlaps an event of the target; score per
// explainer; ROC AUC per item; mean over items with a 95 % bootstrap interval (1,000 resamples),
// on all items and on the subset whose top class is the target. Also the AUC when only the first
// 25/50/100 % of each event is kept (the seed's Figure 3) and the TF-AUC of the mask explainers.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { analyze, pipelineConfig, stitchedMask, type AnalysisState } from '../src/core/explain';
import { DRUM_INSTRUMENTS, renderDrumLoop } from '../src/core/drumSynth';
import {
  barChartSvg,
  bootstrapMean,
  energeticPart,
  frameToSegment,
  lineChartSvg,
  placeEvent,
  rocAuc,
  segmentLabels,
  segmentScores,
  type MeanCI,
  type TimedEvent,
} from '../src/core/groundTruth';
import { argmax } from '../src/core/metrics';
import { fitSurrogate, mulberry32, perturbationSamples, type PerturbationOptions } from '../src/core/perturbation';
import { magnitude, stft } from '../src/core/stft';
import { padToPlan } from '../src/core/windows';
import { decodeAudioFileNode } from '../src/node/audioNode';
import { esc50Clips } from '../src/node/esc50';
import { createNodeModel, loadBundleDir } from '../src/node/ortNode';
import { numberArg, parseCli } from './cli';

const USAGE = `
npm run bench:ground-truth -- [source] [options]    time-localized AUC of the explainers against annotated events
 sources (one or more):
  --data DIR            ESC-50 layout (esc50.csv + audio/): placed events, class A into a clip of class B
  --drums N             N generated drum loops (src/core/drumSynth.ts), for a drums bundle
  --csv FILE --audio DIR  your annotations: CSV rows file,class,onset,offset (seconds; class = a label of the bundle)
 options:
  --bundle DIR          bundle folder (default models/esc50)
  --folds LIST          ESC-50 folds (default 4)
  --limit N             at most N ESC-50 clips / CSV files (default 0 = all)
  --skip N              skip the first N ESC-50 clips (default 0; e.g. tune on other clips than the report);
                        clips are taken round-robin over the classes, so --limit 50 = one clip of each class
  --snrs LIST           SNRs of the placed events in dB (default 6,0,-6)
  --drum-seconds S      length of a drum loop (default: the bundle's window)
  --seed S              seed of placements, drum loops, perturbations (default 1)
  --perturbations N     random segment masks (default 200)
  --segment-ms MS       perturbation segment length (default 100)
  --keep P              probability that a segment is kept in a mask (default 0.5)
  --removal R           silence | noise (default silence)
  --trees N             random-forest surrogate trees (default 30)
  --eval-segment-ms MS  ground-truth segments (default 100)
  --fractions LIST      first parts of each event kept (Figure 3; default 0.25,0.5,1)
  --tune                grid over perturbation settings instead of the benchmark (validation data only)
  --no-lmac             skip L-MAC even when the bundle has a decoder
  --out DIR             output folder (default .bench)
  --name NAME           output file stem (default ground-truth, or ground-truth-tune with --tune)
  --threads T           ORT threads (default 0 = ORT's choice)
  --quiet               no per-item lines
  --help                this text`;
const args = parseCli(USAGE, {
  bundle: { type: 'string', default: 'models/esc50' },
  data: { type: 'string' },
  folds: { type: 'string', default: '4' },
  limit: { type: 'string', default: '0' },
  skip: { type: 'string', default: '0' },
  snrs: { type: 'string', default: '6,0,-6' },
  drums: { type: 'string' },
  'drum-seconds': { type: 'string' },
  csv: { type: 'string' },
  audio: { type: 'string' },
  seed: { type: 'string', default: '1' },
  perturbations: { type: 'string', default: '200' },
  'segment-ms': { type: 'string', default: '100' },
  keep: { type: 'string', default: '0.5' },
  removal: { type: 'string', default: 'silence' },
  trees: { type: 'string', default: '30' },
  'eval-segment-ms': { type: 'string', default: '100' },
  fractions: { type: 'string', default: '0.25,0.5,1' },
  tune: { type: 'boolean', default: false },
  'no-lmac': { type: 'boolean', default: false },
  out: { type: 'string', default: '.bench' },
  name: { type: 'string' },
  threads: { type: 'string', default: '0' },
  quiet: { type: 'boolean', default: false },
});

const list = (s: string) => s.split(',').map((v) => Number(v.trim())).filter((v) => Number.isFinite(v));
const limit = numberArg('limit', args.limit, 0);
const skip = numberArg('skip', args.skip, 0);
const seed = numberArg('seed', args.seed, 1);
const nDrums = numberArg('drums', args.drums, 0);
const snrs = list(args.snrs!);
const fractions = list(args.fractions!);
const evalSegS = numberArg('eval-segment-ms', args['eval-segment-ms'], 100) / 1000;
const trees = numberArg('trees', args.trees, 30);
const base: PerturbationOptions = {
  samples: numberArg('perturbations', args.perturbations, 200),
  segmentMs: numberArg('segment-ms', args['segment-ms'], 100),
  keepProbability: numberArg('keep', args.keep, 0.5),
  removal: args.removal as 'silence' | 'noise',
};
if (base.removal !== 'silence' && base.removal !== 'noise') {
  console.error(`error: --removal must be silence or noise (got "${args.removal}")`);
  process.exit(2);
}
if (!args.data && !nDrums && !args.csv) {
  console.error(`error: give a source: --data DIR, --drums N or --csv FILE --audio DIR\n${USAGE}`);
  process.exit(2);
}
if (args.csv && !args.audio) {
  console.error('error: --csv needs --audio DIR');
  process.exit(2);
}
const log = (s: string) => {
  if (!args.quiet) process.stderr.write(s + '\n');
};

/** One annotated input: audio at the model rate, target class, its events; placed events also keep the event and background alone. */
interface Item {
  source: string;
  condition: string;
  name: string;
  samples: Float32Array;
  target: number;
  events: TimedEvent[];
  placed?: Float32Array;
  background?: Float32Array;
}

async function main() {
  const t0 = performance.now();
  const bundleDir = resolve(args.bundle!);
  const files = await loadBundleDir(bundleDir);
  const m = files.manifest;
  const cfg = pipelineConfig(m);
  const sr = cfg.sampleRate;
  const model = await createNodeModel(files, 'ort-node', { threads: numberArg('threads', args.threads, 0) || undefined });
  const runner = model.runner;
  const useLmac = runner.hasDecoder && !args['no-lmac'];
  const labelIndex = new Map(m.labels.map((l, i) => [l.toLowerCase(), i]));

  // ---------- items ----------
  const items: Item[] = [];
  if (args.data) {
    const dataDir = resolve(args.data);
    const folds = new Set(list(args.folds!));
    // round-robin over the classes (file order within a class), so that --limit / --skip take a spread of classes
    const byClass = new Map<number, ReturnType<typeof esc50Clips>>();
    for (const r of esc50Clips(dataDir, folds)) (byClass.get(r.target) ?? byClass.set(r.target, []).get(r.target)!).push(r);
    const classes = [...byClass.keys()].sort((a, b) => a - b);
    const rr: ReturnType<typeof esc50Clips> = [];
    for (let k = 0; rr.length < [...byClass.values()].reduce((a, v) => a + v.length, 0); k++) for (const c of classes) if (byClass.get(c)![k]) rr.push(byClass.get(c)![k]);
    let rows = rr.slice(skip);
    if (limit > 0) rows = rows.slice(0, limit);
    const waves: Float32Array[] = [];
    for (const r of rows) waves.push((await decodeAudioFileNode(join(dataDir, 'audio', r.file), sr)).samples);
    const n = rows.length;
    const partner = rows.map((r, i) => {
      for (const k of [7, 13]) {
        const j = (((i - k) % n) + n) % n;
        if (rows[j].target !== r.target) return j;
      }
      for (let k = 1; k < n; k++) if (rows[(i + k) % n].target !== r.target) return (i + k) % n;
      return -1;
    });
    const rand = mulberry32(seed * 1000 + 3);
    for (let i = 0; i < n; i++) {
      if (partner[i] < 0) continue;
      if (rows[i].target >= cfg.classes) throw new Error(`${rows[i].file}: target ${rows[i].target} is not a class of ${m.name}`);
      const bg = waves[partner[i]];
      const L = bg.length;
      const { start, end } = energeticPart(waves[i], sr, Math.min(Math.floor(cfg.windowSamples / 2), Math.floor(L / 2)));
      const ev = waves[i].subarray(start, end);
      const off = Math.floor(rand() * (L - ev.length + 1));
      for (const snr of snrs) {
        const { mixture, placed } = placeEvent(bg, ev, off, snr);
        items.push({
          source: 'esc50',
          condition: `${snr > 0 ? '+' : ''}${snr} dB`,
          name: `${rows[i].file} in ${rows[partner[i]].file}`,
          samples: mixture,
          target: rows[i].target,
          events: [{ onsetS: off / sr, offsetS: (off + ev.length) / sr }],
          placed,
          background: bg,
        });
      }
    }
  }
  if (nDrums > 0) {
    const seconds = args['drum-seconds'] ? numberArg('drum-seconds', args['drum-seconds'], 1) : cfg.windowSamples / sr;
    const missing = DRUM_INSTRUMENTS.filter((d) => !labelIndex.has(d));
    if (missing.length === DRUM_INSTRUMENTS.length) throw new Error(`${m.name} has none of the drum labels ${DRUM_INSTRUMENTS.join(', ')}`);
    const rand = mulberry32(seed * 1000 + 5);
    for (let k = 0; k < nDrums; k++) {
      const loopSeed = seed * 100_000 + k;
      const { samples, hits } = renderDrumLoop(loopSeed, seconds, sr);
      const usable = hits.filter((h) => labelIndex.has(h.instrument));
      if (!usable.length) continue;
      const inst = usable[Math.floor(rand() * usable.length)].instrument;
      items.push({
        source: 'drums',
        condition: 'drums',
        name: `loop ${loopSeed} (${inst})`,
        samples,
        target: labelIndex.get(inst)!,
        events: usable.filter((h) => h.instrument === inst),
      });
    }
  }
  if (args.csv) {
    const lines = readFileSync(resolve(args.csv), 'utf8').split(/\r?\n/).filter((l) => l.trim() && !l.startsWith('#'));
    const groups = new Map<string, { file: string; target: number; events: TimedEvent[] }>();
    for (const [li, line] of lines.entries()) {
      const [file, cls, on, off] = line.split(',').map((s) => s.trim());
      if (li === 0 && !Number.isFinite(Number(on))) continue; // header
      const target = labelIndex.get((cls ?? '').toLowerCase());
      if (target === undefined) throw new Error(`${args.csv}:${li + 1}: class "${cls}" is not a label of ${m.name}`);
      if (!(Number(off) > Number(on))) throw new Error(`${args.csv}:${li + 1}: offset must be after onset`);
      const key = `${file}\u0000${target}`;
      if (!groups.has(key)) groups.set(key, { file, target, events: [] });
      groups.get(key)!.events.push({ onsetS: Number(on), offsetS: Number(off) });
    }
    let gs = [...groups.values()];
    if (limit > 0) gs = gs.slice(0, limit);
    for (const g of gs) {
      const { samples } = await decodeAudioFileNode(join(resolve(args.audio!), g.file), sr);
      items.push({ source: 'csv', condition: basename(args.csv), name: `${g.file} (${m.labels[g.target]})`, samples, target: g.target, events: g.events });
    }
  }
  if (!items.length) throw new Error('no items to evaluate');
  const conditions = [...new Set(items.map((it) => `${it.source}|${it.condition}`))];
  log(`bench:ground-truth — ${m.name}${useLmac ? ' (L-MAC)' : ''}, ${items.length} items (${conditions.join(', ')})${args.tune ? ', tuning' : ''}`);

  // ---------- per-item evaluation ----------
  type Row = { item: number; condition: string; detected: boolean; auc: Record<string, number[]>; tf: Record<string, number> };
  const rows: Row[] = [];
  const timing: Record<string, number> = { analyze: 0, lmac: 0, perturbation: 0, ridge: 0, forest: 0, scoring: 0 };
  const tick = () => performance.now();

  // tuning grid: one factor at a time around the base setting; mask counts by subsetting the largest run
  const maskCounts = [50, 100, 200, 300].filter((k) => k <= Math.max(300, base.samples!));
  const grid: { label: string; opts: PerturbationOptions; counts: number[] }[] = args.tune
    ? [
        { label: `seg ${base.segmentMs} ms, keep ${base.keepProbability}, ${base.removal}`, opts: { ...base, samples: Math.max(...maskCounts) }, counts: maskCounts },
        ...[50, 200].map((s) => ({ label: `seg ${s} ms`, opts: { ...base, segmentMs: s }, counts: [base.samples!] })),
        ...[0.3, 0.7].map((k) => ({ label: `keep ${k}`, opts: { ...base, keepProbability: k }, counts: [base.samples!] })),
        { label: base.removal === 'noise' ? 'silence' : 'noise', opts: { ...base, removal: base.removal === 'noise' ? 'silence' : 'noise' }, counts: [base.samples!] },
      ]
    : [{ label: 'chosen', opts: base, counts: [base.samples!] }];

  for (const [ii, it] of items.entries()) {
    let t = tick();
    const state: AnalysisState = await analyze(it.samples, cfg, runner, { batchSize: 4 });
    timing.analyze += tick() - t;
    const { plan, spec } = state;
    const F = spec.bins;
    const TT = spec.frames;
    const L = it.samples.length;
    const frameSeg = frameToSegment(TT, plan.hopLength, sr, evalSegS, L);
    const S = Math.max(1, Math.ceil(L / (evalSegS * sr) - 1e-9));
    const labels = fractions.map((f) => segmentLabels(L / sr, evalSegS, it.events, f));
    const mag = state.magnitude!;
    const detected = argmax(state.probs) === it.target;
    const row: Row = { item: ii, condition: `${it.source}|${it.condition}`, detected, auc: {}, tf: {} };
    const addScores = (name: string, scores: ArrayLike<number>) => {
      row.auc[name] = labels.map((lab) => rocAuc(scores, lab));
    };
    // time-frequency labels (placed events only), over frames centred in the clip
    let tfLab: Uint8Array | null = null;
    const valid: number[] = [];
    for (let tt = 0; tt < TT; tt++) if (frameSeg[tt] >= 0) valid.push(tt);
    if (it.placed && it.background && !args.tune) {
      const E = magnitude(stft(padToPlan(it.placed, plan), cfg.stft));
      const B = magnitude(stft(padToPlan(it.background, plan), cfg.stft));
      tfLab = new Uint8Array(F * valid.length);
      for (let f = 0; f < F; f++) valid.forEach((tt, k) => (tfLab![f * valid.length + k] = E[f * TT + tt] > B[f * TT + tt] ? 1 : 0));
    }
    const tfAuc = (mask: Float32Array) => {
      if (!tfLab) return NaN;
      const v = new Float32Array(F * valid.length);
      for (let f = 0; f < F; f++) valid.forEach((tt, k) => (v[f * valid.length + k] = mask[f * TT + tt]));
      return rocAuc(v, tfLab);
    };
    const maskScores = (name: string, mask: Float32Array) => {
      const sc = segmentScores(mask, F, TT, frameSeg, S, mag);
      addScores(`${name} · mask mean`, sc.mean);
      addScores(`${name} · mask energy`, sc.energy);
      row.tf[name] = tfAuc(mask);
    };
    if (!args.tune) {
      if (useLmac) {
        t = tick();
        state.lastSoft = null;
        const mk = await stitchedMask(state, runner, it.target, { batchSize: 4 });
        timing.lmac += tick() - t;
        maskScores('L-MAC', mk);
      }
      maskScores('all-ones', new Float32Array(F * TT).fill(1));
      const rnd = mulberry32(seed * 7 + ii);
      addScores('random', Float64Array.from({ length: S }, () => rnd()));
    }
    for (const g of grid) {
      t = tick();
      const ps = await perturbationSamples(state, runner, it.target, { ...g.opts, seed: seed * 7919 + ii, batchSize: 16 });
      timing.perturbation += tick() - t;
      for (const k of g.counts) {
        const items_ = Math.min(ps.items, k + 1);
        const Z = ps.Z.subarray(0, items_ * ps.segments);
        const y = ps.y.subarray(0, items_);
        for (const sur of ['ridge', 'forest'] as const) {
          t = tick();
          const fit = fitSurrogate(Z, y, items_, ps.segments, { surrogate: sur, seed: seed * 31 + ii, forest: { trees } });
          timing[sur] += tick() - t;
          // evaluation-segment score = mean of the frames' segment importance (same as the importance when segments agree)
          const sum = new Float64Array(S);
          const cnt = new Float64Array(S);
          for (let tt = 0; tt < TT; tt++) {
            const s = frameSeg[tt];
            if (s < 0) continue;
            sum[s] += fit.importance[ps.segOf[tt]];
            cnt[s]++;
          }
          const name = args.tune ? `${sur} · ${g.label}${g.counts.length > 1 ? `, ${k} masks` : ''}` : `perturbation (${sur})`;
          addScores(name, Array.from(sum, (v, s) => (cnt[s] ? v / cnt[s] : NaN)));
          if (!args.tune && sur === 'ridge') {
            // the explainer's listenable mask (positive importances scaled to [0, 1]) for the TF-AUC
            let mx = 0;
            for (const v of fit.importance) mx = Math.max(mx, v);
            const mk = new Float32Array(F * TT);
            for (let tt = 0; tt < TT; tt++) {
              const v = mx > 0 ? Math.max(0, fit.importance[ps.segOf[tt]]) / mx : 0;
              if (v) for (let f = 0; f < F; f++) mk[f * TT + tt] = v;
            }
            row.tf['perturbation (ridge)'] = tfAuc(mk);
          }
        }
      }
    }
    rows.push(row);
    const main = Object.entries(row.auc)
      .filter(([k]) => !k.includes('energy'))
      .map(([k, v]) => `${k.replace(' · mask mean', '')} ${v[v.length - 1]?.toFixed(2)}`)
      .join(', ');
    log(`  ${ii + 1}/${items.length} ${it.condition} ${it.name}${detected ? '' : ' [not detected]'}: ${main}`);
  }
  await model.release();

  // ---------- aggregation ----------
  const explainers = Object.keys(rows[0].auc);
  const tfExplainers = Object.keys(rows[0].tf);
  const full = fractions.indexOf(1) >= 0 ? fractions.indexOf(1) : fractions.length - 1;
  type Agg = { all: MeanCI; detected: MeanCI };
  const summary: Record<string, { items: number; detected: number; time: Record<string, Agg>; fractions: Record<string, { all: MeanCI[]; detected: MeanCI[] }>; tf: Record<string, Agg> }> = {};
  for (const c of conditions) {
    const rs = rows.filter((r) => r.condition === c);
    const ds = rs.filter((r) => r.detected);
    const agg = (get: (r: Row) => number, s: number): Agg => ({ all: bootstrapMean(rs.map(get), 1000, s), detected: bootstrapMean(ds.map(get), 1000, s) });
    summary[c] = { items: rs.length, detected: ds.length, time: {}, fractions: {}, tf: {} };
    explainers.forEach((e, ei) => {
      summary[c].time[e] = agg((r) => r.auc[e][full], seed + ei);
      summary[c].fractions[e] = {
        all: fractions.map((_, fi) => bootstrapMean(rs.map((r) => r.auc[e][fi]), 1000, seed + ei)),
        detected: fractions.map((_, fi) => bootstrapMean(ds.map((r) => r.auc[e][fi]), 1000, seed + ei)),
      };
    });
    tfExplainers.forEach((e, ei) => (summary[c].tf[e] = agg((r) => r.tf[e], seed + 100 + ei)));
  }
  const wallS = (performance.now() - t0) / 1000;

  // ---------- report ----------
  const f3 = (v: MeanCI) => (Number.isFinite(v.mean) ? `${v.mean.toFixed(3)} [${v.lo.toFixed(3)}, ${v.hi.toFixed(3)}]` : '–');
  const cmd = `npm run bench:ground-truth -- ${process.argv.slice(2).join(' ')}`;
  const L: string[] = [];
  L.push(`# Ground-truth benchmark${args.tune ? ' — perturbation settings grid' : ''} — ${m.name}\n`);
  L.push(`Command: \`${cmd}\` (${items.length} items, ${wallS.toFixed(0)} s wall, onnxruntime-node).\n`);
  L.push(
    `Per item: ${evalSegS * 1000} ms segments, label = segment overlaps an annotated event of the target class; ROC AUC per item, ` +
      `mean over items with a 95 % bootstrap interval (1,000 resamples of the items). Items whose segments are all one label are dropped (n counts the rest). ` +
      `"detected" = the subset where the classifier's top class (pooled over windows) is the target. ` +
      `Mask explainers score a segment by the mask mean over its bins and frames ("mask mean") or by the energy of the explanation Σ(M·|X|)² per frame ("mask energy"; ` +
      `for all-ones this is the mixture's own energy envelope, a loudness baseline). Perturbation: ${base.samples} masks, ${base.segmentMs} ms segments, keep ${base.keepProbability}, removal by ${base.removal}` +
      `${args.tune ? ' (base of the grid)' : ''}; ridge (λ = 1) and random-forest (${trees} trees, signed partial dependence) surrogates on the same perturbed inputs. random = a uniform random score per segment.\n`,
  );
  for (const c of conditions) {
    const s = summary[c];
    const [src, cond] = c.split('|');
    L.push(`## ${src === 'esc50' ? `ESC-50 placed events at ${cond}` : src === 'drums' ? 'Generated drum loops' : `Annotated data ${cond}`} — ${s.items} items, detected ${s.detected} (${((100 * s.detected) / s.items).toFixed(0)} %)\n`);
    L.push('| explainer | time-AUC, all | n | time-AUC, detected | n |');
    L.push('|---|---|---|---|---|');
    for (const e of explainers) L.push(`| ${e} | ${f3(s.time[e].all)} | ${s.time[e].all.n} | ${f3(s.time[e].detected)} | ${s.time[e].detected.n} |`);
    L.push('');
    if (!args.tune && fractions.length > 1) {
      L.push(`First part of each event kept (Figure 3), time-AUC on the detected subset:\n`);
      L.push(`| explainer | ${fractions.map((f) => `first ${Math.round(f * 100)} %`).join(' | ')} |`);
      L.push(`|---|${fractions.map(() => '---|').join('')}`);
      for (const e of explainers) L.push(`| ${e} | ${s.fractions[e].detected.map((v) => (Number.isFinite(v.mean) ? v.mean.toFixed(3) : '–')).join(' | ')} |`);
      L.push('');
    }
    if (tfExplainers.length && Number.isFinite(s.tf[tfExplainers[0]].all.mean)) {
      L.push(`Time-frequency AUC (mask value vs "event |STFT| > background |STFT|" per bin):\n`);
      L.push('| explainer | TF-AUC, all | TF-AUC, detected |');
      L.push('|---|---|---|');
      for (const e of tfExplainers) L.push(`| ${e} | ${f3(s.tf[e].all)} | ${f3(s.tf[e].detected)} |`);
      L.push('');
    }
  }
  L.push('## Timing\n');
  L.push('| stage | total s | ms per item |');
  L.push('|---|---|---|');
  for (const [k, v] of Object.entries(timing)) L.push(`| ${k} | ${(v / 1000).toFixed(1)} | ${(v / items.length).toFixed(0)} |`);
  L.push('');

  const outDir = resolve(args.out!);
  await mkdir(outDir, { recursive: true });
  const stem = args.name ?? (args.tune ? 'ground-truth-tune' : 'ground-truth');
  // plots: SVG written here, PNG by rsvg-convert (librsvg2-bin) when it is installed
  const pngs: string[] = [];
  const plot = async (file: string, svg: string) => {
    const svgPath = join(outDir, `${file}.svg`);
    await writeFile(svgPath, svg);
    try {
      execFileSync('rsvg-convert', ['-o', join(outDir, `${file}.png`), svgPath]);
      pngs.push(`${file}.png`);
    } catch {
      log(`  (rsvg-convert not available: ${file}.svg only; apt-get install librsvg2-bin)`);
      pngs.push(`${file}.svg`);
    }
  };
  const shown = explainers.filter((e) => e !== 'all-ones · mask mean'); // that one ties every segment: 0.5 by construction
  for (const subset of ['detected', 'all'] as const)
    await plot(
      `${stem}-auc-${subset}`,
      barChartSvg(
        `Time-AUC (${subset === 'detected' ? 'detected subset' : 'all items'}) — ${m.name}`,
        shown,
        conditions.map((c) => ({ label: c.split('|')[1], values: shown.map((e) => summary[c].time[e][subset]) })),
        { yLabel: 'mean AUC (95 % bootstrap CI)', yMin: 0, yMax: 1 },
      ),
    );
  if (!args.tune && fractions.length > 1) {
    const c = conditions.includes('esc50|0 dB') ? 'esc50|0 dB' : conditions[0];
    await plot(
      `${stem}-fractions`,
      lineChartSvg(
        `AUC vs part of each event kept — ${c.split('|')[1]}, detected`,
        fractions.map((f) => `${Math.round(f * 100)} %`),
        shown.map((e) => ({ name: e, values: summary[c].fractions[e].detected.map((v) => v.mean), lo: summary[c].fractions[e].detected.map((v) => v.lo), hi: summary[c].fractions[e].detected.map((v) => v.hi) })),
        { xLabel: 'first part of each annotation kept', yLabel: 'mean AUC', yMin: 0.3, yMax: 1 },
      ),
    );
  }
  L.push(`Plots: ${pngs.map((p) => `\`${p}\``).join(', ')} (SVG generated in TypeScript, PNG by rsvg-convert).\n`);
  const md = L.join('\n');
  const result = {
    bundle: m.name,
    command: cmd,
    items: items.length,
    settings: { ...base, trees, evalSegmentS: evalSegS, fractions, snrs, seed, limit, skip, tune: args.tune },
    summary,
    perItem: rows.map((r) => ({ ...r, name: items[r.item].name, target: m.labels[items[r.item].target], events: items[r.item].events })),
    timing: { stagesMs: timing, wallS },
  };
  await writeFile(join(outDir, `${stem}.json`), JSON.stringify(result, null, 1) + '\n');
  await writeFile(join(outDir, `${stem}.md`), md);
  log(`wrote ${join(outDir, `${stem}.md`)}, ${stem}.json and ${pngs.join(', ')}`);
  if (!args.quiet) console.log(md);
}

main().catch((e: unknown) => {
  console.error(`bench:ground-truth: ${e instanceof Error ? e.stack ?? e.message : String(e)}`);
  process.exit(1);
});
