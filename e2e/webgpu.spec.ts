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
  const wasmTop = await topClass();
  const wasmMean = Number(await page.getByTestId('mask-mean').getAttribute('data-value'));

  await page.getByTestId('backend-select').selectOption('webgpu');
  await expect(page.getByTestId('backend-in-use')).toHaveText('WEBGPU', { timeout: 240_000 });
  await expect(page.locator('.backend-note')).toContainText('WebGPU forced');
  // the analysis is kept across the backend switch: analyse the file again on WebGPU
  await page.getByTestId('dropzone').drop({ files: { name: 'tone-gpu.wav', mimeType: 'audio/wav', buffer: shortWav() } });
  await expectReady(page, 'tone-gpu.wav', 300_000);
  await expect(page.getByTestId('mask-mean')).toHaveText(/mask mean \d\.\d{3}$/, { timeout: 300_000 });
  const gpuTop = await topClass();
  const gpuMean = Number(await page.getByTestId('mask-mean').getAttribute('data-value'));
  console.log(`WASM top ${wasmTop} mask mean ${wasmMean}; WebGPU top ${gpuTop} mask mean ${gpuMean}`);
  expect(gpuTop).toBe(wasmTop);
  expect(Math.abs(gpuMean - wasmMean)).toBeLessThan(0.01);
});
