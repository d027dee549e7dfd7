/**
 * The latent explainer (issue 15) in real Chromium on the shipped models/esc50-latent: the bundle
 * opens from the model picker, a file is analysed and explained by the latent explainer (the
 * switch offers it, not L-MAC, and the perturbation explainer does not run alongside); the shared
 * Explanation track plays the decoded top-β explanation (the player's source is the exported
 * explanation WAV, sample for sample), the residual is the decoded explanation-removed audio (not
 * original − explanation), the metrics panel shows the latent classifier's numbers on the
 * re-encoded audio, and moving β (0.1 → 0.3 → 0.5) changes the exported explanation: its energy
 * and the classifier's probability of the class on it grow at each step (the removed audio's
 * energy falls); the latent panel shows the heat map. Perturbation runs only when picked.
 */
import { test, expect, type Page } from '@playwright/test';
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { decodeWav } from '../src/core/wav';
import * as h from './helpers';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const NAME = 'siren-chirp.wav';
const KNOCKS = 'knocks-and-clicks.wav';
const DOWNLOADS = join(ROOT, 'e2e-artifacts', 'downloads', 'latent');
mkdirSync(DOWNLOADS, { recursive: true });

test.describe.configure({ mode: 'serial' });
test.skip(!existsSync(join(ROOT, 'models', 'esc50-latent', 'manifest.json')), 'models/esc50-latent/manifest.json is not there');

let page: Page;

const energy = (v: Float32Array) => v.reduce((s, q) => s + q * q, 0);
const cell = (kind: string, row: string) => page.getByTestId(`metric-${kind}-${row}`);

/** The samples the shared player's <audio> element plays now (its blob: source, a WAV the page made). */
async function playerSamples(): Promise<Float32Array> {
  const bytes = await page.evaluate(async () => {
    const el = document.querySelector('[data-testid="player"]') as HTMLAudioElement;
    const buf = new Uint8Array(await (await fetch(el.src)).arrayBuffer());
    return Array.from(buf);
  });
  return decodeWav(Uint8Array.from(bytes)).channels[0];
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

/** Waits for the latent explanation at `beta` with its metrics; its q_c / r_c (full precision) and worker timings. */
async function settled(beta: number) {
  const panel = page.getByTestId('metrics-panel');
  const r = page.getByTestId('latent-result');
  await expect(r).toHaveAttribute('data-beta', String(beta), { timeout: 120_000 });
  await expect(panel).toHaveAttribute('data-explainer', 'latent', { timeout: 120_000 });
  await expect(panel).toHaveAttribute('data-current', 'yes', { timeout: 120_000 });
  await expect(r).toHaveAttribute('data-p-in', /\d/, { timeout: 120_000 });
  await expect(page.getByTestId('latent-panel')).toHaveAttribute('data-busy', '0', { timeout: 120_000 });
  console.log(`latent β ${beta} worker timings (ms): ${await r.getAttribute('data-timings')}`);
  return { pIn: Number(await r.getAttribute('data-p-in')), pOut: Number(await r.getAttribute('data-p-out')) };
}

test.beforeAll(async ({ browser }) => {
  page = await browser.newPage();
  h.logBrowserErrors(page);
  await page.goto('/');
  await expect(page.getByTestId('backend-in-use')).toHaveText(/^(WASM|WEBGPU)$/, { timeout: 240_000 });
});

test.afterAll(async () => {
  await page.close();
});

test('the latent bundle opens from the picker and its explainer, not perturbation, fills the shared tracks, exports and metrics', async () => {
  test.setTimeout(300_000);
  await page.getByTestId('bundle-select').selectOption('esc50-latent');
  await expect(page.locator('.brand')).toContainText('esc50-latent', { timeout: 120_000 });
  await page.getByTestId('example-siren').click();
  await h.expectReady(page, NAME);
  await h.fileItem(page, NAME).locator('.file-main').click();
  await settled(0.1);
  // the switch offers the latent explainer (L-MAC has no decoder here); perturbation did not run alongside
  await expect(page.getByTestId('explainer-latent')).toBeChecked();
  await expect(page.getByTestId('explainer-lmac')).toBeDisabled();
  await expect(page.getByTestId('explainer-perturbation')).not.toBeChecked();
  await expect(cell('perturbation', 'qc')).toHaveText('—');
  await expect(page.getByTestId('metrics-col-latent')).toHaveText('Latent');
  // the metrics panel: numbers from the latent classifier on the re-encoded decoded audio
  for (const row of ['pc', 'qc', 'rc', 'FF', 'SPS', 'MM']) await expect(cell('latent', row)).toHaveText(/^-?\d\.\d{3}$/);
  await expect(cell('latent', 'FidIn')).toHaveText(/^[01] (kept|changed)$/);
  await expect(page.getByTestId('metrics-table')).toContainText('re-encoded');
  // MM of the kept cells: round(0.1 · 512) / 512
  await expect(cell('latent', 'MM')).toHaveText((51 / 512).toFixed(3));
  await expect(page.getByTestId('latent-tracks-note')).toContainText('do not add up to the original');
  await expect(page.getByTestId('latent-heatmap')).toBeVisible();
  await expect(page.getByTestId('model-info')).toContainText('latent explainer');

  // the exported explanation is what the shared Explanation track plays
  const x = await h.exportedWav(page, DOWNLOADS, 'explanation', 'b0.10', /_explanation_.+-latent-beta10\.wav$/);
  await page.keyboard.press('2');
  await expect(page.getByTestId('player')).toHaveAttribute('src', /^blob:/);
  await expect.poll(async () => (await playerSamples()).length).toBe(x.length);
  const played = await playerSamples();
  expect(played.reduce((m, v, i) => Math.max(m, Math.abs(v - x[i])), 0)).toBe(0);
  const y = await h.exportedWav(page, DOWNLOADS, 'residual', 'b0.10', /_residual_.+-latent-beta10\.wav$/);
  await page.keyboard.press('3');
  await expect.poll(async () => (await playerSamples()).reduce((m, v, i) => Math.max(m, Math.abs(v - y[i])), 0)).toBe(0);
  const z = await h.exportedWav(page, DOWNLOADS, 'original', 'b0.10');
  expect(x.length).toBe(z.length);
  expect(y.length).toBe(z.length);
  // both are decoder outputs: explanation + residual is not the original (unlike L-MAC / LMAC-TD)
  let worst = 0;
  for (let i = 0; i < z.length; i++) worst = Math.max(worst, Math.abs(x[i] + y[i] - z[i]));
  console.log(`latent β 0.1: |explanation + residual − original| max ${worst.toFixed(4)}; energy / original: explanation ${(energy(x) / energy(z)).toExponential(3)}, residual ${(energy(y) / energy(z)).toFixed(4)}`);
  expect(worst).toBeGreaterThan(1e-3);
  await page.keyboard.press('1');
});

test('moving β re-synthesises: the exported explanation gets louder and the classifier more sure of it at each step', async () => {
  test.setTimeout(300_000);
  // the knocks example: the latent classifier's top class (mouse click) is one whose evidence the
  // top-β cells carry (on the siren its p is ≈ 0.1 on the original and does not grow with β)
  await page.getByTestId('example-knocks').click();
  await h.expectReady(page, KNOCKS);
  await h.fileItem(page, KNOCKS).locator('.file-main').click();
  await expect(page.getByTestId('file-view')).toHaveAttribute('data-file', KNOCKS);
  const steps = [{ beta: 0.1, ...(await settled(0.1)), e: energy(await h.exportedWav(page, DOWNLOADS, 'explanation', 'knocks-beta10')), eOut: energy(await h.exportedWav(page, DOWNLOADS, 'residual', 'knocks-beta10')) }];
  for (const beta of [0.3, 0.5]) {
    await setBeta(page, beta);
    await expect(page.getByTestId('latent-beta')).toHaveText(beta.toFixed(2));
    const s = await settled(beta);
    await expect(cell('latent', 'MM')).toHaveText((Math.round(beta * 512) / 512).toFixed(3));
    const tag = `beta${Math.round(beta * 100)}`;
    const e = energy(await h.exportedWav(page, DOWNLOADS, 'explanation', `knocks-${tag}`, new RegExp(`^knocks-and-clicks_explanation_.+-latent-${tag}\\.wav$`)));
    const eOut = energy(await h.exportedWav(page, DOWNLOADS, 'residual', `knocks-${tag}`));
    steps.push({ beta, ...s, e, eOut });
  }
  console.log(
    `latent β ${steps.map((s) => s.beta).join('/')}: explanation energy ${steps.map((s) => s.e.toExponential(3)).join(' ')}, residual energy ${steps.map((s) => s.eOut.toExponential(3)).join(' ')}, ` +
      `p(class | explanation) ${steps.map((s) => s.pIn.toFixed(4)).join(' ')}, p(class | removed) ${steps.map((s) => s.pOut.toFixed(4)).join(' ')}`,
  );
  for (let i = 1; i < steps.length; i++) {
    expect(steps[i].e).toBeGreaterThan(steps[i - 1].e);
    expect(steps[i].eOut).toBeLessThan(steps[i - 1].eOut);
    expect(steps[i].pIn).toBeGreaterThan(steps[i - 1].pIn);
  }
});

test('the perturbation explainer runs only when picked; the latent one comes back from the panel', async () => {
  test.setTimeout(300_000);
  await page.getByTestId('explainer-perturbation').check();
  const panel = page.getByTestId('metrics-panel');
  await expect(panel).toHaveAttribute('data-explainer', 'perturbation', { timeout: 240_000 });
  await expect(panel).toHaveAttribute('data-current', 'yes', { timeout: 240_000 });
  await expect(cell('perturbation', 'qc')).toHaveText(/^\d\.\d{3}$/);
  await expect(page.getByTestId('latent-tracks-note')).toHaveCount(0);
  await page.getByTestId('latent-use').click();
  await settled(0.5);
  await expect(page.getByTestId('latent-tracks-note')).toBeVisible();
});

test('a 40 s example: every window explained, the tracks as long as the file, the metrics of the windows on screen', async () => {
  test.setTimeout(300_000);
  await page.getByTestId('example-long').click();
  await h.expectReady(page, 'mixed-40s.wav', 240_000);
  await h.fileItem(page, 'mixed-40s.wav').locator('.file-main').click();
  await expect(page.getByTestId('file-view')).toContainText('16 windows');
  const panel = page.getByTestId('metrics-panel');
  await expect(panel).toHaveAttribute('data-explainer', 'latent', { timeout: 240_000 });
  await expect(panel).toHaveAttribute('data-current', 'yes', { timeout: 240_000 });
  await expect(page.getByTestId('latent-panel')).toHaveAttribute('data-busy', '0', { timeout: 120_000 });
  // more than 12 windows: the metrics cover the windows on screen (as LMAC-TD)
  await expect(page.getByTestId('metrics-range')).toBeVisible();
  await expect(cell('latent', 'qc')).toHaveText(/^\d\.\d{3}$/);
  // the heat map can show any of the 16 windows' attributions
  await expect(page.getByTestId('latent-window').locator('option')).toHaveCount(16);
  await page.getByTestId('latent-window').selectOption('15');
  await expect(page.getByTestId('latent-heatmap')).toBeVisible();
  const [x, y, z] = [await h.exportedWav(page, DOWNLOADS, 'explanation', 'long'), await h.exportedWav(page, DOWNLOADS, 'residual', 'long'), await h.exportedWav(page, DOWNLOADS, 'original', 'long')];
  expect(Math.abs(z.length - 40 * 16000)).toBeLessThanOrEqual(2);
  expect(x.length).toBe(z.length);
  expect(y.length).toBe(z.length);
  console.log(`40 s, latent β 0.5: energy / original: explanation ${(energy(x) / energy(z)).toExponential(3)}, residual ${(energy(y) / energy(z)).toExponential(3)}; timings ${await page.getByTestId('latent-result').getAttribute('data-timings')}`);
  expect(energy(y)).toBeGreaterThan(0);
});
