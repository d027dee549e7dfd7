// Sanity check of the explainers by cascading model randomization (Adebayo et al. 2018;
// shared/docs/methods.md "Cascading randomization"), Node, onnxruntime-node:
//
//   npm run bench:sanity -- --bundle models/esc50 --data <ESC-50 layout> --folds 4 --limit 8
//   npm run bench:sanity -- --bundle models/drums --drums 20
//
// models/train/randomize_onnx.py (python3-onnx, no training) writes the classifier with its top 1,
// 2, ... K blocks replaced by random weights of each tensor's own mean and std (blocks by name prefix,
// else by the manifest's hidden outputs; top = nearest the logits). Each clip is explained for the
// ORIGINAL model's top class by the original and by every randomized classifier (the decoder stays
// the trained one: it is part of the explainer); SSIM between the original and the randomized
// explanation per step: L-MAC = the mask image [bins × frames], perturbation = its listenable time
// mask levels per segment (positive ridge weights / the largest), both in [0, 1] (data range 1).
// A faithful explainer's SSIM falls as the model is destroyed.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { analyze, pipelineConfig, stitchedMask } from '../src/core/explain';
import { renderDrumLoop } from '../src/core/drumSynth';
import { bootstrapMean, lineChartSvg, ssim, type MeanCI } from '../src/core/groundTruth';
import { argmax } from '../src/core/metrics';
import { importanceToLevels, perturbationExplain } from '../src/core/perturbation';
import { decodeAudioFileNode } from '../src/node/audioNode';
import { esc50Clips } from '../src/node/esc50';
import { createNodeModel, loadBundleDir } from '../src/node/ortNode';
import { numberArg, parseCli } from './cli';

const USAGE = `
npm run bench:sanity -- [source] [options]    cascading randomization of the classifier: SSIM of the explanations per step
 sources:
  --data DIR            ESC-50 layout (esc50.csv + audio/): clips of --folds
  --drums N             N generated drum loops (for a drums bundle)
 options:
  --bundle DIR          bundle folder (default models/esc50)
  --folds LIST          ESC-50 folds (default 4)
  --limit N             at most N clips, round-robin over the classes (default 8)
  --perturbations N     perturbation masks (default 100)
  --seed S              seed of the random weights, drum loops and perturbations (default 1)
  --python PATH         python with the onnx package (default /usr/bin/python3)
  --out DIR             output folder (default .bench)
  --quiet               no per-clip lines
  --help                this text`;
const args = parseCli(USAGE, {
  bundle: { type: 'string', default: 'models/esc50' },
  data: { type: 'string' },
  drums: { type: 'string' },
  folds: { type: 'string', default: '4' },
  limit: { type: 'string', default: '8' },
  perturbations: { type: 'string', default: '100' },
  seed: { type: 'string', default: '1' },
  python: { type: 'string', default: '/usr/bin/python3' },
  out: { type: 'string', default: '.bench' },
  quiet: { type: 'boolean', default: false },
});
const limit = numberArg('limit', args.limit, 8);
const nPert = numberArg('perturbations', args.perturbations, 100);
const seed = numberArg('seed', args.seed, 1);
const nDrums = numberArg('drums', args.drums, 0);
if (!args.data && !nDrums) {
  console.error(`error: give a source: --data DIR or --drums N\n${USAGE}`);
  process.exit(2);
}
const log = (s: string) => {
  if (!args.quiet) process.stderr.write(s + '\n');
};

async function main() {
  const t0 = performance.now();
  const bundleDir = resolve(args.bundle!);
  const files = await loadBundleDir(bundleDir);
  const m = files.manifest;
  const cfg = pipelineConfig(m);
  const sr = cfg.sampleRate;
  const ROOT = resolve(new URL('.', import.meta.url).pathname, '..');

  // randomized classifiers
  const tmp = mkdtempSync(join(tmpdir(), 'lmac-sanity-'));
  try {
    execFileSync(
      args.python!,
      [join(ROOT, 'models', 'train', 'randomize_onnx.py'), '--model', join(bundleDir, m.classifier.file), '--out', tmp, '--hidden', m.classifier.hidden.join(','), '--seed', String(seed)],
      { stdio: ['ignore', 'ignore', 'inherit'] },
    );
    const blocks = JSON.parse(readFileSync(join(tmp, 'blocks.json'), 'utf8')) as { steps: { step: number; block: string; nodes: string[]; parameters: number; file: string }[] };
    const steps = [{ step: 0, block: 'original', nodes: [] as string[], parameters: 0, file: '' }, ...blocks.steps];

    // clips
    const clips: { name: string; samples: Float32Array; label: number }[] = [];
    if (args.data) {
      const dataDir = resolve(args.data);
      const all = esc50Clips(dataDir, args.folds!.split(',').map(Number));
      const byClass = new Map<number, typeof all>();
      for (const r of all) (byClass.get(r.target) ?? byClass.set(r.target, []).get(r.target)!).push(r);
      const order: typeof all = [];
      const cls = [...byClass.keys()].sort((a, b) => a - b);
      for (let k = 0; order.length < all.length; k++) for (const c of cls) if (byClass.get(c)![k]) order.push(byClass.get(c)![k]);
      for (const r of order.slice(0, limit)) clips.push({ name: r.file, samples: (await decodeAudioFileNode(join(dataDir, 'audio', r.file), sr)).samples, label: r.target });
    }
    for (let k = 0; k < nDrums && k < (limit || nDrums); k++) {
      const { samples } = renderDrumLoop(seed * 100_000 + 50_000 + k, cfg.windowSamples / sr, sr);
      clips.push({ name: `drum loop ${k}`, samples, label: -1 });
    }
    log(`bench:sanity — ${m.name}, ${clips.length} clips, ${steps.length - 1} randomization steps (${steps.slice(1).map((s) => s.block).join(' → ')})`);

    // explanations per step
    type Expl = { lmac: Float32Array | null; pert: Float32Array; bins: number; frames: number; top: number };
    const ref: Expl[] = [];
    const perStep: { step: number; block: string; parameters: number; ssimLmac: MeanCI; ssimPert: MeanCI; topAgreement: number; accuracy: number; lmacMean: number }[] = [];
    const perClip: Record<string, { lmac: number[]; pert: number[] }> = {};
    for (const st of steps) {
      const bytes = st.step === 0 ? files.classifier : new Uint8Array(readFileSync(join(tmp, st.file)));
      const model = await createNodeModel({ ...files, classifier: bytes }, 'ort-node');
      const runner = model.runner;
      const sl: number[] = [];
      const sp: number[] = [];
      let agree = 0;
      let correct = 0;
      let lmacMean = 0;
      for (const [ci, c] of clips.entries()) {
        const state = await analyze(c.samples, cfg, runner, { batchSize: 4 });
        const top = argmax(state.probs);
        if (st.step === 0) ref[ci] = { lmac: null, pert: new Float32Array(), bins: state.spec.bins, frames: state.spec.frames, top };
        const target = ref[ci].top;
        agree += top === target ? 1 : 0;
        correct += top === c.label ? 1 : 0;
        let lmac: Float32Array | null = null;
        if (runner.hasDecoder) {
          state.lastSoft = null;
          lmac = await stitchedMask(state, runner, target, { batchSize: 4 });
          let s = 0;
          for (const v of lmac) s += v;
          lmacMean += s / lmac.length / clips.length;
        }
        const pr = await perturbationExplain(state, runner, target, { samples: nPert, seed: seed * 7919 + ci, batchSize: 16 });
        const pert = importanceToLevels(pr.importance);
        if (st.step === 0) {
          ref[ci].lmac = lmac;
          ref[ci].pert = pert;
        }
        const r = ref[ci];
        const a = lmac && r.lmac ? ssim(r.lmac, lmac, r.frames, r.bins, { dataRange: 1 }) : NaN;
        const b = ssim(r.pert, pert, pert.length, 1, { dataRange: 1 });
        sl.push(a);
        sp.push(b);
        (perClip[c.name] ??= { lmac: [], pert: [] }).lmac.push(a);
        perClip[c.name].pert.push(b);
        log(`  step ${st.step} (${st.block}) ${c.name}: top ${m.labels[top]}, SSIM L-MAC ${a.toFixed(3)}, perturbation ${b.toFixed(3)}`);
      }
      await model.release();
      perStep.push({
        step: st.step,
        block: st.block,
        parameters: st.parameters,
        ssimLmac: bootstrapMean(sl, 1000, seed),
        ssimPert: bootstrapMean(sp, 1000, seed + 1),
        topAgreement: agree / clips.length,
        accuracy: clips.some((c) => c.label >= 0) ? correct / clips.length : NaN,
        lmacMean,
      });
    }
    const wallS = (performance.now() - t0) / 1000;

    // report
    const f3 = (v: MeanCI) => (Number.isFinite(v.mean) ? `${v.mean.toFixed(3)} [${v.lo.toFixed(3)}, ${v.hi.toFixed(3)}]` : '–');
    const cmd = `npm run bench:sanity -- ${process.argv.slice(2).join(' ')}`;
    const L: string[] = [];
    L.push(`# Sanity check: cascading randomization — ${m.name}\n`);
    L.push(`Command: \`${cmd}\` (${clips.length} clips, ${wallS.toFixed(0)} s wall).\n`);
    L.push(
      `Step k = the top k blocks of the classifier replaced by Gaussian weights with each tensor's own mean and std (models/train/randomize_onnx.py, seed ${seed}); ` +
        `the decoder is kept. Target = the original model's top class. SSIM (7×7 window, data range 1) between the original and the randomized explanation: ` +
        `L-MAC mask image, perturbation (ridge, ${nPert} masks) time-mask levels per 100 ms segment. Mean over clips [95 % bootstrap CI]. ` +
        `"top = original" = the share of clips whose top class is still the original one.\n`,
    );
    L.push('| step | randomized down to | parameters randomized (this block) | SSIM L-MAC | SSIM perturbation | top = original | accuracy | L-MAC mask mean |');
    L.push('|---|---|---|---|---|---|---|---|');
    for (const s of perStep)
      L.push(
        `| ${s.step} | ${s.block} | ${s.parameters || '–'} | ${f3(s.ssimLmac)} | ${f3(s.ssimPert)} | ${(100 * s.topAgreement).toFixed(0)} % | ${Number.isFinite(s.accuracy) ? (100 * s.accuracy).toFixed(0) + ' %' : '–'} | ${Number.isFinite(s.lmacMean) && s.lmacMean ? s.lmacMean.toFixed(3) : '–'} |`,
      );
    L.push('');
    const outDir = resolve(args.out!);
    await mkdir(outDir, { recursive: true });
    const svg = lineChartSvg(
      `Cascading randomization — ${m.name}`,
      perStep.map((s) => (s.step === 0 ? 'orig.' : s.block)),
      [
        ...(perStep[0].ssimLmac.n ? [{ name: 'L-MAC', values: perStep.map((s) => s.ssimLmac.mean), lo: perStep.map((s) => s.ssimLmac.lo), hi: perStep.map((s) => s.ssimLmac.hi) }] : []),
        { name: 'perturbation', values: perStep.map((s) => s.ssimPert.mean), lo: perStep.map((s) => s.ssimPert.lo), hi: perStep.map((s) => s.ssimPert.hi) },
      ],
      { xLabel: 'randomized from the top down to', yLabel: 'SSIM with the original explanation', yMin: Math.min(0, ...perStep.map((s) => s.ssimPert.lo), ...perStep.map((s) => s.ssimLmac.lo).filter(Number.isFinite)), yMax: 1 },
    );
    await writeFile(join(outDir, 'sanity.svg'), svg);
    let png = 'sanity.svg';
    try {
      execFileSync('rsvg-convert', ['-o', join(outDir, 'sanity.png'), join(outDir, 'sanity.svg')]);
      png = 'sanity.png';
    } catch {
      log('  (rsvg-convert not available: sanity.svg only; apt-get install librsvg2-bin)');
    }
    L.push(`Plot: \`${png}\` (SVG generated in TypeScript, PNG by rsvg-convert).\n`);
    const md = L.join('\n');
    await writeFile(join(outDir, 'sanity.md'), md);
    await writeFile(join(outDir, 'sanity.json'), JSON.stringify({ bundle: m.name, command: cmd, clips: clips.map((c) => c.name), steps: perStep, blocks: blocks.steps, perClip, wallS }, null, 1) + '\n');
    log(`wrote ${join(outDir, 'sanity.md')}, sanity.json, ${png}`);
    if (!args.quiet) console.log(md);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

main().catch((e: unknown) => {
  console.error(`bench:sanity: ${e instanceof Error ? e.stack ?? e.message : String(e)}`);
  process.exit(1);
});
