/**
 * The second ESC-50 choice in the model picker (models/esc50-stage1: the same classifier as the
 * default models/esc50 with the stage-1 L-MAC decoder; the default's decoder is guidance fine-tuned,
 * issue 13), in real Chromium against the production build. One clip is explained with the default
 * bundle, then with esc50-stage1: the classes are the same (same classifier file), the default's
 * fine-tuned mask holds more of the sound than the stage-1 one.
 */
import { test, expect, type Page } from '@playwright/test';
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { encodeWav } from '../src/core/wav';
import { expectReady, fileItem, logBrowserErrors } from './helpers';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const HAS_STAGE1 = existsSync(join(ROOT, 'models', 'esc50-stage1', 'manifest.json'));
/** The fold-4 hand-saw clip of app.spec.ts when the data set is here, else a generated clip. */
const REAL_CLIP = resolve(ROOT, '../shared/data/esc50/audio/4-102844-A-49.flac');

test.describe.configure({ mode: 'serial' });
test.skip(!HAS_STAGE1, 'models/esc50-stage1 is not built (models/train/export.py --out models/esc50-stage1)');

let page: Page;
const requests: string[] = [];
let clipName = '';

/** 3 s at 22.05 kHz: a sawing-like buzz in bursts over weak noise (generated here). */
function buzzWav(): Buffer {
  const rate = 22050;
  const n = rate * 3;
  const x = new Float32Array(n);
  let seed = 11;
  for (let i = 0; i < n; i++) {
    seed = (seed * 16807) % 2147483647;
    const noise = seed / 2147483647 - 0.5;
    const t = i / rate;
    const on = Math.sin(2 * Math.PI * 1.5 * t) > 0 ? 1 : 0;
    x[i] = 0.02 * noise + on * (0.3 * noise + 0.2 * Math.sin(2 * Math.PI * 220 * t) * Math.sin(2 * Math.PI * 3 * t));
  }
  return Buffer.from(encodeWav(x, rate, 'pcm16'));
}

async function explained(): Promise<{ top: string[]; maskMean: number }> {
  await expectReady(page, clipName);
  const mm = page.getByTestId('mask-mean');
  await expect(mm).toHaveAttribute('data-busy', 'false', { timeout: 180_000 });
  await expect(mm).toHaveText(/mask mean \d\.\d{3}$/, { timeout: 180_000 });
  const top = await page.getByTestId('class-row').evaluateAll((els) => els.map((e) => e.getAttribute('data-class') ?? ''));
  return { top, maskMean: Number(await mm.getAttribute('data-value')) };
}

test.beforeAll(async ({ browser }) => {
  page = await browser.newPage();
  page.context().on('request', (r) => requests.push(r.url()));
  logBrowserErrors(page);
  await page.goto('/');
});

test.afterAll(async () => {
  await page?.close();
});

test('esc50-stage1 explains the same clip as the default with the same classes and a smaller mask', async () => {
  await expect(page.getByTestId('backend-in-use')).toHaveText(/^(WASM|WEBGPU)$/, { timeout: 240_000 });
  await expect(page.getByTestId('bundle-select')).toHaveValue('esc50');
  if (existsSync(REAL_CLIP)) {
    clipName = '4-102844-A-49.flac';
    await page.getByTestId('dropzone').drop({ files: REAL_CLIP });
  } else {
    clipName = 'buzz.wav';
    await page.getByTestId('dropzone').drop({ files: { name: clipName, mimeType: 'audio/wav', buffer: buzzWav() } });
  }
  const fineTuned = await explained();

  // the file is analysed again once the new bundle is in use: wait for that (queued), not the old result
  await page.evaluate((n) => {
    type W = { __lmac: { ui: { subscribe(l: (s: { files: { name: string; status: string }[] }) => void): () => void } }; __requeued?: boolean };
    const w = window as unknown as W;
    w.__requeued = false;
    const un = w.__lmac.ui.subscribe((s) => {
      if (s.files.find((f) => f.name === n)?.status === 'queued') {
        w.__requeued = true;
        un();
      }
    });
  }, clipName);
  await page.getByTestId('bundle-select').selectOption('esc50-stage1');
  await expect(page.locator('.brand')).toContainText('esc50-stage1', { timeout: 240_000 });
  await expect.poll(() => page.evaluate(() => (window as unknown as { __requeued: boolean }).__requeued), { timeout: 240_000 }).toBe(true);
  await expect(fileItem(page, clipName)).toHaveCount(1);
  const stage1 = await explained();
  console.log(`${clipName}: top-5 ${stage1.top.join(', ')}; mask mean default (fine-tuned) ${fineTuned.maskMean.toFixed(3)}, esc50-stage1 ${stage1.maskMean.toFixed(3)}`);
  expect(stage1.top).toEqual(fineTuned.top); // the same classifier
  // the fine-tuned decoder keeps more of the sound (fold 4: mask mean 0.07 → 0.61, RESULTS.md)
  expect(fineTuned.maskMean).toBeGreaterThan(2 * stage1.maskMean);
  expect(fineTuned.maskMean).toBeLessThan(1);
  expect(stage1.maskMean).toBeGreaterThan(0);
  mkdirSync(join(ROOT, 'e2e-artifacts'), { recursive: true });
  await page.screenshot({ path: join(ROOT, 'e2e-artifacts', '30-esc50-stage1.png'), fullPage: true });

  expect(requests.some((u) => u.includes('/models/esc50-stage1/decoder.onnx'))).toBe(true);
  const origin = new URL(page.url()).origin;
  const foreign = requests.filter((u) => !u.startsWith(origin) && !u.startsWith('blob:') && !u.startsWith('data:'));
  expect(foreign).toEqual([]);
});
