/**
 * The WebGPU path in real Chromium: with `--enable-unsafe-webgpu`, headless Chromium exposes a
 * software (SwiftShader) adapter. "auto" must reject it (WASM is faster) and say why; "force
 * WebGPU" must run the real bundle on the WebGPU execution provider and give the same top class
 * as WASM on a generated clip.
 */
import { test, expect, type Page } from '@playwright/test';
import { encodeWav } from '../src/core/wav';
import { expectReady } from './helpers';

test.describe.configure({ mode: 'serial' });
test.use({ launchOptions: { executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium', args: ['--autoplay-policy=no-user-gesture-required', '--enable-unsafe-webgpu'] } });

let page: Page;
let hasAdapter = false;

/** 1.5 s at 16 kHz: a harmonic tone with a knock (generated here). */
function shortWav(): Buffer {
  const rate = 16000;
  const x = new Float32Array(rate * 1.5);
  for (let i = 0; i < x.length; i++) x[i] = 0.25 * Math.sin((2 * Math.PI * 660 * i) / rate) + 0.1 * Math.sin((2 * Math.PI * 1320 * i) / rate);
  for (let j = 0; j < 2000; j++) x[8000 + j] += 0.6 * Math.exp(-j / 400) * Math.sin((2 * Math.PI * 140 * j) / rate);
  return Buffer.from(encodeWav(x, rate, 'pcm16'));
}

/** From the app's store: a file's soft mask and pooled class probabilities. */
async function maskAndProbs(name: string): Promise<{ mask: number[]; probs: number[]; threshold: number | null }> {
  return page.evaluate((n) => {
    type F = { name: string; analysis?: { probs: Float32Array }; explanation?: { mask: Float32Array; threshold: number | null } };
    const s = (window as unknown as { __lmac: { ui: { getState(): { files: F[] } } } }).__lmac.ui.getState();
    const f = s.files.find((x) => x.name === n);
    if (!f?.analysis || !f.explanation) throw new Error(`${n}: no analysis or explanation in the store`);
    return { mask: Array.from(f.explanation.mask), probs: Array.from(f.analysis.probs), threshold: f.explanation.threshold };
  }, name);
}

async function topClass(): Promise<string> {
  return (await page.getByTestId('class-row').first().getAttribute('data-class')) ?? '';
}

test.beforeAll(async ({ browser }) => {
  page = await browser.newPage();
  page.on('console', (m) => {
    if (m.type() === 'error') console.log(`[browser] ${m.text()}`);
  });
  await page.goto('/?backend=auto');
  await expect(page.getByTestId('backend-in-use')).toHaveText(/^(WASM|WEBGPU)$/, { timeout: 240_000 });
  hasAdapter = await page.evaluate(async () => {
    const gpu = (navigator as unknown as { gpu?: { requestAdapter(): Promise<unknown> } }).gpu;
    return !!(gpu && (await gpu.requestAdapter()));
  });
});

test.afterAll(async () => {
  await page?.close();
});

test('auto rejects a software WebGPU adapter and says why', async () => {
  test.skip(!hasAdapter, 'this Chromium exposes no WebGPU adapter even with --enable-unsafe-webgpu');
  await expect(page.getByTestId('backend-in-use')).toHaveText('WASM');
  await expect(page.locator('.backend-note')).toContainText(/fallback|WebGPU adapter/);
});

test('forced WebGPU runs the bundle on the WebGPU EP with the same top class as WASM', async () => {
  test.skip(!hasAdapter, 'this Chromium exposes no WebGPU adapter even with --enable-unsafe-webgpu');
  await page.getByTestId('dropzone').drop({ files: { name: 'tone.wav', mimeType: 'audio/wav', buffer: shortWav() } });
  await expectReady(page, 'tone.wav');
  await expect(page.getByTestId('mask-mean')).toHaveText(/mask mean \d\.\d{3}$/);
  await expect(page.getByTestId('mask-mean')).toHaveAttribute('data-busy', 'false');
  const wasmTop = await topClass();
  const wasmMean = Number(await page.getByTestId('mask-mean').getAttribute('data-value'));

  await page.getByTestId('backend-select').selectOption('webgpu');
  await expect(page.getByTestId('backend-in-use')).toHaveText('WEBGPU', { timeout: 240_000 });
  await expect(page.locator('.backend-note')).toContainText('WebGPU forced');
  // the analysis is kept across the backend switch: analyse the file again on WebGPU
  await page.getByTestId('dropzone').drop({ files: { name: 'tone-gpu.wav', mimeType: 'audio/wav', buffer: shortWav() } });
  await expectReady(page, 'tone-gpu.wav', 300_000);
  await expect(page.getByTestId('mask-mean')).toHaveText(/mask mean \d\.\d{3}$/, { timeout: 300_000 });
  await expect(page.getByTestId('mask-mean')).toHaveAttribute('data-busy', 'false', { timeout: 300_000 });
  const gpuTop = await topClass();
  const gpuMean = Number(await page.getByTestId('mask-mean').getAttribute('data-value'));
  console.log(`WASM top ${wasmTop} mask mean ${wasmMean}; WebGPU top ${gpuTop} mask mean ${gpuMean}`);
  expect(gpuTop).toBe(wasmTop);
  // the same mask element by element (a mean would hide a different mask), and the same top-5 probabilities
  const w = await maskAndProbs('tone.wav');
  const g = await maskAndProbs('tone-gpu.wav');
  expect(w.threshold).toBeNull();
  expect(g.threshold).toBeNull();
  expect(g.mask.length).toBe(w.mask.length);
  let maxD = 0;
  let sumD = 0;
  for (let i = 0; i < w.mask.length; i++) {
    const d = Math.abs(g.mask[i] - w.mask[i]);
    maxD = Math.max(maxD, d);
    sumD += d;
  }
  const top5 = Array.from(w.probs.keys()).sort((a, b) => w.probs[b] - w.probs[a]).slice(0, 5);
  const probD = Math.max(...top5.map((k) => Math.abs(g.probs[k] - w.probs[k])));
  console.log(`WebGPU vs WASM: mask max |Δ| ${maxD.toExponential(2)}, mean |Δ| ${(sumD / w.mask.length).toExponential(2)}; top-5 probabilities max |Δ| ${probD.toExponential(2)}`);
  expect(maxD).toBeLessThan(1e-4); // measured ~1e-6 (SwiftShader)
  expect(sumD / w.mask.length).toBeLessThan(1e-5);
  expect(probD).toBeLessThan(1e-4);
  const gTop5 = Array.from(g.probs.keys()).sort((a, b) => g.probs[b] - g.probs[a]).slice(0, 5);
  expect(gTop5).toEqual(top5);
});
