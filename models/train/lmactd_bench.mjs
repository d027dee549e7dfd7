// Times the LMAC-TD time decoder per 5 s window (batch 1) in Node: onnxruntime-web (WASM, the
// browser's backend; 1 thread and the default thread count) and onnxruntime-node (native CPU).
// usage: node models/train/lmactd_bench.mjs [models/esc50/time_decoder.onnx] [runs]  -> JSON on stdout
import fs from 'node:fs';
import os from 'node:os';

const file = process.argv[2] ?? 'models/esc50/time_decoder.onnx';
const runs = Number(process.argv[3] ?? 10);
const bytes = new Uint8Array(fs.readFileSync(file));
const L = 80000;
const wave = new Float32Array(L).map((_, i) => 0.3 * Math.sin(i * 0.05) + 0.05 * Math.sin(i * 1.3));
const h3 = new Float32Array(96 * 8 * 39).map((_, i) => Math.abs(Math.sin(i * 0.11)));
const h4 = new Float32Array(192 * 4 * 19).map((_, i) => Math.abs(Math.sin(i * 0.17)));
const median = (a) => a.slice().sort((x, y) => x - y)[Math.floor(a.length / 2)];

async function time(ort, opts) {
  const s = await ort.InferenceSession.create(bytes, opts);
  const feeds = () => ({
    waveform: new ort.Tensor('float32', wave, [1, L]),
    h3: new ort.Tensor('float32', h3, [1, 96, 8, 39]),
    h4: new ort.Tensor('float32', h4, [1, 192, 4, 19]),
    target: new ort.Tensor('int64', BigInt64Array.from([0n]), [1]),
  });
  const t = [];
  for (let i = 0; i < runs + 2; i++) {
    const t0 = performance.now();
    await s.run(feeds());
    if (i >= 2) t.push(performance.now() - t0);
  }
  await s.release();
  return { medianMs: +median(t).toFixed(1), minMs: +Math.min(...t).toFixed(1) };
}

const out = { file, bytes: bytes.length, runs, cpu: os.cpus()[0].model, cores: os.cpus().length, loadavg: os.loadavg().map((v) => +v.toFixed(2)) };
const web = (await import('onnxruntime-web')).default;
web.env.wasm.numThreads = 1;
out.ortWebWasm1Thread = await time(web, { executionProviders: ['wasm'] });
const node = (await import('onnxruntime-node')).default;
out.ortNode1Thread = await time(node, { executionProviders: ['cpu'], intraOpNumThreads: 1 });
out.ortNodeAllCores = await time(node, { executionProviders: ['cpu'], intraOpNumThreads: os.cpus().length });
console.log(JSON.stringify(out));
