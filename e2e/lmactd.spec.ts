/**
 * LMAC-TD (issue 14) in real Chromium against the production build and the real bundle
 * (models/esc50 with its time decoder): an example is explained by L-MAC, the switch offers
 * LMAC-TD, whose explanation (a waveform from the time decoder) is shown with its metrics;
 * its exported explanation and residual WAVs add up to the exported original to 16-bit
 * precision and differ from L-MAC's; switching back shows L-MAC again. A 90 s file with LMAC-TD
 * gets the windows around the play head first (a 'focus' explanation: audible there, silent at
 * the end), then the whole file, whose WAVs still sum to the original.
 */
import { test, expect, type Page } from '@playwright/test';
import { mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expectReady, fileItem, longTestWav, logBrowserErrors, exportedWav } from './helpers';

const DOWNLOADS = join(resolve(dirname(fileURLToPath(import.meta.url)), '..'), 'e2e-artifacts', 'downloads', 'lmactd');
mkdirSync(DOWNLOADS, { recursive: true });

test.describe.configure({ mode: 'serial' });

let page: Page;
/** Requests for the time decoder's file: it is fetched on first use of LMAC-TD, not at start-up. */
const tdRequests: string[] = [];

test.beforeAll(async ({ browser }) => {
  page = await browser.newPage();
  page.on('request', (r) => {
    if (r.url().endsWith('/time_decoder.onnx')) tdRequests.push(r.url());
  });
  logBrowserErrors(page);
  await page.goto('/?backend=wasm');
  await expect(page.getByTestId('backend-in-use')).toHaveText(/^(WASM|WEBGPU)$/, { timeout: 240_000 });
});

test.afterAll(async () => {
  await page?.close();
});

const cell = (kind: string, row: string) => page.getByTestId(`metric-${kind}-${row}`);

const energy = (v: Float32Array) => v.reduce((s, q) => s + q * q, 0);
let lmac: Float32Array;

test('L-MAC first; the switch offers LMAC-TD for this bundle', async () => {
  test.setTimeout(300_000);
  await page.getByTestId('example-siren').click();
  const panel = page.getByTestId('metrics-panel');
  await expect(panel).toHaveAttribute('data-explainer', 'lmac', { timeout: 180_000 });
  await expect(panel).toHaveAttribute('data-current', 'yes');
  await expect(page.getByTestId('explainer-lmactd')).toBeVisible();
  await expect(page.getByTestId('explainer-lmactd')).not.toBeChecked();
  await expect(page.getByTestId('metrics-col-lmactd')).toHaveText('LMAC-TD');
  await expect(page.getByTestId('model-info')).toContainText('LMAC-TD time decoder');
  await expect(page.getByTestId('mask-mean')).toHaveAttribute('data-busy', 'false');
  lmac = await exportedWav(page, DOWNLOADS, 'explanation', 'lmac', /_explanation_[a-z_-]+\.wav$/);
  expect(lmac.length).toBeGreaterThan(0);
  // offered from the manifest, but not downloaded until it is used
  expect(tdRequests).toEqual([]);
});

test('LMAC-TD: explanation shown with metrics; its WAVs sum to the original to 16-bit precision and differ from L-MAC', async () => {
  test.setTimeout(300_000);
  const lmacMM = (await cell('lmac', 'MM').textContent())!;
  const t0 = Date.now();
  await page.getByTestId('explainer-lmactd').check();
  const panel = page.getByTestId('metrics-panel');
  await expect(panel).toHaveAttribute('data-explainer', 'lmactd', { timeout: 180_000 });
  await expect(panel).toHaveAttribute('data-current', 'yes');
  console.log(`LMAC-TD explanation with metrics in ${Date.now() - t0} ms (time decoder fetched and created on this first use)`);
  expect(tdRequests.length).toBe(1);
  await expect(cell('lmactd', 'MM')).toHaveText(/^\d\.\d{3}$/);
  await expect(cell('lmactd', 'qc')).toHaveText(/^\d\.\d{3}$/);
  await expect(cell('lmactd', 'FidIn')).toHaveText(/^[01] (kept|changed)$/);
  await expect(cell('lmac', 'MM')).toHaveText(lmacMM);
  await expect(page.getByTestId('metrics-table')).toContainText('explanation and residual waveforms');
  const mm = (await cell('lmactd', 'MM').textContent())!;
  await expect(page.getByTestId('mask-mean')).toContainText(mm);
  await expect(page.getByTestId('mask-mean')).toHaveAttribute('data-busy', 'false');
  // the explanation track can be soloed and played
  await expect(page.getByTestId('spectrogram')).toBeVisible();
  const [x, y, z] = [
    await exportedWav(page, DOWNLOADS, 'explanation', 'lmactd', /_explanation_.+-lmactd\.wav$/),
    await exportedWav(page, DOWNLOADS, 'residual', 'lmactd', /_residual_.+-lmactd\.wav$/),
    await exportedWav(page, DOWNLOADS, 'original', 'lmactd'),
  ];
  expect(x.length).toBe(z.length);
  expect(y.length).toBe(z.length);
  // each WAV is rounded to 16 bits on its own: the sum is the original within two quantisation steps
  let worst = 0;
  for (let i = 0; i < z.length; i++) worst = Math.max(worst, Math.abs(x[i] + y[i] - z[i]));
  const sig = energy(z);
  console.log(`LMAC-TD: |explanation + residual − original| ≤ ${(worst * 32768).toFixed(2)} LSB; energy / original: explanation ${(energy(x) / sig).toFixed(4)}, residual ${(energy(y) / sig).toFixed(4)}`);
  expect(worst).toBeLessThanOrEqual(2 / 32768);
  // audible (not silence) and not everything; not L-MAC's explanation
  expect(energy(x)).toBeGreaterThan(1e-4 * sig);
  expect(energy(y)).toBeGreaterThan(1e-4 * sig);
  expect(x.reduce((m, v, i) => Math.max(m, Math.abs(v - lmac[i])), 0)).toBeGreaterThan(0.01);
});

test('switching back to L-MAC shows the L-MAC explanation again', async () => {
  test.setTimeout(300_000);
  const lmacMM = (await cell('lmac', 'MM').textContent())!;
  await page.getByTestId('explainer-lmac').check();
  const panel = page.getByTestId('metrics-panel');
  await expect(panel).toHaveAttribute('data-explainer', 'lmac', { timeout: 180_000 });
  await expect(panel).toHaveAttribute('data-current', 'yes');
  await expect(page.getByTestId('mask-mean')).toContainText(lmacMM);
  await expect(page.getByTestId('mask-mean')).toHaveAttribute('data-busy', 'false');
  const again = await exportedWav(page, DOWNLOADS, 'explanation', 'lmac-again');
  expect(again.reduce((m, v, i) => Math.max(m, Math.abs(v - lmac[i])), 0)).toBeLessThan(1e-4);
});

test('a 40 s example with LMAC-TD: the cross-faded windows still sum to the original', async () => {
  test.setTimeout(300_000);
  await page.getByTestId('explainer-lmactd').check();
  await page.getByTestId('example-long').click();
  const panel = page.getByTestId('metrics-panel');
  await expectReady(page, 'mixed-40s.wav', 240_000);
  await fileItem(page, 'mixed-40s.wav').locator('.file-main').click();
  await expect(page.getByTestId('file-view')).toContainText('16 windows');
  await expect(panel).toHaveAttribute('data-explainer', 'lmactd', { timeout: 180_000 });
  await expect(panel).toHaveAttribute('data-current', 'yes', { timeout: 180_000 });
  await expect(page.getByTestId('mask-mean')).toHaveAttribute('data-busy', 'false');
  const [x, y, z] = [await exportedWav(page, DOWNLOADS, 'explanation', 'long-lmactd'), await exportedWav(page, DOWNLOADS, 'residual', 'long-lmactd'), await exportedWav(page, DOWNLOADS, 'original', 'long-lmactd')];
  expect(Math.abs(z.length - 40 * 16000)).toBeLessThanOrEqual(2);
  let worst = 0;
  for (let i = 0; i < z.length; i++) worst = Math.max(worst, Math.abs(x[i] + y[i] - z[i]));
  console.log(`40 s, LMAC-TD: |explanation + residual − original| ≤ ${(worst * 32768).toFixed(2)} LSB`);
  expect(worst).toBeLessThanOrEqual(2 / 32768);
  expect(energy(x)).toBeGreaterThan(1e-4 * energy(z));
});

interface Shown {
  explainer: string;
  focus: { t0: number; t1: number; windowsDone: number; windowsTotal: number } | null;
  /** The largest |x| of the explanation audio in 1-20 s and in the last 30 s (its waveform peaks). */
  peakFocus: number;
  peakEnd: number;
  maskMean: number;
}

test('a 90 s file with LMAC-TD: the windows around the play head first, then the whole file (its WAVs sum to the original)', async () => {
  test.setTimeout(420_000);
  const NAME = 'long-90s-lmactd.wav';
  await page.getByTestId('explainer-lmactd').check();
  // every explanation the file shows, from the store (nothing is missed)
  await page.evaluate((n) => {
    type E = { explainer?: string; focus?: Shown['focus']; maskMean: number; audio: { peaks: { explanation: Float32Array } } };
    type F = { name: string; explanation?: E; analysis?: { durationS: number } };
    type W = { __lmac: { ui: { subscribe(l: (s: { files: F[] }) => void): () => void } }; __td: Shown[] };
    const w = window as unknown as W;
    w.__td = [];
    let last: E | undefined;
    const peakIn = (p: Float32Array, d: number, a: number, b: number) => {
      let m = 0;
      for (let i = Math.ceil((a / d) * p.length); i < Math.min(Math.floor((b / d) * p.length), p.length); i++) m = Math.max(m, p[i]);
      return m;
    };
    w.__lmac.ui.subscribe((s) => {
      const f = s.files.find((g) => g.name === n);
      const e = f?.explanation;
      if (!e || e === last || !f.analysis) return;
      last = e;
      const d = f.analysis.durationS;
      const p = e.audio.peaks.explanation;
      w.__td.push({ explainer: e.explainer ?? 'lmac', focus: e.focus ?? null, peakFocus: peakIn(p, d, 1, 20), peakEnd: peakIn(p, d, d - 30, d), maskMean: e.maskMean });
    });
  }, NAME);
  const shown = () => page.evaluate(() => (window as unknown as { __td: Shown[] }).__td);
  await page.getByTestId('file-input').setInputFiles({ name: NAME, mimeType: 'audio/wav', buffer: longTestWav(90) });
  await expectReady(page, NAME, 240_000);
  await fileItem(page, NAME).locator('.file-main').click();
  await expect(page.getByTestId('file-view')).toHaveAttribute('data-file', NAME);
  await expect.poll(async () => (await shown()).length, { timeout: 180_000 }).toBeGreaterThan(0);
  const first = (await shown())[0];
  expect(first.explainer).toBe('lmactd');
  expect(first.focus, 'the first LMAC-TD explanation shown is the part around the play head').not.toBeNull();
  expect(first.focus!.t0).toBeLessThanOrEqual(0.5);
  expect(first.focus!.t1).toBeGreaterThanOrEqual(25);
  expect(first.focus!.windowsDone).toBeLessThanOrEqual(first.focus!.windowsTotal / 2);
  // audible there already, silent where the time decoder has not run yet
  expect(first.peakFocus).toBeGreaterThan(1e-3);
  expect(first.peakEnd).toBe(0);
  const panel = page.getByTestId('metrics-panel');
  await expect(panel).toHaveAttribute('data-explainer', 'lmactd', { timeout: 180_000 });
  await expect(panel).toHaveAttribute('data-current', 'yes', { timeout: 180_000 });
  const evs = await shown();
  const all = evs.find((e) => !e.focus);
  expect(all, 'then the whole file').toBeDefined();
  expect(all!.explainer).toBe('lmactd');
  expect(all!.peakEnd, 'the whole file is explained: audible in its last 30 s').toBeGreaterThan(1e-3);
  expect(all!.maskMean).toBeGreaterThan(0);
  // the metrics ran on the windows on screen only (around the play head at 0: 0-30 s)
  await expect(page.getByTestId('metrics-range')).toContainText(/measured on the \d+ of \d+ windows that were on screen \(0:00\.00–0:3\d\.\d\d\)/, { timeout: 180_000 });
  await expect(page.getByTestId('mask-mean')).toHaveAttribute('data-busy', 'false');
  const [x, y, z] = [await exportedWav(page, DOWNLOADS, 'explanation', 'long90-lmactd'), await exportedWav(page, DOWNLOADS, 'residual', 'long90-lmactd'), await exportedWav(page, DOWNLOADS, 'original', 'long90-lmactd')];
  expect(z.length).toBe(90 * 16000);
  let worst = 0;
  for (let i = 0; i < z.length; i++) worst = Math.max(worst, Math.abs(x[i] + y[i] - z[i]));
  console.log(`90 s, LMAC-TD: focus ${first.focus!.t0.toFixed(2)}-${first.focus!.t1.toFixed(2)} s after ${first.focus!.windowsDone} of ${first.focus!.windowsTotal} windows; |explanation + residual − original| ≤ ${(worst * 32768).toFixed(2)} LSB`);
  expect(worst).toBeLessThanOrEqual(2 / 32768);
  await expect(page.getByTestId('target')).not.toContainText(/error|failed|cancelled/i);
});

test('a time decoder file that fails its sha256 check: a specific message on first use of LMAC-TD, L-MAC keeps working, a later try loads it', async ({ browser }) => {
  test.setTimeout(420_000);
  const p = await browser.newPage();
  let corrupt = true;
  await p.route('**/time_decoder.onnx', (route) => (corrupt ? route.fulfill({ status: 200, contentType: 'application/octet-stream', body: Buffer.from('not the time decoder') }) : route.continue()));
  try {
    await p.goto('/?backend=wasm');
    await expect(p.getByTestId('backend-in-use')).toHaveText(/^(WASM|WEBGPU)$/, { timeout: 240_000 });
    await expect(p.getByTestId('model-error')).toHaveCount(0);
    await p.getByTestId('example-siren').click();
    const panel = p.getByTestId('metrics-panel');
    await expect(panel).toHaveAttribute('data-explainer', 'lmac', { timeout: 180_000 });
    await p.getByTestId('explainer-lmactd').check();
    await expect(p.getByTestId('target')).toContainText(/time_decoder\.onnx: sha256 mismatch/, { timeout: 120_000 });
    await p.getByTestId('explainer-lmac').check();
    await expect(panel).toHaveAttribute('data-explainer', 'lmac', { timeout: 180_000 });
    await expect(panel).toHaveAttribute('data-current', 'yes');
    corrupt = false;
    await p.getByTestId('explainer-lmactd').check();
    await expect(panel).toHaveAttribute('data-explainer', 'lmactd', { timeout: 180_000 });
    await expect(panel).toHaveAttribute('data-current', 'yes');
  } finally {
    await p.close();
  }
});
