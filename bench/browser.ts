/**
 * Browser benchmark: the production build in headless Chromium (Debian's /usr/bin/chromium),
 * WASM backend, real bundle. Per 5 s clip: decode, STFT, classifier, decoder, ISTFTs, total —
 * the pipeline's own stage timings (`Analysis.timings`, `Explanation.timings`) read from the
 * app's store, plus the wall time from drop to explanation. Then, for a bundle with an LMAC-TD time
 * decoder, the same clips explained by LMAC-TD (its per-stage timings: time decoder, stitch,
 * overlay ratio, metrics). Then one 10-minute file. For a latent bundle (manifest `latent`, e.g.
 * --bundle esc50-latent) instead: per clip, the latent explainer's explanation timings (the
 * app's 'latent' explainer, read from the latent panel: attribution by gradient × input and by
 * occlusion, synthesis, stitch, overlay ratio, metrics on the re-encoded audio, total, roundTrip),
 * and a β change (no attribution).
 *
 *   npm run bench:browser            (builds first unless --no-build)
 *   options: --clips N (default 10)  --no-long  --no-build  --port P  --prompts (typed prompts on models/esc50-zs)
 *            --bundle ID (a bundle of the model picker, e.g. drums; default the app's default)
 *            --hour [--minutes M] (a generated M-minute MP3, default 60: classes, the part on screen,
 *            the whole file, another class; peak PSS of all Chromium processes)  --dist DIR
 * Clips: ESC-50 fold-4 from ../shared/data/esc50/audio when present, else synthesised; drum loops
 * (src/core/drumSynth.ts) for the drums bundle.
 */
import { chromium, type Page } from '@playwright/test';
import { spawn, execSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { encodeWav } from '../src/core/wav';
import { siren, toneAndNoise, knocks, mixedLong } from '../src/ui/examples';
import { hasDrumLabels, renderDrumLoop } from '../src/core/drumSynth';
import { BUNDLES } from '../src/bundles';
import { numberArg, parseCli } from './cli';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const ESC50 = resolve(ROOT, '../shared/data/esc50/audio');
const USAGE = `
npm run bench -- [options]     headless Chromium (WASM) timings of the production build, per 5 s clip and one 10-minute file
  --clips N      clips to time (default 10; ESC-50 fold 4 when ../shared/data/esc50 is present, else synthesised)
  --no-long      skip the 10-minute file
  --no-lmactd    skip the LMAC-TD timings (run by default when the bundle has a timeDecoder)
  --no-build     reuse dist/ (default: vite build first)
  --port P       preview server port (default 4312)
  --prompts      also time typed prompts on models/esc50-zs
  --bundle ID    time this bundle of the model picker (${BUNDLES.map((b) => b.id).join(', ')}; default ${BUNDLES[0].id});
                 a latent bundle (esc50-latent) times its latent explainer per 5 s window (gradient × input and
                 occlusion attribution, synthesis, class evidence, a β change) instead of L-MAC and the long file
  --hour         also a generated long MP3 (sox or lame encode it; WAV when neither can): times to classes (provisional, final), to the
                 explanation of the part on screen and of the whole file, to another class (on screen / whole file),
                 and the peak PSS summed over the Chromium processes (/proc/<pid>/smaps_rollup); with the
                 environment variable BENCH_PSS_TRACE=1 also a line every 2 s with the PSS by process type and phase
  --minutes M    length of the --hour file (default 60)
  --first        also the first file after opening the page: --first-runs R fresh pages (default 3; ?backend=wasm),
                 --idle S seconds idle after the model is ready (default 5), then the first clip
  --dist DIR     serve this build folder (default dist; built there unless --no-build)
  --private      a private window (Playwright's new context) instead of a normal window of a fresh profile:
                 there the browser keeps the origin's files (OPFS) in memory, so a long file's WAV files cost memory
  --help         this text`;
const args = parseCli(USAGE, {
  clips: { type: 'string' },
  'no-long': { type: 'boolean' },
  'no-lmactd': { type: 'boolean' },
  'no-build': { type: 'boolean' },
  port: { type: 'string' },
  prompts: { type: 'boolean' },
  bundle: { type: 'string' },
  hour: { type: 'boolean' },
  minutes: { type: 'string' },
  dist: { type: 'string' },
  first: { type: 'boolean' },
  private: { type: 'boolean' },
  idle: { type: 'string' },
  'first-runs': { type: 'string' },
});
const BUNDLE = typeof args.bundle === 'string' ? args.bundle : BUNDLES[0].id;
if (!BUNDLES.some((b) => b.id === BUNDLE)) {
  console.error(`--bundle ${BUNDLE}: not a bundle of the app (${BUNDLES.map((b) => b.id).join(', ')})`);
  process.exit(2);
}
const MANIFEST = JSON.parse(readFileSync(join(ROOT, 'models', BUNDLE, 'manifest.json'), 'utf8')) as { name: string; labels: string[]; timeDecoder?: unknown; latent?: unknown; decoder?: unknown };
const opt = (name: 'no-long' | 'no-lmactd' | 'no-build' | 'prompts' | 'hour' | 'first' | 'private') => args[name] === true;
const MINUTES = numberArg('minutes', args.minutes, 60);
const DIST = typeof args.dist === 'string' ? args.dist : 'dist';
const N = numberArg('clips', args.clips, 10);
const PORT = numberArg('port', args.port, 4312);

interface Clip {
  name: string;
  buffer: Buffer;
  mimeType: string;
  /** Drop this file from disk instead of the buffer (Playwright caps buffers at 50 MB). */
  path?: string;
}

function clips(): Clip[] {
  if (hasDrumLabels(MANIFEST.labels)) {
    console.log(`(${BUNDLE} bundle: 5 s drum loops from src/core/drumSynth.ts, seeds 1…N, 16 kHz)`);
    return Array.from({ length: N }, (_, i) => ({
      name: `drum-loop-${i + 1}.wav`,
      buffer: Buffer.from(encodeWav(renderDrumLoop(i + 1, 5).samples, 16000, 'pcm16')),
      mimeType: 'audio/wav',
    }));
  }
  if (existsSync(ESC50)) {
    const files = readdirSync(ESC50).filter((f) => /^4-.*\.flac$/.test(f)).sort().slice(0, N);
    if (files.length) return files.map((f) => ({ name: f, buffer: readFileSync(join(ESC50, f)), mimeType: 'audio/flac' }));
  }
  console.log(`(ESC-50 fold 4 not found at ${ESC50}: using synthesised 5 s clips)`);
  const gens = [siren, toneAndNoise, knocks];
  return Array.from({ length: N }, (_, i) => ({
    name: `synth-${i}.wav`,
    buffer: Buffer.from(encodeWav(gens[i % 3](44100, 5), 44100, 'pcm16')),
    mimeType: 'audio/wav',
  }));
}

async function waitServer(url: string, ms = 30_000) {
  const t0 = Date.now();
  while (Date.now() - t0 < ms) {
    try {
      if ((await fetch(url)).ok) return;
    } catch {
      /* not yet */
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`server at ${url} did not start`);
}

type Timings = Record<string, number>;
/** What the app exposes on `window.__lmac` (src/main.tsx): its zustand UI store. */
interface AppHandle {
  __lmac: {
    ui: {
      getState(): { files: BenchFile[]; patchFile(id: string, patch: { prompt: string }): void; setExplainer(e: string): void };
      subscribe(l: (s: { files: BenchFile[] }) => void): () => void;
    };
  };
}
interface BenchFile {
  id: string;
  name: string;
  prompt?: string;
  status: string;
  error?: string;
  explaining?: boolean;
  analysis?: { timings: Timings };
  explanation?: { timings: Timings };
}
interface Run {
  analysis: Timings;
  explanation: Timings;
  wallMs: number;
  /** Drop → the explanation's audio and mask on screen (before its metrics arrive). */
  shownMs: number;
  /**
   * The same two times measured in the page from the moment the file reached the app (its entry in
   * the store, right in the drop handler). Playwright's drop() first copies the file into the page
   * over the DevTools protocol, which for a 53 MB WAV takes ~6 s that a user's drop does not.
   */
  inApp: { shownMs: number; wallMs: number };
}

/**
 * The first file after opening the page (issue 12): a fresh page per run (its own worker and
 * sessions), idle for --idle s once the model is ready (a user picking a file), then the clip.
 */
async function firstFileRuns(freshPage: () => Promise<{ page: Page; close: () => Promise<void> }>, url: string, clip: Clip): Promise<void> {
  const idleS = numberArg('idle', args.idle, 5);
  const R = numberArg('first-runs', args['first-runs'], 3);
  const rs: Run[] = [];
  for (let k = 0; k < R; k++) {
    const { page, close } = await freshPage();
    const t0 = Date.now();
    await page.goto(`${url}?backend=wasm`);
    await page.getByTestId('backend-in-use').filter({ hasText: /^WASM$/ }).waitFor({ timeout: 240_000 });
    const readyS = (Date.now() - t0) / 1000;
    await page.waitForTimeout(idleS * 1000);
    const r = await runFile(page, clip, 120_000);
    rs.push(r);
    console.log(`first file after opening the page (model ready ${readyS.toFixed(1)} s after goto, then ${idleS} s idle): in app file → audible ${r.inApp.shownMs.toFixed(0)} ms, + metrics ${r.inApp.wallMs.toFixed(0)} ms (classifier ${r.analysis.classifier?.toFixed(0)}, decoder ${r.explanation.decoder?.toFixed(0)}, metrics ${r.explanation.metrics?.toFixed(0)} ms)`);
    await close();
  }
  console.log(`  first file, median of ${rs.length}: file → audible ${median(rs.map((r) => r.inApp.shownMs)).toFixed(0)} ms, + metrics ${median(rs.map((r) => r.inApp.wallMs)).toFixed(0)} ms`);
}

async function runFile(page: Page, c: Clip, timeoutMs: number): Promise<Run> {
  // in-page clock: when the file's entry appears, when its explanation does, when its metrics do
  await page.evaluate((name) => {
    const w = window as unknown as AppHandle & { __bench: Record<string, number> };
    w.__bench = {};
    const un = w.__lmac.ui.subscribe((s) => {
      const f = [...s.files].reverse().find((x) => x.name === name);
      if (!f) return;
      const now = performance.now();
      w.__bench.added ??= now;
      if (f.explanation) w.__bench.shown ??= now;
      if (f.explanation && !f.explaining && f.status === 'ready') {
        w.__bench.done ??= now;
        un();
      }
    });
  }, c.name);
  const t0 = Date.now();
  await page.getByTestId('dropzone').drop({ files: c.path ?? { name: c.name, mimeType: c.mimeType, buffer: c.buffer } });
  await page.waitForFunction(
    (name) => {
      const f = [...(window as unknown as AppHandle).__lmac.ui.getState().files].reverse().find((x) => x.name === name);
      return !!f && (f.status === 'error' || (f.status === 'ready' && !!f.explanation));
    },
    c.name,
    { timeout: timeoutMs, polling: 20 },
  );
  const shownMs = Date.now() - t0;
  const handle = await page.waitForFunction(
    (name) => {
      const s = (window as unknown as AppHandle).__lmac.ui.getState();
      const f = [...s.files].reverse().find((x) => x.name === name);
      if (!f) return null;
      if (f.status === 'error') return { error: f.error ?? 'error' };
      if (f.status !== 'ready' || !f.explanation || f.explaining) return null;
      return { analysis: f.analysis!.timings, explanation: f.explanation.timings };
    },
    c.name,
    { timeout: timeoutMs, polling: 20 },
  );
  const r = (await handle.jsonValue()) as { error?: string; analysis: Timings; explanation: Timings };
  if (r.error) throw new Error(r.error);
  const wallMs = Date.now() - t0;
  const b = await page.evaluate(() => (window as unknown as { __bench: Record<string, number> }).__bench);
  const inApp = { shownMs: (b.shown ?? NaN) - (b.added ?? NaN), wallMs: (b.done ?? NaN) - (b.added ?? NaN) };
  return { analysis: r.analysis, explanation: r.explanation, wallMs, shownMs, inApp };
}

/** Typed-prompt updates on the zero-shot bundle: prompt set in the store (no debounce) → audible / similarities shown. */
async function runPrompts(page: Page, clip: Clip, prompts: string[]): Promise<{ prompt: string; shownMs: number; doneMs: number; timings: Timings }[]> {
  await page.getByTestId('bundle-select').selectOption('esc50-zs');
  await page.getByTestId('prompt-panel').waitFor({ timeout: 240_000 });
  await page.getByTestId('backend-in-use').filter({ hasText: /^WASM$/ }).waitFor({ timeout: 120_000 });
  await runFile(page, clip, 120_000);
  const out = [];
  for (const prompt of ['wind blowing', ...prompts]) {
    const r = await page.evaluate(
      ({ name, prompt }) =>
        new Promise<{ shownMs: number; doneMs: number; timings: Record<string, number> }>((resolve) => {
          const ui = (window as unknown as AppHandle).__lmac.ui;
          const f = [...ui.getState().files].reverse().find((x) => x.name === name)!;
          const t0 = performance.now();
          let shown = NaN;
          const un = ui.subscribe((s) => {
            const g = s.files.find((x) => x.id === f.id) as unknown as { explaining?: boolean; explanation?: { prompt?: { text: string }; timings: Record<string, number> } };
            if (g?.explanation?.prompt?.text !== prompt) return;
            if (Number.isNaN(shown)) shown = performance.now() - t0;
            if (!g.explaining) {
              un();
              resolve({ shownMs: shown, doneMs: performance.now() - t0, timings: g.explanation.timings });
            }
          });
          ui.getState().patchFile(f.id, { prompt });
        }),
      { name: clip.name, prompt },
    );
    out.push({ prompt, ...r });
  }
  return out.slice(1); // the first run warms the prompt path up
}

interface LatentRun {
  analysis: Timings;
  /** Explanation timings (ms) per step: 'gradxinput' / 'occlusion' (attribution + synthesis + metrics), 'beta' (a new β: no attribution). */
  steps: Record<string, Timings>;
}

/**
 * The latent explainer (latent bundles, issue 15) on one clip: drop, select it, then gradient × input, occlusion and a β
 * change, each to its explanation with metrics (the latent panel's data-* attributes echo the shown explanation).
 */
async function runLatent(page: Page, c: Clip, timeoutMs: number): Promise<LatentRun> {
  await page.getByTestId('dropzone').drop({ files: { name: c.name, mimeType: c.mimeType, buffer: c.buffer } });
  const item = page.locator(`[data-testid="file-item"][data-name="${c.name}"]`).last();
  await item.and(page.locator('[data-status="ready"], [data-status="error"]')).waitFor({ timeout: timeoutMs });
  if ((await item.getAttribute('data-status')) !== 'ready') throw new Error(`${c.name}: ${await item.locator('.file-error').textContent()}`);
  const { fileId, analysis } = await page.evaluate((name) => {
    const f = [...(window as unknown as AppHandle).__lmac.ui.getState().files].reverse().find((x) => x.name === name)!;
    return { fileId: f.id, analysis: f.analysis!.timings };
  }, c.name);
  await item.locator('.file-main').click();
  const panel = page.getByTestId('latent-panel');
  const result = page.getByTestId('latent-result');
  const steps: LatentRun['steps'] = {};
  /** Waits for this file's result with `method` (and `beta`), the panel idle; its worker timings. */
  const settle = async (method: string, beta: string, t0: number | null) => {
    await page.waitForFunction(
      ([id, m, b]) => {
        const r = document.querySelector('[data-testid="latent-result"]');
        const p = document.querySelector('[data-testid="latent-panel"]');
        return !!r && !!p && r.getAttribute('data-file') === id && r.getAttribute('data-method') === m && r.getAttribute('data-beta') === b && p.getAttribute('data-busy') === '0';
      },
      [fileId, method, beta],
      { timeout: timeoutMs, polling: 20 },
    );
    const t = JSON.parse((await result.getAttribute('data-timings')) ?? '{}') as Timings;
    return t0 == null ? t : { ...t, wallMs: Date.now() - t0 };
  };
  await panel.waitFor({ timeout: timeoutMs });
  // the panel keeps its method and β from the last clip: time that method first, then the other
  const first = (await page.getByTestId('latent-method').inputValue()) as 'gradxinput' | 'occlusion';
  const beta0 = (await page.getByTestId('latent-beta').textContent())!.trim();
  const betaAttr = (b: string) => String(Number(b));
  // (no wall time: the panel starts it when the file is selected, before this clock)
  steps[first] = await settle(first, betaAttr(beta0), null);
  const second = first === 'gradxinput' ? 'occlusion' : 'gradxinput';
  let t0 = Date.now();
  await page.getByTestId('latent-method').selectOption(second);
  steps[second] = await settle(second, betaAttr(beta0), t0);
  // a new β on the same window and method: the attribution is reused (synthesis + evidence only)
  const beta1 = Number(beta0) === 0.1 ? 0.3 : 0.1;
  t0 = Date.now();
  await page.getByTestId('latent-beta-slider').evaluate((el, value) => {
    const input = el as HTMLInputElement;
    Object.getOwnPropertyDescriptor(HTMLInputElement.prototype, 'value')!.set!.call(input, String(value));
    input.dispatchEvent(new Event('input', { bubbles: true }));
  }, beta1);
  steps.beta = await settle(second, String(beta1), t0);
  return { analysis, steps };
}

/** Per-clip latent timings and their medians. */
async function latentBench(page: Page, list: Clip[]): Promise<void> {
  console.log(`warm-up on ${list[0].name}`);
  await runLatent(page, { ...list[0], name: `warmup-${list[0].name}` }, 180_000);
  const runs: LatentRun[] = [];
  for (const c of list) {
    const r = await runLatent(page, c, 180_000);
    runs.push(r);
    console.log(
      `${c.name.padEnd(22)} ` +
        Object.entries(r.steps)
          .map(([k, t]) => `${k}: ${Object.entries(t).map(([n, v]) => `${n} ${v.toFixed(0)}`).join(' ')}`)
          .join(' | '),
    );
  }
  const load = (await import('node:os')).loadavg();
  console.log(`
Latent explainer, median over ${runs.length} clips of 5 s (one window each; worker ms; wallMs = UI change → result shown, incl. the panel's 120 ms debounce, for the switch to the second method and the β change), WASM, headless Chromium, bundle ${BUNDLE}:`);
  const row = (label: string, xs: number[]) => console.log(`  ${label.padEnd(34)} ${median(xs).toFixed(1).padStart(8)}`);
  for (const k of new Set(runs.flatMap((r) => Object.keys(r.analysis)))) row(`analysis.${k}`, runs.map((r) => r.analysis[k] ?? NaN));
  for (const step of ['gradxinput', 'occlusion', 'beta'])
    for (const k of new Set(runs.flatMap((r) => Object.keys(r.steps[step] ?? {})))) row(`${step}.${k}`, runs.map((r) => r.steps[step]?.[k] ?? NaN));
  console.log(`  (load average after: ${load.map((x) => x.toFixed(2)).join(' ')})`);
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? (s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2) : NaN;
}

async function main() {
  if (!opt('no-build')) {
    console.log('building…');
    execSync(`npx vite build --logLevel warn --outDir ${DIST}`, { cwd: ROOT, stdio: 'inherit' });
  }
  const server: ChildProcess = spawn('npx', ['vite', 'preview', '--port', String(PORT), '--strictPort', '--outDir', DIST], { cwd: ROOT, stdio: 'ignore', detached: true });
  const stop = () => {
    try {
      if (server.pid) process.kill(-server.pid);
    } catch {
      /* already gone */
    }
  };
  process.on('exit', stop);
  const url = `http://localhost:${PORT}/`;
  await waitServer(url);
  const launch = { executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium', args: ['--autoplay-policy=no-user-gesture-required'] };
  // a normal window of a fresh profile, as a new user's browser (its origin files are on disk),
  // or with --private a private one (Playwright's new context)
  const profile = opt('private') ? null : mkdtempSync(join(tmpdir(), 'lmac-bench-profile-'));
  const browser = profile ? null : await chromium.launch(launch);
  const ctx = profile ? await chromium.launchPersistentContext(profile, launch) : await browser!.newContext();
  console.log(profile ? `normal window, fresh profile ${profile}` : 'private window (--private)');
  const freshPage = async () => {
    const c = browser ? await browser.newContext() : ctx;
    const page = await c.newPage();
    return { page, close: () => (browser ? c.close() : page.close()) };
  };
  try {
    const page = await ctx.newPage();
    await page.goto(url);
    await page.getByTestId('backend-select').selectOption('wasm');
    await page.getByTestId('backend-in-use').filter({ hasText: /^WASM$/ }).waitFor({ timeout: 120_000 });
    if (BUNDLE !== BUNDLES[0].id) {
      await page.getByTestId('bundle-select').selectOption(BUNDLE);
      await page.locator('.brand').filter({ hasText: MANIFEST.name }).waitFor({ timeout: 120_000 });
      await page.getByTestId('backend-in-use').filter({ hasText: /^WASM$/ }).waitFor({ timeout: 120_000 });
      console.log(`bundle ${BUNDLE}`);
    }
    const info = await page.evaluate(() => ({ isolated: self.crossOriginIsolated, cores: navigator.hardwareConcurrency, ua: navigator.userAgent }));
    console.log(`Chromium: ${/Chrom\w*\/[\d.]+/.exec(info.ua)?.[0]}, crossOriginIsolated=${info.isolated}, hardwareConcurrency=${info.cores}`);

    const list = clips();
    if (MANIFEST.latent && !MANIFEST.decoder) {
      // a latent bundle has no L-MAC decoder: its latent explainer instead of the L-MAC clips and the long file
      await latentBench(page, list);
      return;
    }
    if (opt('first')) await firstFileRuns(freshPage, url, list[0]);
    console.log(`warm-up on ${list[0].name}`);
    await runFile(page, list[0], 120_000);
    const runs: Run[] = [];
    for (const c of list) {
      const r = await runFile(page, c, 120_000);
      runs.push(r);
      const a = r.analysis;
      const e = r.explanation;
      console.log(
        `${c.name.padEnd(22)} ` +
          Object.entries({ ...prefix(a, 'a.'), ...prefix(e, 'e.') })
            .map(([k, v]) => `${k} ${v.toFixed(1)}`)
            .join('  ') +
          `  wall ${r.wallMs} ms`,
      );
    }
    const keys = (pick: (r: Run) => Timings) => [...new Set(runs.flatMap((r) => Object.keys(pick(r))))];
    console.log(`\nMedian over ${runs.length} clips of 5 s (ms), WASM, headless Chromium, bundle ${BUNDLE}:`);
    const row = (label: string, xs: number[]) => console.log(`  ${label.padEnd(24)} ${median(xs).toFixed(1).padStart(8)}`);
    for (const k of keys((r) => r.analysis)) row(`analysis.${k}`, runs.map((r) => r.analysis[k] ?? NaN));
    for (const k of keys((r) => r.explanation)) row(`explanation.${k}`, runs.map((r) => r.explanation[k] ?? NaN));
    row('pipeline total (a+e)', runs.map((r) => (r.analysis.total ?? 0) + (r.explanation.total ?? 0)));
    row('wall: drop → audible', runs.map((r) => r.shownMs));
    row('wall: drop → + metrics', runs.map((r) => r.wallMs));
    row('in app: file → audible', runs.map((r) => r.inApp.shownMs));
    row('in app: file → + metrics', runs.map((r) => r.inApp.wallMs));

    if (MANIFEST.timeDecoder && !opt('no-lmactd')) {
      // the same clips, explained by LMAC-TD (the explainer switch set in the store)
      await page.evaluate(() => (window as unknown as AppHandle).__lmac.ui.getState().setExplainer('lmactd'));
      const tag = (c: Clip): Clip => ({ ...c, name: `lmactd-${c.name}` });
      await runFile(page, tag(list[0]), 120_000);
      const td: Run[] = [];
      for (const c of list) td.push(await runFile(page, tag(c), 120_000));
      const load = (await import('node:os')).loadavg();
      console.log(`\nLMAC-TD, median over ${td.length} clips of 5 s (one window each; ms), WASM, headless Chromium, bundle ${BUNDLE}:`);
      for (const k of new Set(td.flatMap((r) => Object.keys(r.explanation)))) row(`explanation.${k}`, td.map((r) => r.explanation[k] ?? NaN));
      row('in app: file → audible', td.map((r) => r.inApp.shownMs));
      row('in app: file → + metrics', td.map((r) => r.inApp.wallMs));
      console.log(`  (load average after: ${load.map((x) => x.toFixed(2)).join(' ')})`);
      await page.evaluate(() => (window as unknown as AppHandle).__lmac.ui.getState().setExplainer('lmac'));
    }

    if (!opt('no-long')) {
      const rate = 44100;
      const one = mixedLong(rate);
      const n = rate * 600;
      const long = new Float32Array(n);
      for (let o = 0; o < n; o += one.length) long.set(one.subarray(0, Math.min(one.length, n - o)), o);
      const dir = join(ROOT, '.bench');
      mkdirSync(dir, { recursive: true });
      const path = join(dir, 'ten-minutes.wav');
      writeFileSync(path, Buffer.from(encodeWav(long, rate, 'pcm16')));
      const r = await runFile(page, { name: 'ten-minutes.wav', buffer: Buffer.alloc(0), mimeType: 'audio/wav', path }, 600_000);
      console.log(`\n10-minute file (44.1 kHz WAV): drop → explanation audible ${(r.shownMs / 1000).toFixed(1)} s, metrics shown ${(r.wallMs / 1000).toFixed(1)} s`);
      console.log(
        `  in the app (from the file's arrival; excludes Playwright copying the 53 MB file into the page): audible ${(r.inApp.shownMs / 1000).toFixed(1)} s, metrics ${(r.inApp.wallMs / 1000).toFixed(1)} s`,
      );
      console.log(`  analysis: ${fmt(r.analysis)}`);
      console.log(`  explanation: ${fmt(r.explanation)}`);
    }
    if (opt('hour')) await hourRun(page);
    // last: it switches the app to the zero-shot bundle
    if (opt('prompts')) {
      const prompts = ['a dog barking', 'rain on a roof', 'glass shattering', 'church bells', 'a crackling fire', 'someone typing on a keyboard', 'a helicopter', 'birds singing'];
      const pr = await runPrompts(page, list[0], prompts);
      console.log(`\nTyped prompts on models/esc50-zs (${list[0].name}; prompt set in the store, i.e. after the UI's 250 ms debounce):`);
      for (const r of pr) console.log(`  ${r.prompt.padEnd(30)} audible ${r.shownMs.toFixed(0).padStart(5)} ms, similarities ${r.doneMs.toFixed(0).padStart(5)} ms  (worker: text ${(r.timings.text ?? 0).toFixed(1)}, decoder ${(r.timings.decoder ?? 0).toFixed(1)}, istft ${(r.timings.istft ?? 0).toFixed(1)}, metrics ${(r.timings.metrics ?? 0).toFixed(1)})`);
      console.log(`  median: audible ${median(pr.map((r) => r.shownMs)).toFixed(0)} ms, similarities ${median(pr.map((r) => r.doneMs)).toFixed(0)} ms`);
    }
  } finally {
    await ctx.close();
    await browser?.close();
    if (profile) rmSync(profile, { recursive: true, force: true });
    stop();
  }
}

/** PSS (kB) of the Chromium processes this bench started (descendants of this process): the sum and per process type. */
function chromiumPss(): { kb: number; byType: Record<string, number> } {
  const parent = new Map<number, number>();
  const names = new Map<number, string>();
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      const close = stat.lastIndexOf(')');
      const fields = stat.slice(close + 2).split(' ');
      parent.set(Number(d), Number(fields[1]));
      names.set(Number(d), readFileSync(`/proc/${d}/cmdline`, 'utf8'));
    } catch {
      /* gone */
    }
  }
  const mine = (pid: number): boolean => {
    for (let p = parent.get(pid); p !== undefined && p > 1; p = parent.get(p)) if (p === process.pid) return true;
    return false;
  };
  let kb = 0;
  const byType: Record<string, number> = {};
  for (const [pid, cmd] of names) {
    if (!cmd.includes('chromium') || !mine(pid)) continue;
    try {
      const m = /^Pss:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'));
      if (!m) continue;
      kb += Number(m[1]);
      // --type=renderer (the page and its workers), gpu-process, utility (network, storage, audio…); none: the browser process
      const type = /--type=([\w-]+)/.exec(cmd)?.[1] ?? 'browser';
      const sub = type === 'utility' ? /--utility-sub-type=([\w-]+)/.exec(cmd)?.[1] : undefined;
      const key = sub ? `utility:${sub}` : type;
      byType[key] = (byType[key] ?? 0) + Number(m[1]);
    } catch {
      /* gone */
    }
  }
  return { kb, byType };
}

/** A generated long file (mixedLong repeated, 22.05 kHz mono) as MP3 (sox, else lame), cached in .bench/. */
function longMp3(minutes: number): { path: string; name: string; mimeType: string } {
  const dir = join(ROOT, '.bench');
  mkdirSync(dir, { recursive: true });
  const mp3 = join(dir, `long-${minutes}min.mp3`);
  if (existsSync(mp3)) return { path: mp3, name: `long-${minutes}min.mp3`, mimeType: 'audio/mpeg' };
  const rate = 22050;
  const one = mixedLong(rate);
  const n = rate * 60 * minutes;
  const x = new Float32Array(n);
  for (let o = 0; o < n; o += one.length) x.set(one.subarray(0, Math.min(one.length, n - o)), o);
  const wav = join(dir, `long-${minutes}min.wav`);
  writeFileSync(wav, Buffer.from(encodeWav(x, rate, 'pcm16')));
  for (const cmd of [`sox ${wav} -C 128 ${mp3}`, `lame --quiet -b 128 ${wav} ${mp3}`]) {
    try {
      execSync(cmd, { stdio: 'pipe' });
      if (existsSync(mp3)) return { path: mp3, name: `long-${minutes}min.mp3`, mimeType: 'audio/mpeg' };
    } catch {
      /* next encoder */
    }
  }
  console.log('(neither sox nor lame writes MP3 here: the long file is a WAV)');
  return { path: wav, name: `long-${minutes}min.wav`, mimeType: 'audio/wav' };
}

/**
 * The long file through the file picker: times (in the page, from the file's arrival in the store)
 * to classes, to the explanation of the part on screen (progressive: the focus) and of the whole
 * file, then another class (the second-ranked row clicked): its part on screen and its whole file.
 * Peak PSS of the Chromium processes sampled every 500 ms.
 */
async function hourRun(page: Page) {
  const f = longMp3(MINUTES);
  const load0 = (await import('node:os')).loadavg();
  const first = chromiumPss();
  let peak = first.kb;
  const base = peak;
  // per process type: at the moment of the peak of the sum, and each type's own maximum
  let atPeak = first.byType;
  let peakPhase = 'before the file';
  const typeMax: Record<string, number> = { ...first.byType };
  let phase = 'decode + classifier';
  // BENCH_PSS_TRACE=1: a line per 2 s with the PSS by process type (where the memory goes, over time)
  const trace = process.env.BENCH_PSS_TRACE === '1';
  const t0 = Date.now();
  let lastTrace = 0;
  const sampler = setInterval(() => {
    const p = chromiumPss();
    if (trace && Date.now() - lastTrace >= 2000) {
      lastTrace = Date.now();
      console.log(`  [pss ${((Date.now() - t0) / 1000).toFixed(0)} s] ${mib(p.kb)} MiB (${phase}): ${types(p.byType)}`);
    }
    for (const [k, v] of Object.entries(p.byType)) typeMax[k] = Math.max(typeMax[k] ?? 0, v);
    if (p.kb > peak) {
      peak = p.kb;
      atPeak = p.byType;
      peakPhase = phase;
    }
  }, 500);
  const mib = (kb: number) => `${(kb / 1024).toFixed(0)}`;
  const types = (t: Record<string, number>) =>
    Object.entries(t)
      .sort((x, y) => y[1] - x[1])
      .map(([k, v]) => `${k} ${mib(v)}`)
      .join(', ');
  try {
    await page.evaluate((name) => {
      type E = { target: number; focus?: unknown; timings?: Record<string, number> };
      type F = { name: string; status: string; error?: string; explanation?: E; analysis?: { provisional?: unknown } };
      const w = window as unknown as { __lmac: { ui: { subscribe(l: (s: { files: F[] }) => void): () => void } }; __hour: Record<string, number | string> };
      w.__hour = {};
      let last: E | undefined;
      w.__lmac.ui.subscribe((s) => {
        const g = s.files.find((x) => x.name === name);
        if (!g) return;
        const h = w.__hour;
        const now = performance.now();
        h.added ??= now;
        if (g.status === 'error') h.error = g.error ?? 'error';
        if (g.status === 'ready') h.ready ??= now;
        // a long file's classes are first provisional (a pass over every other window, issue 12)
        if (g.status === 'ready' && g.analysis && !g.analysis.provisional) h.final ??= now;
        const e = g.explanation;
        if (!e || e === last) return;
        last = e;
        const phase = h.switched === undefined ? 'first' : 'other';
        if (phase === 'other' && e.target === h.firstTarget) return;
        if (phase === 'first') h.firstTarget ??= e.target;
        h[`${phase}Shown`] ??= now;
        if (e.focus) h[`${phase}Focus`] ??= now;
        else if (h[`${phase}Whole`] === undefined) {
          h[`${phase}Whole`] = now;
          // the worker's stage timings of the whole-file explanation (ms)
          h[`${phase}WholeTimings`] = JSON.stringify(e.timings ?? {});
        }
      });
    }, f.name);
    await page.getByTestId('file-input').setInputFiles(f.path);
    const get = () => page.evaluate(() => (window as unknown as { __hour: Record<string, number | string> }).__hour);
    /** Waits for `key` (or, when given, `orKey`) in the page's record. */
    const until = async (key: string, ms: number, orKey?: string) => {
      const t0 = Date.now();
      for (;;) {
        const h = await get();
        if (h.error) throw new Error(String(h.error));
        if (h[key] !== undefined || (orKey && h[orKey] !== undefined)) return h;
        if (Date.now() - t0 > ms) throw new Error(`${f.name}: no ${key} within ${ms / 1000} s`);
        await new Promise((r) => setTimeout(r, 250));
      }
    };
    await until('ready', 1_800_000);
    phase = 'first class, part on screen';
    await until('firstFocus', 1_800_000, 'firstWhole');
    phase = 'first class, whole file';
    await until('firstWhole', 1_800_000);
    phase = 'first class metrics / another class';
    await page.evaluate(() => ((window as unknown as { __hour: Record<string, number> }).__hour.switched = performance.now()));
    await page.getByTestId('class-row').nth(1).click();
    const h = (await until('otherWhole', 1_800_000)) as Record<string, number>;
    phase = 'after';
    await new Promise((r) => setTimeout(r, 1000));
    const s = (a: number, b: number) => ((a - b) / 1000).toFixed(1);
    const load1 = (await import('node:os')).loadavg();
    console.log(`\n${MINUTES}-minute ${f.name.endsWith('.mp3') ? 'MP3' : 'WAV'} (${(readFileSync(f.path).length / 1e6).toFixed(1)} MB, 22.05 kHz mono), in the app from the file's arrival:`);
    console.log(`  classes ${s(h.ready, h.added)} s${h.final > h.ready ? ` (provisional; final ${s(h.final, h.added)} s)` : ''}; explanation of the part on screen audible ${s(h.firstFocus ?? h.firstShown, h.added)} s; whole file ${s(h.firstWhole, h.added)} s`);
    console.log(`  another class: part on screen ${h.otherFocus ? s(h.otherFocus, h.switched) : '—'} s, whole file ${s(h.otherWhole, h.switched)} s after the click`);
    const stages = (j: unknown) => fmt(JSON.parse(String(j ?? '{}')) as Timings);
    console.log(`    worker stages, first class whole file: ${stages(h.firstWholeTimings)}`);
    console.log(`    worker stages, another class whole file: ${stages(h.otherWholeTimings)}`);
    console.log(`  peak PSS of the Chromium processes ${(peak / 1024).toFixed(0)} MiB (${(base / 1024).toFixed(0)} MiB before the file), during: ${peakPhase}`);
    console.log(`    at the peak, MiB by process type: ${types(atPeak)}`);
    console.log(`    each type's own maximum, MiB: ${types(typeMax)}; before the file: ${types(first.byType)}`);
    console.log(`  load average before ${load0.map((x) => x.toFixed(2)).join(' ')}, after ${load1.map((x) => x.toFixed(2)).join(' ')}`);
  } finally {
    clearInterval(sampler);
  }
}

function prefix(t: Timings, p: string): Timings {
  return Object.fromEntries(Object.entries(t).map(([k, v]) => [p + k, v]));
}
function fmt(t: Timings): string {
  return Object.entries(t)
    .map(([k, v]) => `${k} ${v.toFixed(0)} ms`)
    .join(', ');
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
