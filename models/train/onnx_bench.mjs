// Times the bundle's classifier and decoder per 5 s window (batch 1) with onnxruntime-node
// (and the text projector of a zero-shot bundle, per prompt).
// usage: node models/train/onnx_bench.mjs models/esc50 [runs]   -> JSON on stdout
import fs from 'node:fs';
import path from 'node:path';
import os from 'node:os';
import ort from 'onnxruntime-node';

const dir = process.argv[2] ?? 'models/esc50';
const runs = Number(process.argv[3] ?? 20);
const m = JSON.parse(fs.readFileSync(path.join(dir, 'manifest.json'), 'utf8'));
const F = m.stft.nFft / 2 + 1;
const T = Math.floor(m.windowSamples / m.stft.hopLength) + 1;
const opts = { intraOpNumThreads: os.cpus().length };
const cls = await ort.InferenceSession.create(path.join(dir, m.classifier.file), opts);
const dec = await ort.InferenceSession.create(path.join(dir, m.decoder.file), opts);
const mag = new Float32Array(F * T).map((_, i) => Math.abs(Math.sin(i * 0.37)) * 0.5);
const dim = m.textEncoder?.dim ?? 0;
const unit = new Float32Array(dim).fill(1 / Math.sqrt(Math.max(dim, 1)));
const median = (a) => a.slice().sort((x, y) => x - y)[Math.floor(a.length / 2)];
const tc = [], td = [];
for (let i = 0; i < runs + 3; i++) {
  let t0 = performance.now();
  const out = await cls.run({ [m.classifier.input]: new ort.Tensor('float32', mag, [1, F, T]) });
  const t1 = performance.now();
  const feeds = m.decoder.text
    ? { [m.decoder.text]: new ort.Tensor('float32', unit, [1, unit.length]) }
    : { [m.decoder.target]: new ort.Tensor('int64', BigInt64Array.from([0n]), [1]) };
  m.decoder.hidden.forEach((name, k) => { feeds[name] = out[m.classifier.hidden[k]]; });
  await dec.run(feeds);
  const t2 = performance.now();
  if (i >= 3) { tc.push(t1 - t0); td.push(t2 - t1); }
}
let textMs;
if (m.textEncoder) {
  const te = m.textEncoder;
  const proj = await ort.InferenceSession.create(path.join(dir, te.projector.file), opts);
  const pooled = new Float32Array(te.vocabulary.vectorDim).map((_, i) => Math.sin(i));
  const tt = [];
  for (let i = 0; i < runs + 3; i++) {
    const t0 = performance.now();
    await proj.run({ [te.projector.input]: new ort.Tensor('float32', pooled, [1, pooled.length]) });
    if (i >= 3) tt.push(performance.now() - t0);
  }
  textMs = median(tt);
}
console.log(JSON.stringify({ classifierMs: median(tc), decoderMs: median(td), ...(textMs !== undefined ? { textMs } : {}), runs, threads: opts.intraOpNumThreads,
  cpu: os.cpus()[0].model, cores: os.cpus().length }));
