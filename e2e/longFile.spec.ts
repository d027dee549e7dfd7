/**
 * Long files (issue 12): a generated 20-minute file is shown with provisional classes (a first
 * classifier pass over every other window) and gets the explanation of the part around the play
 * head (what the user hears and sees first) while the other windows are still being classified;
 * the final classes follow, then the whole file, with the fill's progress shown; switching class
 * during the fill cancels it cleanly (the old class never completes, the new one does, no error).
 */
import { test, expect, type Page } from '@playwright/test';
import { loadavg } from 'node:os';
import * as h from './helpers';

test.describe.configure({ mode: 'serial' });

const MINUTES = 20;
const NAME = 'long-20min.wav';

interface Ev {
  t: number;
  target: number;
  focus: { t0: number; t1: number; windowsDone: number; windowsTotal: number } | null;
  maskMean: number;
  /** The largest |x| of the explanation audio in 1-20 s and in the last 30 s (from its waveform peaks: long files get no float audio, issue 12). */
  peakFocus: number;
  peakEnd: number;
  /** Whether the explanation came with float arrays (files up to 2 min only). */
  floats: boolean;
  /** Bytes of the explanation's WAV file (44 + 2 per sample). */
  wavBytes: number;
  /** Whether the page holds the samples (files up to 2 min only), and the original's WAV size. */
  pageSamples: boolean;
  originalBytes: number;
  /** Whether the file's classes were still provisional (the classifier's second pass running). */
  provisional: boolean;
}

/** Records in the page every explanation the file shows (a store subscription: nothing is missed). */
async function recordExplanations(page: Page) {
  await page.evaluate((n) => {
    type E = { target: number; focus?: Ev['focus']; maskMean: number; maskedIn?: Float32Array; audio: { explanation: Blob; peaks: { explanation: Float32Array } } };
    type A = { durationS: number; samples?: Float32Array; original: { wav: Blob }; provisional?: { windowsDone: number; windowsTotal: number } };
    type F = { name: string; explanation?: E; analysis?: A };
    type W = { __lmac: { ui: { subscribe(l: (s: { files: F[] }) => void): () => void } }; __ev: Ev[]; __an: { t: number; provisional: A['provisional'] | null }[] };
    const w = window as unknown as W;
    w.__ev = [];
    w.__an = [];
    let last: E | undefined;
    let lastA: A | undefined;
    // the largest peak of the buckets lying wholly in [a, b) s
    const peakIn = (p: Float32Array, d: number, a: number, b: number) => {
      let m = 0;
      const i0 = Math.ceil((a / d) * p.length);
      const i1 = Math.floor((b / d) * p.length);
      for (let i = i0; i < Math.min(i1, p.length); i++) m = Math.max(m, p[i]);
      return m;
    };
    w.__lmac.ui.subscribe((s) => {
      const f = s.files.find((g) => g.name === n);
      // every analysis the file shows: the provisional one, then the final one
      if (f?.analysis && f.analysis !== lastA) {
        lastA = f.analysis;
        w.__an.push({ t: performance.now(), provisional: f.analysis.provisional ?? null });
      }
      const e = f?.explanation;
      if (!e || e === last || !f.analysis) return;
      last = e;
      const d = f.analysis.durationS;
      const p = e.audio.peaks.explanation;
      w.__ev.push({
        t: performance.now(),
        target: e.target,
        focus: e.focus ?? null,
        maskMean: e.maskMean,
        peakFocus: peakIn(p, d, 1, 20),
        peakEnd: peakIn(p, d, d - 30, d),
        floats: e.maskedIn !== undefined,
        wavBytes: e.audio.explanation.size,
        pageSamples: f.analysis.samples !== undefined,
        originalBytes: f.analysis.original.wav.size,
        provisional: f.analysis.provisional !== undefined,
      });
    });
  }, NAME);
}

async function events(page: Page): Promise<Ev[]> {
  return page.evaluate(() => (window as unknown as { __ev: Ev[] }).__ev);
}

async function analyses(page: Page): Promise<{ t: number; provisional: { windowsDone: number; windowsTotal: number } | null }[]> {
  return page.evaluate(() => (window as unknown as { __an: { t: number; provisional: { windowsDone: number; windowsTotal: number } | null }[] }).__an);
}

test('a 20-minute file: the part around the play head first, then the whole file; switching class during the fill cancels it', async ({ page }) => {
  test.setTimeout(900_000);
  page.on('console', (m) => {
    if (m.type() === 'error') console.log(`[browser] ${m.text()}`);
  });
  await page.goto('/');
  await expect(page.getByTestId('backend-in-use')).toHaveText(/^(WASM|WEBGPU)$/, { timeout: 240_000 });
  await recordExplanations(page);
  const t0 = Date.now();
  await page.getByTestId('file-input').setInputFiles({ name: NAME, mimeType: 'audio/wav', buffer: h.longTestWav(60 * MINUTES) });
  await h.expectReady(page, NAME, 600_000);
  const tReady = Date.now();
  await expect(page.getByTestId('file-view')).toHaveAttribute('data-file', NAME);

  // first: the focused part (around the play head at 0: 0-30 s), with the fill's progress shown
  await expect.poll(async () => (await events(page)).length, { timeout: 300_000 }).toBeGreaterThan(0);
  const tFocus = Date.now();
  const first = (await events(page))[0];
  expect(first.focus, 'the first explanation shown is the focused part').not.toBeNull();
  // the file was shown with the provisional classes of every other window, and the part on screen
  // was explained while the other windows were still being classified (issue 12)
  const an0 = await analyses(page);
  expect(an0[0].provisional, 'the first classes shown are provisional').not.toBeNull();
  const windowsTotal = an0[0].provisional!.windowsTotal;
  expect(windowsTotal).toBe(first.focus!.windowsTotal);
  expect(an0[0].provisional!.windowsDone).toBe(Math.floor(windowsTotal / 2) + 1);
  expect(first.provisional, 'the part on screen came before the classifier pass ended').toBe(true);
  expect(first.focus!.t0).toBeLessThanOrEqual(0.5);
  expect(first.focus!.t1).toBeGreaterThanOrEqual(25);
  expect(first.focus!.windowsDone).toBeLessThan(first.focus!.windowsTotal / 10);
  // audible there already, silent where not explained yet
  expect(first.peakFocus).toBeGreaterThan(1e-3);
  expect(first.peakEnd).toBe(0);
  // a long file: the audio as a 16-bit WAV of the whole length, no float copies on the page (issue 12)
  expect(first.floats).toBe(false);
  expect(first.wavBytes).toBe(44 + 2 * 16000 * 60 * MINUTES);
  // nor the samples: they moved to the worker; the player has the original as a WAV
  expect(first.pageSamples).toBe(false);
  expect(first.originalBytes).toBe(44 + 2 * 16000 * 60 * MINUTES);
  await expect(page.getByTestId('fill')).toBeVisible();
  await expect(page.getByTestId('fill')).toHaveAttribute('data-focus', /^\d/);
  await expect(page.getByTestId('solo-in')).toBeEnabled();
  const oldTarget = first.target;

  // switch class while the rest of the file is filling in (the classes may still be provisional)
  const rows = page.getByTestId('class-row');
  const picked = await rows.nth(1).getAttribute('data-class');
  await rows.nth(1).click();
  const tSwitch = Date.now();
  await expect(page.locator(`[data-testid="class-item"][data-class="${picked}"]`)).toHaveClass(/selected/);
  // the new class: its focused part, then its whole file
  await expect.poll(async () => (await events(page)).some((e) => e.target !== oldTarget && e.focus), { timeout: 300_000 }).toBe(true);
  const tNewFocus = Date.now();
  await expect.poll(async () => (await events(page)).some((e) => e.target !== oldTarget && !e.focus), { timeout: 600_000 }).toBe(true);
  const tNewAll = Date.now();
  const evs = await events(page);
  // the final classes came (all windows), before the whole file's explanation, and replaced the provisional note
  const an = await analyses(page);
  const fin = an.find((x) => x.provisional === null);
  expect(fin, 'the final analysis arrived').toBeDefined();
  expect(an[an.length - 1].provisional).toBeNull();
  expect(evs.find((e) => !e.focus)!.provisional).toBe(false);
  await expect(page.getByTestId('classes-provisional')).toHaveCount(0);
  await expect(page.getByTestId('file-view')).toContainText(`${windowsTotal} windows`);
  // the user's pick stays the target with the final classes
  await expect(page.locator(`[data-testid="class-item"][data-class="${picked}"]`)).toHaveClass(/selected/);
  // the old class's fill was cancelled: it never completed
  expect(evs.filter((e) => e.target === oldTarget && !e.focus)).toEqual([]);
  const all = evs.find((e) => e.target !== oldTarget && !e.focus)!;
  expect(all.peakFocus).toBeGreaterThan(1e-3);
  expect(all.peakEnd, 'the whole file is explained: audible in its last 30 s').toBeGreaterThan(1e-3);
  expect(all.floats).toBe(false);
  expect(all.maskMean).toBeGreaterThan(0);
  await expect(page.getByTestId('target')).not.toContainText(/error|failed|cancelled/i);
  await expect(page.getByTestId('fill')).toHaveCount(0, { timeout: 60_000 });
  // the metrics ran on the windows on screen only (around the play head at 0: 0-30 s), and say so
  await expect(page.getByTestId('metrics-range')).toContainText(/measured on the \d+ of \d+ windows that were on screen \(0:00\.00–0:3\d\.\d\d\)/, { timeout: 300_000 });
  await expect(page.getByTestId('metric-lmac-AI')).not.toHaveText('—');
  console.log(
    `${MINUTES}-minute WAV: provisional classes ${((tReady - t0) / 1000).toFixed(1)} s, final classes ${((fin!.t - an[0].t) / 1000).toFixed(1)} s later; focused part ${((tFocus - tReady) / 1000).toFixed(1)} s after;` +
      ` another class: its focused part ${((tNewFocus - tSwitch) / 1000).toFixed(1)} s, whole file ${((tNewAll - tSwitch) / 1000).toFixed(1)} s after the click; load average ${loadavg()[0].toFixed(2)}`,
  );
});
