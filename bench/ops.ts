/**
 * Where the WASM/native gap comes from: ONNX Runtime's own per-operator profile of the bundle's
 * classifier and decoder (batch 1, one 5 s window), onnxruntime-node (native CPU kernels) against
 * onnxruntime-web's WASM build in Node, both with 2 threads. Prints time per operator type and the
 * convolutions' throughput (GFLOP/s from the convolution shapes in the profile).
 *
 *   npm run bench:ops            options: --iters N (default 20)  --bundle models/esc50
 * Profiling adds a little time to every operator on both sides; use `npm run bench:node` for
 * plain run times.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { InferenceSession, Tensor } from 'onnxruntime-common';
import { loadBundleDir } from '../src/node/ortNode';
import { numberArg, parseCli } from './cli';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const USAGE = `
npm run bench:ops -- [options]    ONNX Runtime per-operator profile, native vs WASM (2 threads, batch 1)
  --iters N        profiled runs after 5 warm-up (default 20)
  --bundle DIR     bundle folder (default models/esc50)
  --help           this text
(--wasm-child NAME and --dims JSON are used internally for the WASM child process)`;
const args = parseCli(USAGE, { iters: { type: 'string' }, bundle: { type: 'string' }, 'wasm-child': { type: 'string' }, dims: { type: 'string' } });
const arg = (name: 'iters' | 'bundle' | 'wasm-child' | 'dims', d: string) => args[name] ?? d;
const ITERS = numberArg('iters', args.iters, 20);
const BUNDLE = resolve(ROOT, arg('bundle', 'models/esc50'));
const THREADS = 2;
const WARM = 5;

interface ProfileEvent {
  cat: string;
  name: string;
  dur: number;
  args?: { op_name?: string; input_type_shape?: Record<string, number[]>[]; output_type_shape?: Record<string, number[]>[] };
}
interface OrtModule {
  Tensor: new (type: string, data: unknown, dims: number[]) => Tensor;
  InferenceSession: { create(m: Uint8Array, o: InferenceSession.SessionOptions): Promise<InferenceSession & { endProfiling(): void }> };
  env: { wasm: { numThreads?: number } };
}

const shapeOf = (s: Record<string, number[]> | undefined) => (s ? Object.values(s)[0] : []);
const prod = (xs: number[]) => xs.reduce((a, b) => a * b, 1);

/** FLOPs of a (Fused)Conv event: 2 · output elements · (Cin/groups · kh · kw), read from its shapes. */
function convFlops(e: ProfileEvent): number {
  const w = shapeOf(e.args?.input_type_shape?.[1]);
  const out = shapeOf(e.args?.output_type_shape?.[0]);
  if (w.length < 3 || !out.length) return 0;
  return 2 * prod(out) * prod(w.slice(1));
}

/** Per operator type: mean µs per run; plus conv FLOPs per run and the mean model_run µs. */
function summarise(events: ProfileEvent[], runs: number) {
  const byType = new Map<string, number>();
  let convUs = 0;
  let flops = 0;
  let modelRun = 0;
  for (const e of events) {
    if (e.cat === 'Session' && e.name === 'model_run') modelRun += e.dur;
    if (e.cat !== 'Node' || !e.name.endsWith('_kernel_time')) continue;
    const op = e.args?.op_name ?? '?';
    byType.set(op, (byType.get(op) ?? 0) + e.dur);
    if (/Conv$/.test(op)) {
      convUs += e.dur;
      flops += convFlops(e);
    }
  }
  for (const [k, v] of byType) byType.set(k, v / runs);
  return { byType, convUs: convUs / runs, convFlops: flops / runs, modelRunUs: modelRun / runs };
}

function randomFeeds(ort: OrtModule, session: InferenceSession, dims: Record<string, number[]>): Record<string, Tensor> {
  const feeds: Record<string, Tensor> = {};
  let seed = 7;
  for (const name of session.inputNames) {
    if (name === 'target') {
      feeds[name] = new ort.Tensor('int64', BigInt64Array.from([3n]), [1]);
      continue;
    }
    const d = dims[name];
    if (!d) throw new Error(`bench:ops: no shape for input ${name}`);
    const a = new Float32Array(prod(d));
    for (let i = 0; i < a.length; i++) {
      seed = (seed * 16807) % 2147483647;
      a[i] = seed / 2147483647;
    }
    feeds[name] = new ort.Tensor('float32', a, d);
  }
  return feeds;
}

/** The profile's events after the WARM warm-up runs (those of the measured runs). */
function measuredRuns(all: ProfileEvent[]): ProfileEvent[] {
  let seen = 0;
  const cut = all.findIndex((e) => e.cat === 'Session' && e.name === 'model_run' && ++seen === WARM);
  return all.slice(cut + 1);
}

/** Create a profiled session, run it WARM + ITERS times on random inputs, and end profiling. */
async function runProfiled(ort: OrtModule, model: Uint8Array, so: InferenceSession.SessionOptions, dims: Record<string, number[]>) {
  const s = await ort.InferenceSession.create(model, so);
  const feeds = randomFeeds(ort, s, dims);
  for (let i = 0; i < WARM + ITERS; i++) await s.run(feeds);
  s.endProfiling();
  await s.release();
}

/** onnxruntime-node: the profile goes to a file under a temporary directory. */
async function profileNative(model: Uint8Array, dims: Record<string, number[]>): Promise<ProfileEvent[]> {
  const dir = mkdtempSync(join(tmpdir(), 'lmac-ops-'));
  try {
    const ort = (await import('onnxruntime-node')) as unknown as OrtModule;
    await runProfiled(ort, model, {
      executionProviders: ['cpu'],
      intraOpNumThreads: THREADS,
      interOpNumThreads: 1,
      enableProfiling: true,
      profileFilePrefix: join(dir, 'native'),
      extra: { session: { intra_op: { allow_spinning: '0' } } },
    }, dims);
    const f = readdirSync(dir).find((x) => x.startsWith('native'));
    if (!f) throw new Error('bench:ops: onnxruntime-node wrote no profile');
    return measuredRuns(JSON.parse(readFileSync(join(dir, f), 'utf8')) as ProfileEvent[]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * onnxruntime-web (WASM): its build prints the profile on its own stdout when profiling ends, so
 * it runs in a child process of this script (`--wasm-child`) and the parent reads the JSON there.
 */
function profileWasm(which: string, dims: Record<string, number[]>): ProfileEvent[] {
  const r = spawnSync(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), '--wasm-child', which, '--dims', JSON.stringify(dims), '--iters', String(ITERS), '--bundle', BUNDLE], {
    encoding: 'utf8',
    maxBuffer: 1 << 28,
  });
  if (r.status !== 0) throw new Error(`bench:ops: the WASM child failed: ${r.stderr}`);
  const text = r.stdout.slice(r.stdout.indexOf('['), r.stdout.lastIndexOf(']') + 1);
  return measuredRuns(JSON.parse(text) as ProfileEvent[]);
}

async function wasmChild(which: string) {
  const files = await loadBundleDir(BUNDLE);
  const model = which === 'decoder' ? files.decoder : which === 'timeDecoder' ? files.timeDecoder : files.classifier;
  if (!model) throw new Error(`bench:ops: the bundle has no ${which}`);
  const ort = (await import('onnxruntime-web')) as unknown as OrtModule;
  ort.env.wasm.numThreads = THREADS;
  await runProfiled(ort, model, { executionProviders: ['wasm'], enableProfiling: true }, JSON.parse(arg('dims', '{}')));
}

async function main() {
  const files = await loadBundleDir(BUNDLE);
  const m = files.manifest;
  const frames = m.windowFrames;
  const bins = m.freqBins;
  console.log(`bundle ${m.name}, batch 1 (${bins}×${frames}), ${THREADS} threads, ${ITERS} profiled runs after 5 warm-up\n`);
  const hidden: Record<string, number[]> = { magnitude: [1, bins, frames] };
  if (m.timeDecoder) hidden[m.timeDecoder.waveform] = [1, m.windowSamples];
  // hidden output shapes come from one classifier run
  {
    const ort = (await import('onnxruntime-node')) as unknown as OrtModule;
    const s = await ort.InferenceSession.create(files.classifier, { executionProviders: ['cpu'] });
    const out = await s.run(randomFeeds(ort, s, hidden));
    for (const [k, t] of Object.entries(out)) if (/^h\d+$/.test(k)) hidden[k] = [...t.dims];
    await s.release();
  }
  const models: [string, Uint8Array | null][] = [
    ['classifier', files.classifier],
    ['decoder', files.decoder ?? null],
    ['timeDecoder', files.timeDecoder ?? null],
  ];
  for (const [name, bytes] of models) {
    if (!bytes) continue;
    const nat = summarise(await profileNative(bytes, hidden), ITERS);
    const wasm = summarise(profileWasm(name, hidden), ITERS);
    console.log(`${name}: model_run native ${(nat.modelRunUs / 1000).toFixed(2)} ms, WASM ${(wasm.modelRunUs / 1000).toFixed(2)} ms (×${(wasm.modelRunUs / nat.modelRunUs).toFixed(1)})`);
    const gf = (f: number, us: number) => (us > 0 ? (f / (us * 1e3)).toFixed(1) : '-');
    // native fuses Conv+Relu into NCHWc convolutions whose shapes are padded: count FLOPs from the WASM profile
    console.log(
      `  convolutions: ${(wasm.convFlops / 1e6).toFixed(0)} MFLOP; native ${(nat.convUs / 1000).toFixed(2)} ms (${gf(wasm.convFlops, nat.convUs)} GFLOP/s), ` +
        `WASM ${(wasm.convUs / 1000).toFixed(2)} ms (${gf(wasm.convFlops, wasm.convUs)} GFLOP/s), ×${(wasm.convUs / nat.convUs).toFixed(1)}`,
    );
    const types = [...new Set([...nat.byType.keys(), ...wasm.byType.keys()])].sort((a, b) => (wasm.byType.get(b) ?? 0) - (wasm.byType.get(a) ?? 0));
    console.log(`  ${'operator'.padEnd(22)}${'native µs'.padStart(11)}${'WASM µs'.padStart(11)}`);
    for (const t of types.slice(0, 12)) {
      const a = nat.byType.get(t);
      const b = wasm.byType.get(t);
      console.log(`  ${t.padEnd(22)}${(a != null ? a.toFixed(0) : '-').padStart(11)}${(b != null ? b.toFixed(0) : '-').padStart(11)}`);
    }
    console.log('');
  }
}

(args['wasm-child'] !== undefined ? wasmChild(arg('wasm-child', 'classifier')) : main()).catch((e) => {
  console.error(e);
  process.exit(1);
});
