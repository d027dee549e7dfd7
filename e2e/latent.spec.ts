/**
 * The latent explainer (issue 15) in real Chromium on the shipped models/esc50-latent: the bundle
 * opens from the model picker, a file is analysed, the latent panel shows the channel × time heat
 * map and the explanation / explanation-removed audio; moving β up changes the explanation: its
 * energy grows and the removed audio's evidence for the class falls.
 */
import { test, expect, type Page } from '@playwright/test';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as h from './helpers';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const NAME = 'siren-chirp.wav';

test.describe.configure({ mode: 'serial' });
test.skip(!existsSync(join(ROOT, 'models', 'esc50-latent', 'manifest.json')), 'models/esc50-latent/manifest.json is not there');

let page: Page;

async function readResult(p: Page, beta: string) {
  const r = p.getByTestId('latent-result');
  await expect(r).toHaveAttribute('data-beta', beta, { timeout: 120_000 });
  await expect(p.getByTestId('latent-panel')).toHaveAttribute('data-busy', '0', { timeout: 120_000 });
  const num = async (a: string) => Number(await r.getAttribute(a));
  console.log(`latent β ${beta} worker timings (ms): ${await r.getAttribute('data-timings')}`);
  return { eIn: await num('data-energy-in'), eOut: await num('data-energy-out'), pIn: await num('data-p-in'), pOut: await num('data-p-out') };
}

async function setBeta(p: Page, v: number) {
  const s = p.getByTestId('latent-beta-slider');
  await s.evaluate((el, value) => {
    const input = el as HTMLInputElement;
    // React listens to the native input event; set the value through the prototype's setter
    Object.getOwnPropertyDescriptor(HTMLInputElement.prototype, 'value')!.set!.call(input, String(value));
    input.dispatchEvent(new Event('input', { bubbles: true }));
  }, v);
}

test.beforeAll(async ({ browser }) => {
  page = await browser.newPage();
  await page.goto('/');
  await expect(page.getByTestId('backend-in-use')).toHaveText(/^(WASM|WEBGPU)$/, { timeout: 240_000 });
});

test.afterAll(async () => {
  await page.close();
});

test('the latent bundle opens from the picker, and β changes the explanation', async () => {
  await page.getByTestId('bundle-select').selectOption('esc50-latent');
  await expect(page.locator('.brand')).toContainText('esc50-latent', { timeout: 120_000 });
  await page.getByTestId(`example-siren`).click();
  await h.expectReady(page, NAME);
  await h.fileItem(page, NAME).locator('.file-main').click();
  await expect(page.getByTestId('latent-panel')).toBeVisible();
  await expect(page.getByTestId('latent-heatmap')).toBeVisible({ timeout: 120_000 });
  const low = await readResult(page, '0.1');
  await setBeta(page, 0.5);
  await expect(page.getByTestId('latent-beta')).toHaveText('0.50');
  const high = await readResult(page, '0.5');
  expect(low.eIn).toBeGreaterThan(0);
  expect(high.eIn).toBeGreaterThan(low.eIn);
  expect(high.eOut).toBeLessThan(low.eOut);
  expect(high.pOut).toBeLessThanOrEqual(low.pOut);
  await expect(page.getByTestId('latent-explanation').locator('audio')).toHaveAttribute('src', /^blob:/);
  await expect(page.getByTestId('latent-removed').locator('a')).toHaveAttribute('download', /_removed\.wav$/);
});
