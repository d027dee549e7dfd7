/**
 * Node benchmark of the core pipeline on a real bundle (default models/esc50), per window:
 * STFT(+|X|), classifier, decoder, stitch/threshold, 2×ISTFT, and end-to-end analyze + explain;
 * with onnxruntime-node (native CPU) and onnxruntime-web (its Node build, WASM); for a bundle with
 * an LMAC-TD time decoder also its explanation per window (time decoder, stitch, overlay); then one
 * 10-minute file end to end. Prints medians of measured runs (after warm-up).
 *
 *   npm run bench:node                 options: --iters N (default 20)  --no-long  --threads T  --bundle B
 * Clip: for esc50 bundles an ESC-50 fold-4 clip from ../shared/data/esc50 when present, for drums a
 * drum loop from src/core/drumSynth.ts, else a synthesised one.
 */
import { existsSync, readdirSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { analyze, explain, pipelineConfig } from '../src/core/explain';
import { timeDomainExplain } from '../src/core/lmactd';
import { istft, magnitude, stft } from '../src/core/stft';
import { decodeAudioFileNode } from '../src/node/audioNode';
import { createNodeModel, loadBundleDir, type NodeBackend } from '../src/node/ortNode';
import { hasDrumLabels, renderDrumLoop } from '../src/core/drumSynth';
import { numberArg, parseCli } from './cli';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const USAGE = `
npm run bench:node -- [options]    core pipeline per window, onnxruntime-node vs onnxruntime-web (WASM) in Node
  --bundle B     a bundle folder under models/ (e.g. drums) or a path to one (default esc50)
  --iters N      measured runs after 3 warm-up (default 20)
  --threads T    ORT threads (default min(4, cores))
  --no-long      skip the 10-minute file
  --help         this text`;
const args = parseCli(USAGE, { iters: { type: 'string' }, threads: { type: 'string' }, 'no-long': { type: 'boolean' }, bundle: { type: 'string' } });
const BUNDLE = typeof args.bundle === 'string' ? args.bundle : 'esc50';
const ITERS = numberArg('iters', args.iters, 20);
const THREADS = numberArg('threads', args.threads, Math.min(4, availableParallelism()));
const LONG = !args['no-long'];

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const fmt = (ms: number) => (ms >= 100 ? ms.toFixed(0) : ms.toFixed(1)).padStart(7);

async function time<T>(fn: () => Promise<T> | T): Promise<[number, T]> {
  const t = performance.now();
  const r = await fn();
  return [performance.now() - t, r];
}

function synth(n: number, sr: number): Float32Array {
  const x = new Float32Array(n);
  let s = 12345;
  for (let i = 0; i < n; i++) {
    s = (s * 16807) % 2147483647;
    const env = 0.5 + 0.5 * Math.sin((2 * Math.PI * i) / sr);
    x[i] = 0.3 * env * Math.sin((2 * Math.PI * (600 + 400 * Math.sin(i / sr)) * i) / sr) + 0.05 * (s / 2147483647 - 0.5);
  }
  return x;
}

async function main() {
  const dir = existsSync(join(ROOT, 'models', BUNDLE, 'manifest.json')) ? join(ROOT, 'models', BUNDLE) : resolve(BUNDLE);
  const files = await loadBundleDir(dir);
  const m = files.manifest;
  const cfg = pipelineConfig(m);
  const sr = cfg.sampleRate;
  const esc = resolve(ROOT, '..', 'shared', 'data', 'esc50', 'audio');
  let clip: Float32Array;
  let clipName: string;
  const drums = hasDrumLabels(m.labels);
  const flac = !drums && m.sampleRate === 44100 && existsSync(esc) ? readdirSync(esc).filter((f) => /^4-.*\.flac$/.test(f)).sort()[0] : undefined;
  if (flac) {
    clip = (await decodeAudioFileNode(join(esc, flac), sr)).samples;
    clipName = flac;
  } else if (drums) {
    clip = renderDrumLoop(1, m.windowSamples / sr, sr).samples;
    clipName = 'drum loop (drumSynth seed 1)';
  } else {
    clip = synth(m.windowSamples, sr);
    clipName = 'synthesised';
  }
  console.log(`bundle ${m.name}: ${m.windowSamples / sr} s windows @ ${sr} Hz, ${m.freqBins}×${m.windowFrames}; clip ${clipName}`);
  console.log(`node ${process.version}, ${availableParallelism()} CPUs, threads ${THREADS}, ${ITERS} iterations after 3 warm-up\n`);

  // DSP alone (no model)
  const sp = cfg.stft;
  const dsp = { stft: [] as number[], istft2: [] as number[] };
  for (let i = 0; i < ITERS + 3; i++) {
    const [ts, spec] = await time(() => {
      const s = stft(clip, sp);
      magnitude(s);
      return s;
    });
    const mask = new Float32Array(spec.re.length).fill(0.5);
    const [ti] = await time(() => {
      istft(spec, sp, clip.length, { mask });
      istft(spec, sp, clip.length, { mask, invert: true });
    });
    if (i >= 3) {
      dsp.stft.push(ts);
      dsp.istft2.push(ti);
    }
  }
  console.log(`DSP per ${m.windowSamples / sr} s window (fft.js): STFT+|X| ${fmt(median(dsp.stft))} ms   2×ISTFT ${fmt(median(dsp.istft2))} ms\n`);

  const rows: string[] = [];
  const header = 'backend      |    stft | classif | decoder |  stitch | 2×istft | analyze | explain |   total';
  const longRows: string[] = [];
  const tdRows: string[] = [];
  const totals: Record<string, number> = {};
  for (const backend of ['ort-node', 'ort-web'] as NodeBackend[]) {
    const model = await createNodeModel(files, backend, { threads: THREADS });
    const k: Record<string, number[]> = { stft: [], classifier: [], decoder: [], stitch: [], istft: [], analyze: [], explain: [], total: [] };
    for (let i = 0; i < ITERS + 3; i++) {
      const [ta, st] = await time(() => analyze(clip, cfg, model.runner));
      let top = 0;
      for (let c = 1; c < cfg.classes; c++) if (st.probs[c] > st.probs[top]) top = c;
      const [te, ex] = await time(() => explain(st, model.runner, top, null));
      if (i < 3) continue;
      k.stft.push(st.timings.stft);
      k.classifier.push(st.timings.classifier);
      k.decoder.push(ex.timings.decoder);
      k.stitch.push(ex.timings.stitch + ex.timings.threshold);
      k.istft.push(ex.timings.istft);
      k.analyze.push(ta);
      k.explain.push(te);
      k.total.push(ta + te);
    }
    totals[backend] = median(k.total);
    if (model.runner.hasTimeDecoder) {
      const st = await analyze(clip, cfg, model.runner);
      let top = 0;
      for (let c = 1; c < cfg.classes; c++) if (st.probs[c] > st.probs[top]) top = c;
      const t: Record<string, number[]> = { timeDecoder: [], stitch: [], ratio: [], total: [] };
      for (let i = 0; i < ITERS + 3; i++) {
        const r = await timeDomainExplain(st, model.runner, top);
        if (i < 3) continue;
        for (const key of Object.keys(t)) t[key].push(r.timings[key]);
      }
      tdRows.push(`${backend.padEnd(12)} | ${[t.timeDecoder, t.stitch, t.ratio, t.total].map((x) => fmt(median(x))).join(' | ')}`);
    }
    rows.push(
      `${backend.padEnd(12)} | ${[k.stft, k.classifier, k.decoder, k.stitch, k.istft, k.analyze, k.explain, k.total].map((x) => fmt(median(x))).join(' | ')}`,
    );
    if (LONG) {
      const long = synth(sr * 600, sr);
      const [ta, st] = await time(() => analyze(long, cfg, model.runner, { batchSize: 4 }));
      const [te, ex] = await time(() => explain(st, model.runner, 0, null));
      const [tt] = await time(() => explain(st, model.runner, 1, 0.5));
      longRows.push(
        `${backend.padEnd(12)} | windows ${st.plan.starts.length} | analyze ${(ta / 1000).toFixed(2)} s (stft ${(st.timings.stft / 1000).toFixed(2)}, classifier ${(st.timings.classifier / 1000).toFixed(2)}) | explain ${(te / 1000).toFixed(2)} s (decoder ${(ex.timings.decoder / 1000).toFixed(2)}, istft ${(ex.timings.istft / 1000).toFixed(2)}) | total ${((ta + te) / 1000).toFixed(2)} s | new target+threshold ${(tt / 1000).toFixed(2)} s`,
      );
    }
    await model.release();
  }
  console.log(`Per ${m.windowSamples / sr} s window, medians in ms (analyze = STFT + classifier + softmax; explain = decoder + stitch + 2×ISTFT)`);
  console.log(header);
  for (const r of rows) console.log(r);
  console.log(`\nort-web (WASM) / ort-node (native) total: ${(totals['ort-web'] / totals['ort-node']).toFixed(2)}×`);
  if (tdRows.length) {
    console.log(`\nLMAC-TD per ${m.windowSamples / sr} s window (cached hidden outputs), medians in ms (overlay = |STFT(explanation)| / |X|)`);
    console.log('backend      | time decoder |  stitch | overlay |   total');
    for (const r of tdRows) console.log(r.replace(/^(.{12} \| )(.{7})/, (_, a, b) => `${a}${b.padStart(12)}`));
  }
  if (LONG) {
    console.log('\n10-minute file (synthesised), end to end:');
    for (const r of longRows) console.log(r);
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
