/**
 * Explainer switch and faithfulness metrics, in real Chromium against the production build and
 * the real bundle: L-MAC metrics appear with the explanation; switching to the perturbation
 * explainer recomputes the explanation (progress shown) and its metrics differ; both columns are
 * then compared side by side; switching back shows L-MAC again.
 */
import { test, expect, type Page } from '@playwright/test';
import { mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { encodeWav } from '../src/core/wav';
import { logBrowserErrors, exportedWav } from './helpers';

const DOWNLOADS = join(resolve(dirname(fileURLToPath(import.meta.url)), '..'), 'e2e-artifacts', 'downloads', 'explainers');
mkdirSync(DOWNLOADS, { recursive: true });

test.describe.configure({ mode: 'serial' });

let page: Page;

/** 3 s at 16 kHz: a tone with a few knocks (generated, nothing downloaded). */
function generatedWav(): Buffer {
  const rate = 16000;
  const n = rate * 3;
  const x = new Float32Array(n);
  for (let i = 0; i < n; i++) x[i] = 0.3 * Math.sin((2 * Math.PI * 880 * i) / rate) * (i > rate && i < 2 * rate ? 1 : 0.1);
  for (const t0 of [0.4, 2.2]) {
    const s = Math.round(t0 * rate);
    for (let j = 0; j < 3000; j++) x[s + j] += 0.6 * Math.exp(-j / 500) * Math.sin((2 * Math.PI * 150 * j) / rate);
  }
  return Buffer.from(encodeWav(x, rate, 'pcm16'));
}

test.beforeAll(async ({ browser }) => {
  page = await browser.newPage();
  logBrowserErrors(page);
  await page.goto('/?backend=wasm');
  await expect(page.getByTestId('backend-in-use')).toHaveText(/^(WASM|WEBGPU)$/, { timeout: 240_000 });
});

test.afterAll(async () => {
  await page?.close();
});

const cell = (kind: string, row: string) => page.getByTestId(`metric-${kind}-${row}`);

/** The exported explanation and residual: each a real part of the original (energy strictly inside), summing to it. */
async function exportedPair(tag: string): Promise<{ x: Float32Array; y: Float32Array; z: Float32Array }> {
  const [x, y, z] = [await exportedWav(page, DOWNLOADS, 'explanation', tag), await exportedWav(page, DOWNLOADS, 'residual', tag), await exportedWav(page, DOWNLOADS, 'original', tag)];
  for (const v of [x, y]) expect(v.length).toBe(z.length);
  let err = 0;
  let sig = 0;
  for (let i = 0; i < z.length; i++) {
    err += (x[i] + y[i] - z[i]) ** 2;
    sig += z[i] ** 2;
  }
  const energy = (v: Float32Array) => v.reduce((s, q) => s + q * q, 0);
  const snr = 10 * Math.log10(sig / Math.max(err, 1e-20));
  console.log(`${tag}: in + out vs original ${snr.toFixed(1)} dB SNR; energy / original: explanation ${(energy(x) / sig).toFixed(3)}, residual ${(energy(y) / sig).toFixed(3)}`);
  expect(snr).toBeGreaterThan(50);
  // (this clip's L-MAC explanation keeps ~99 % of the energy: the bounds are loose but an all-ones or all-zero mask fails them)
  for (const v of [x, y]) {
    expect(energy(v)).toBeGreaterThan(1e-4 * sig);
    expect(energy(v)).toBeLessThan(0.999 * sig);
  }
  return { x, y, z };
}

let lmacExplanation: Float32Array;

test('L-MAC explanation shows its metrics with tooltips', async () => {
  test.setTimeout(300_000);
  await page.getByTestId('dropzone').drop({ files: { name: 'metrics-tone.wav', mimeType: 'audio/wav', buffer: generatedWav() } });
  const panel = page.getByTestId('metrics-panel');
  await expect(panel).toHaveAttribute('data-explainer', 'lmac', { timeout: 180_000 });
  await expect(panel).toHaveAttribute('data-current', 'yes');
  await expect(page.getByTestId('explainer-lmac')).toBeChecked();
  await expect(cell('lmac', 'MM')).toHaveText(/^\d\.\d{3}$/);
  await expect(cell('lmac', 'qc')).toHaveText(/^\d\.\d{3}$/);
  await expect(cell('lmac', 'FidIn')).toHaveText(/^[01] (kept|changed)$/);
  await expect(cell('perturbation', 'MM')).toHaveText('—');
  // tooltips say what the metric means and which direction is better
  await expect(page.getByTestId('metric-name-FF')).toHaveAttribute('title', /Higher is better/);
  await expect(page.getByTestId('metric-name-AD')).toHaveAttribute('title', /Lower is better/);
  // the mask mean in the metrics equals the one shown above the spectrogram
  const mm = (await cell('lmac', 'MM').textContent())!;
  await expect(page.getByTestId('mask-mean')).toContainText(mm);
  await expect(page.getByTestId('mask-mean')).toHaveAttribute('data-busy', 'false');
  lmacExplanation = (await exportedPair('lmac')).x;
});

test('switching to perturbation recomputes the explanation and its metrics differ; both are compared', async () => {
  test.setTimeout(600_000);
  const lmacMM = (await cell('lmac', 'MM').textContent())!;
  const lmacSPS = (await cell('lmac', 'SPS').textContent())!;
  const t0 = Date.now();
  await page.getByTestId('explainer-perturbation').check();
  await expect(page.getByTestId('explain-progress')).toBeVisible({ timeout: 30_000 });
  const panel = page.getByTestId('metrics-panel');
  await expect(panel).toHaveAttribute('data-explainer', 'perturbation', { timeout: 540_000 });
  await expect(panel).toHaveAttribute('data-current', 'yes');
  console.log(`perturbation explanation in ${Date.now() - t0} ms`);
  await expect(cell('perturbation', 'MM')).toHaveText(/^\d\.\d{3}$/);
  await expect(page.getByTestId('perturbation-info')).toContainText(/300 random masks over 30 segments of 100 ms/);
  // side by side: the L-MAC column is still there, and the two explainers differ
  await expect(cell('lmac', 'MM')).toHaveText(lmacMM);
  const pMM = (await cell('perturbation', 'MM').textContent())!;
  const pSPS = (await cell('perturbation', 'SPS').textContent())!;
  expect(pMM !== lmacMM || pSPS !== lmacSPS).toBe(true);
  await expect(page.getByTestId('mask-mean')).toContainText(pMM);
  // the perturbation explanation is listenable/exportable like L-MAC: its WAVs add up to the original, and it is not L-MAC's
  await expect(page.getByTestId('mask-mean')).toHaveAttribute('data-busy', 'false');
  const { x } = await exportedPair('perturbation');
  expect(x.reduce((m, v, i) => Math.max(m, Math.abs(v - lmacExplanation[i])), 0)).toBeGreaterThan(0.01);
});

test('switching back to L-MAC shows the L-MAC explanation again', async () => {
  test.setTimeout(300_000);
  const lmacMM = (await cell('lmac', 'MM').textContent())!;
  await page.getByTestId('explainer-lmac').check();
  const panel = page.getByTestId('metrics-panel');
  await expect(panel).toHaveAttribute('data-explainer', 'lmac', { timeout: 180_000 });
  await expect(panel).toHaveAttribute('data-current', 'yes');
  await expect(page.getByTestId('mask-mean')).toContainText(lmacMM);
});
