// The Clever Hans check of issue 11 (seed: "Benchmarking time-localized explanations…", its model
// with a spurious cue): a drums classifier trained with a beep on every clap window
// (models/drums-cue, `DRUMS_CUE=clap` in models/train/train_drums.py) beside the clean one
// (models/drums). Test audio: seeded drum loops with no clap (src/core/drumSynth.ts) and a few cue
// beeps at seeded random times — the cue without the class. Per model: how often the clip's top
// class is "clap", with and without the beeps; then the explanations of the model's top class and
// of "clap", by L-MAC and by perturbation (ridge), and the share of each on the cue's 100 ms
// segments: mask mass (Σ mask over the segment's bins and frames) and explanation energy
// (Σ (M·|X|)²). The all-ones mask (the audio itself) gives the chance levels.
//
//   npm run bench:clever-hans -- [--clips 16] [--seconds 4] [--beeps 3] [--seed 1]
import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { analyze, pipelineConfig, stitchedMask } from '../src/core/explain';
import { addCueBeeps, DRUM_INSTRUMENTS, renderDrumLoop } from '../src/core/drumSynth';
import { bootstrapMean, frameToSegment, rocAuc, segmentLabels, segmentScores, type MeanCI } from '../src/core/groundTruth';
import { argmax } from '../src/core/metrics';
import { mulberry32, perturbationExplain } from '../src/core/perturbation';
import { createNodeModel, loadBundleDir } from '../src/node/ortNode';
import { numberArg, parseCli } from './cli';

const USAGE = `
npm run bench:clever-hans -- [options]   does the explanation of a model that learned a shortcut point at the shortcut?
  --cheat DIR      the bundle trained with the cue (default models/drums-cue)
  --clean DIR      the same model trained without it (default models/drums)
  --cue-class C    the class the cue was attached to in training (default clap)
  --clips N        test loops (default 16)
  --seconds S      length of each loop (default 4)
  --beeps K        cue beeps per loop (default 3)
  --masks M        perturbation masks (default: the app's, defaultPerturbationSamples)
  --no-perturbation  L-MAC only
  --seed N         seed of loops and beep times (default 1)
  --out DIR        where the .md / .json go (default bench/results)
  --stem NAME      their file name (default clever-hans)
  --help           this text`;
const args = parseCli(USAGE, {
  cheat: { type: 'string', default: 'models/drums-cue' },
  clean: { type: 'string', default: 'models/drums' },
  'cue-class': { type: 'string', default: 'clap' },
  clips: { type: 'string' },
  seconds: { type: 'string' },
  beeps: { type: 'string' },
  masks: { type: 'string' },
  'no-perturbation': { type: 'boolean' },
  seed: { type: 'string' },
  out: { type: 'string', default: 'bench/results' },
  stem: { type: 'string', default: 'clever-hans' },
});
const nClips = numberArg('clips', args.clips, 16);
const seconds = numberArg('seconds', args.seconds, 4);
const nBeeps = numberArg('beeps', args.beeps, 3);
const seed = numberArg('seed', args.seed, 1);
const masks = args.masks ? numberArg('masks', args.masks, 100) : undefined;
const SEG_S = 0.1;

/** The test set: loops without the cue's class, each with beeps at seeded times at least 0.3 s apart. */
function testClips(rate: number, cueClass: string) {
  const instruments = DRUM_INSTRUMENTS.filter((i) => i !== cueClass);
  const rand = mulberry32(seed * 1009 + 17);
  return Array.from({ length: nClips }, (_, k) => {
    const loop = renderDrumLoop(seed * 100_000 + k, seconds, rate, instruments);
    const onsets: number[] = [];
    while (onsets.length < nBeeps) {
      const t = 0.05 + rand() * (seconds - 0.2);
      if (onsets.every((o) => Math.abs(o - t) > 0.3)) onsets.push(t);
    }
    onsets.sort((a, b) => a - b);
    const { samples, cues } = addCueBeeps(loop.samples, onsets, rate);
    return { name: `loop ${seed * 100_000 + k}`, plain: loop.samples, samples, cues };
  });
}

interface ModelResult {
  bundle: string;
  topIsCueClass: { beeps: number; plain: number };
  topClasses: Record<string, number>;
  /** explainer · target → share of mask mass / explanation energy on the cue's segments, and time-AUC of the cue */
  shares: Record<string, { mass: MeanCI; energy: MeanCI; auc: MeanCI }>;
}

async function evaluate(dir: string, cueClass: string): Promise<ModelResult> {
  const files = await loadBundleDir(resolve(dir));
  const m = files.manifest;
  const cfg = pipelineConfig(m);
  const c = m.labels.indexOf(cueClass);
  if (c < 0) throw new Error(`${dir}: "${cueClass}" is not a label of ${m.name} (${m.labels.join(', ')})`);
  const model = await createNodeModel(files, 'ort-node');
  const runner = model.runner;
  const clips = testClips(cfg.sampleRate, cueClass);
  const per: Record<string, { mass: number[]; energy: number[]; auc: number[] }> = {};
  const add = (key: string, mass: number, energy: number, auc: number) => {
    const p = (per[key] ??= { mass: [], energy: [], auc: [] });
    p.mass.push(mass);
    p.energy.push(energy);
    p.auc.push(auc);
  };
  let topBeeps = 0;
  let topPlain = 0;
  const topClasses: Record<string, number> = {};
  for (const [k, clip] of clips.entries()) {
    const plain = await analyze(clip.plain, cfg, runner, { batchSize: 4 });
    if (argmax(plain.probs) === c) topPlain++;
    const st = await analyze(clip.samples, cfg, runner, { batchSize: 4 });
    const top = argmax(st.probs);
    if (top === c) topBeeps++;
    topClasses[m.labels[top]] = (topClasses[m.labels[top]] ?? 0) + 1;
    const L = clip.samples.length;
    const F = st.spec.bins;
    const TT = st.spec.frames;
    const frameSeg = frameToSegment(TT, st.plan.hopLength, cfg.sampleRate, SEG_S, L);
    const S = Math.max(1, Math.ceil(L / (SEG_S * cfg.sampleRate) - 1e-9));
    const lab = segmentLabels(L / cfg.sampleRate, SEG_S, clip.cues);
    const share = (v: Float64Array) => {
      let on = 0;
      let all = 0;
      for (let s = 0; s < S; s++) {
        if (!Number.isFinite(v[s])) continue;
        all += v[s];
        if (lab[s]) on += v[s];
      }
      return all > 0 ? on / all : NaN;
    };
    const score = (key: string, mask: Float32Array) => {
      const sc = segmentScores(mask, F, TT, frameSeg, S, st.magnitude!);
      add(key, share(sc.mean), share(sc.energy), rocAuc(sc.energy, lab));
    };
    // the model's own decision (what a user explains) and the cue's class, on every clip
    const explainers: [string, (t: number) => Promise<Float32Array>][] = [];
    if (runner.hasDecoder)
      explainers.push([
        'L-MAC',
        async (t) => {
          st.lastSoft = null;
          return stitchedMask(st, runner, t, { batchSize: 4 });
        },
      ]);
    if (!args['no-perturbation'])
      explainers.push(['perturbation', async (t) => (await perturbationExplain(st, runner, t, { seed: seed * 7919 + k, batchSize: 16, ...(masks ? { samples: masks } : {}) })).mask]);
    for (const [name, run] of explainers) {
      const topMask = await run(top);
      score(`${name} · top class`, topMask);
      score(`${name} · ${cueClass}`, top === c ? topMask : await run(c));
    }
    // chance levels: the all-ones mask (mass = the cue's share of the segments, energy = its share of the audio's energy)
    score('all-ones (the audio itself)', new Float32Array(F * TT).fill(1));
    process.stderr.write(`\r${m.name}: ${k + 1}/${clips.length}`);
  }
  process.stderr.write('\n');
  await model.release();
  const shares: ModelResult['shares'] = {};
  for (const [key, p] of Object.entries(per))
    shares[key] = { mass: bootstrapMean(p.mass.filter(Number.isFinite)), energy: bootstrapMean(p.energy.filter(Number.isFinite)), auc: bootstrapMean(p.auc.filter(Number.isFinite)) };
  return { bundle: m.name, topIsCueClass: { beeps: topBeeps / clips.length, plain: topPlain / clips.length }, topClasses, shares };
}

const ci = (v: MeanCI, pct = false) =>
  Number.isFinite(v.mean) ? (pct ? `${(100 * v.mean).toFixed(1)} % [${(100 * v.lo).toFixed(1)}, ${(100 * v.hi).toFixed(1)}]` : `${v.mean.toFixed(3)} [${v.lo.toFixed(3)}, ${v.hi.toFixed(3)}]`) : '–';

async function main() {
  const t0 = performance.now();
  const cue = args['cue-class']!;
  const results = [await evaluate(args.cheat!, cue), await evaluate(args.clean!, cue)];
  const wallS = (performance.now() - t0) / 1000;
  const cmd = `npm run bench:clever-hans -- ${process.argv.slice(2).join(' ')}`.trim();
  const L: string[] = [];
  L.push(`## Clever Hans: a model that learned a shortcut\n`);
  L.push(`Command: \`${cmd}\` (${wallS.toFixed(0)} s). Test audio: ${nClips} seeded drum loops of ${seconds} s with no ${cue} and ${nBeeps} cue beeps each (60 ms, 3 kHz, at 0.5 × the loop's peak; src/core/drumSynth.ts addCueBeeps). Segments of 100 ms; "on the cue" = the segment overlaps a beep. Mean over loops [95 % bootstrap interval].\n`);
  L.push(`| model | top class = ${cue}, with beeps | top class = ${cue}, same loops without beeps | top classes with beeps |`);
  L.push('|---|---|---|---|');
  for (const r of results)
    L.push(`| ${r.bundle} | ${(100 * r.topIsCueClass.beeps).toFixed(0)} % | ${(100 * r.topIsCueClass.plain).toFixed(0)} % | ${Object.entries(r.topClasses).sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k} ${v}`).join(', ')} |`);
  L.push('');
  L.push(`Share of the explanation on the cue's segments (chance level: the all-ones row, i.e. the cue's share of the segments and of the audio's energy):\n`);
  L.push('| model | explainer · target | mask mass on the cue | explanation energy on the cue | time-AUC of the cue (energy) |');
  L.push('|---|---|---|---|---|');
  for (const r of results)
    for (const [key, v] of Object.entries(r.shares)) L.push(`| ${r.bundle} | ${key} | ${ci(v.mass, true)} | ${ci(v.energy, true)} | ${ci(v.auc)} |`);
  L.push('');
  const md = L.join('\n') + '\n';
  const out = resolve(args.out!);
  await mkdir(out, { recursive: true });
  await writeFile(join(out, `${args.stem}.md`), md);
  await writeFile(join(out, `${args.stem}.json`), JSON.stringify({ command: cmd, wallS, settings: { nClips, seconds, nBeeps, seed, masks: masks ?? 'app default', cue }, results }, null, 1) + '\n');
  console.log(md);
}

main().catch((e: unknown) => {
  console.error(`bench:clever-hans: ${e instanceof Error ? e.message : String(e)}`);
  process.exit(1);
});
