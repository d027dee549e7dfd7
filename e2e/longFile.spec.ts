/**
 * Long files (issue 12): a generated 20-minute file is shown with provisional classes (a first
 * classifier pass over every other window) and gets the explanation of the part around the play
 * head (what the user hears and sees first) while the other windows are still being classified;
 * the final classes follow, then the whole file, with the fill's progress shown; after zooming the
 * spectrogram into the middle of the file, another class explains that visible range first; switching class
 * during the fill cancels it cleanly (the old class never completes, the new one does, no error).
 * LMAC-TD, which needs every window, says it waits for the second pass; that pass can be cancelled
 * from the file list (the provisional classes and the part explained stay, labelled) and run again.
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
  /** The largest |x| of the explanation audio inside the view the test zoomed to (window.__view; 0 before). */
  peakView: number;
}

/** Records in the page every explanation the file shows (a store subscription: nothing is missed). */
async function recordExplanations(page: Page) {
  await page.evaluate((n) => {
    type E = { target: number; focus?: Ev['focus']; maskMean: number; maskedIn?: Float32Array; audio: { explanation: Blob; peaks: { explanation: Float32Array } } };
    type A = { durationS: number; samples?: Float32Array; original: { wav: Blob }; provisional?: { windowsDone: number; windowsTotal: number } };
    type F = { name: string; explanation?: E; analysis?: A };
    type W = { __lmac: { ui: { subscribe(l: (s: { files: F[] }) => void): () => void } }; __ev: Ev[]; __an: { t: number; provisional: A['provisional'] | null }[]; __view?: { t0: number; t1: number } };
    const w = window as unknown as W & { __audio: E['audio'][] };
    w.__ev = [];
    // every explanation's audio object (issue 12: a replaced one lets go of its WAV files)
    w.__audio = [];
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
      if (!w.__audio.includes(e.audio)) w.__audio.push(e.audio);
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
        peakView: w.__view ? peakIn(p, d, w.__view.t0, w.__view.t1) : 0,
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

test('a 20-minute file: the part around the play head first, then the whole file; another class for a zoomed view: that view first; switching class during the fill cancels it', async ({ page }) => {
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

  // zoom the spectrogram (the mouse wheel over its middle) to about 13 s around 10:00: the part
  // on screen is now there, far from the play head
  const canvas = page.getByTestId('spectrogram-canvas');
  await canvas.scrollIntoViewIfNeeded();
  const cb = (await canvas.boundingBox())!;
  await page.mouse.move(cb.x + cb.width / 2, cb.y + cb.height / 2);
  for (let i = 0; i < 3; i++) await page.mouse.wheel(0, -1000);
  const spec = page.getByTestId('spectrogram');
  await expect.poll(async () => Number(await spec.getAttribute('data-t1')) - Number(await spec.getAttribute('data-t0'))).toBeLessThan(20);
  const view = { t0: Number(await spec.getAttribute('data-t0')), t1: Number(await spec.getAttribute('data-t1')) };
  expect(view.t0).toBeGreaterThan(500);
  expect(view.t1).toBeLessThan(700);
  // the peaks to look at: well inside the view (the mask fades at a window's edges)
  const inner = { t0: view.t0 + 1, t1: view.t1 - 1 };
  await page.evaluate((v) => ((window as unknown as { __view: typeof v }).__view = v), inner);

  // switch class while the rest of the file is filling in (the classes may still be provisional)
  const rows = page.getByTestId('class-row');
  const picked = await rows.nth(1).getAttribute('data-class');
  await rows.nth(1).click();
  const tSwitch = Date.now();
  await expect(page.locator(`[data-testid="class-item"][data-class="${picked}"]`)).toHaveClass(/selected/);
  // the new class: its focused part (the visible range), then its whole file
  await expect.poll(async () => (await events(page)).some((e) => e.target !== oldTarget && e.focus), { timeout: 300_000 }).toBe(true);
  const tNewFocus = Date.now();
  const newFocus = (await events(page)).find((e) => e.target !== oldTarget && e.focus)!;
  expect(newFocus.focus!.t0, 'the part explained first covers the view').toBeLessThanOrEqual(view.t0 + 0.05);
  expect(newFocus.focus!.t1).toBeGreaterThanOrEqual(view.t1 - 0.05);
  expect(newFocus.focus!.t1 - newFocus.focus!.t0, 'and not much more (the windows that overlap it)').toBeLessThan(view.t1 - view.t0 + 12);
  expect(newFocus.peakView, 'audible in the view').toBeGreaterThan(1e-3);
  expect(newFocus.peakFocus, 'not yet at the start of the file').toBe(0);
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
  // the metrics ran on the windows on screen only (the zoomed view), and say so
  const mr = page.getByTestId('metrics-range');
  await expect(mr).toContainText(/measured on the \d+ of \d+ windows that were on screen \(\d+:\d\d\.\d\d–\d+:\d\d\.\d\d\)/, { timeout: 300_000 });
  const [m0, m1] = [...(await mr.textContent())!.matchAll(/(\d+):(\d\d\.\d\d)/g)].map((m) => 60 * Number(m[1]) + Number(m[2]));
  expect(m0).toBeLessThanOrEqual(view.t0 + 0.05);
  expect(m1).toBeGreaterThanOrEqual(view.t1 - 0.05);
  expect(m1 - m0).toBeLessThan(view.t1 - view.t0 + 12);
  await expect(page.getByTestId('metric-lmac-AI')).not.toHaveText('—');

  // the replaced explanations (focused parts, the old class) let go of their WAV files: only the
  // shown one's are whole-length (issue 12: the browser process held two hours' pairs before)
  const sizes = await page.evaluate(() => (window as unknown as { __audio: { explanation: Blob; residual: Blob }[] }).__audio.map((a) => [a.explanation.size, a.residual.size]));
  expect(sizes.length, 'focused parts and whole files of two classes').toBeGreaterThanOrEqual(3);
  expect(sizes.slice(0, -1)).toEqual(sizes.slice(0, -1).map(() => [44, 44]));
  expect(sizes[sizes.length - 1]).toEqual([44 + 2 * 16000 * 60 * MINUTES, 44 + 2 * 16000 * 60 * MINUTES]);
  // each track of the long file plays: its own whole-length WAV, media time advancing
  const player = () =>
    page.evaluate(() => {
      const a = document.querySelector<HTMLAudioElement>('audio[data-testid="player"]')!;
      return { t: a.currentTime, paused: a.paused, src: a.src, duration: a.duration };
    });
  const srcs = new Set<string>();
  for (const track of ['in', 'out', 'original'] as const) {
    await page.getByTestId(`solo-${track}`).click();
    await expect(page.getByTestId(`solo-${track}`)).toHaveAttribute('aria-pressed', 'true');
    if (!(await player()).paused) await page.getByTestId('play').click();
    await expect.poll(async () => (await player()).paused).toBe(true);
    await page.keyboard.press('Home');
    await page.getByTestId('play').click();
    await expect.poll(async () => (await player()).t, { timeout: 20_000 }).toBeGreaterThan(0.3);
    const st = await player();
    expect(st.duration).toBeCloseTo(60 * MINUTES, 1);
    srcs.add(st.src);
    await page.getByTestId('play').click();
  }
  expect(srcs.size, 'three different sources').toBe(3);

  // where the origin's files are on disk (OPFS), the three tracks are Files there, and the worker
  // reads the samples from a file of its own (issue 12: nothing of the hour's audio in memory);
  // removing the file from the list removes its samples at once and its tracks after a grace period
  const shown = await page.evaluate((n) => {
    type F = { name: string; explanation?: { audio: { explanation: Blob; residual: Blob } }; analysis?: { original: { wav: Blob } } };
    const f = (window as unknown as { __lmac: { ui: { getState(): { files: F[] } } } }).__lmac.ui.getState().files.find((x) => x.name === n)!;
    const name = (b: Blob | undefined) => (b instanceof File ? b.name : null);
    return [name(f.analysis?.original.wav), name(f.explanation?.audio.explanation), name(f.explanation?.audio.residual)];
  }, NAME);
  const bytes = 2 * 16000 * 60 * MINUTES;
  const onDisk = await h.diskAudioFiles(page);
  expect(shown.every((n) => n !== null), `the tracks are Files on disk (${JSON.stringify(shown)})`).toBe(true);
  for (const n of shown) expect(onDisk[n!], `${n} on disk`).toBe(44 + bytes);
  const pcm = Object.keys(onDisk).filter((n) => n.endsWith('.pcm'));
  expect(pcm.map((n) => onDisk[n]), "the worker's samples: one file of 16-bit samples").toEqual([bytes]);
  await page.getByRole('button', { name: `Remove ${NAME}` }).click();
  await expect(h.fileItem(page, NAME)).toHaveCount(0);
  await expect.poll(async () => Object.keys(await h.diskAudioFiles(page)).filter((n) => n.endsWith('.pcm')), { timeout: 5_000 }).toEqual([]);
  await expect.poll(async () => Object.keys(await h.diskAudioFiles(page)), { timeout: 30_000 }).toEqual([]);
  console.log(
    `${MINUTES}-minute WAV: provisional classes ${((tReady - t0) / 1000).toFixed(1)} s, final classes ${((fin!.t - an[0].t) / 1000).toFixed(1)} s later; focused part ${((tFocus - tReady) / 1000).toFixed(1)} s after;` +
      ` another class (view ${view.t0.toFixed(1)}-${view.t1.toFixed(1)} s): its focused part ${((tNewFocus - tSwitch) / 1000).toFixed(1)} s, whole file ${((tNewAll - tSwitch) / 1000).toFixed(1)} s after the click; load average ${loadavg()[0].toFixed(2)}`,
  );
});

test('a 20-minute file: LMAC-TD says it waits for the second pass; cancelling that pass keeps the provisional classes and the part explained, and Retry analyses the file again', async ({ page }) => {
  test.setTimeout(900_000);
  const name = 'long-20min-cancel.wav';
  page.on('console', (m) => {
    if (m.type() === 'error') console.log(`[browser] ${m.text()}`);
  });
  await page.goto('/');
  await expect(page.getByTestId('backend-in-use')).toHaveText(/^(WASM|WEBGPU)$/, { timeout: 240_000 });
  await page.getByTestId('file-input').setInputFiles({ name, mimeType: 'audio/wav', buffer: h.longTestWav(60 * MINUTES) });
  await h.expectReady(page, name, 600_000);
  const item = h.fileItem(page, name);
  // provisional classes: the file list says the other windows are being classified, with a Cancel
  await expect(item).toHaveAttribute('data-second-pass', 'running');
  await expect(item.getByTestId('cancel')).toBeVisible();
  await expect(item.locator('.file-status')).toHaveText(/classifying (\d+\/\d+|…)/);
  await expect(item.locator('.progress')).toBeVisible();
  // the L-MAC part on screen comes while the second pass runs
  await expect(page.getByTestId('fill')).toHaveAttribute('data-focus', /^\d/, { timeout: 300_000 });
  await expect(page.getByTestId('solo-in')).toBeEnabled();
  const focus = (await page.getByTestId('fill').getAttribute('data-focus'))!;
  await expect(item).toHaveAttribute('data-second-pass', 'running');

  // LMAC-TD cannot start before every window is classified: the page says so (not "the part on screen first")
  await page.getByTestId('explainer-lmactd').check();
  const fill = page.getByTestId('fill');
  await expect(fill).toHaveAttribute('data-waiting', 'classes');
  await expect(fill).toContainText(/LMAC-TD needs every window classified: waiting for the classifier \(\d+\/\d+ windows\)/);
  await expect(fill).not.toContainText('Explaining the part on screen first');
  // back to L-MAC: its part on screen is explained again at once, on the provisional classes
  await page.getByTestId('explainer-lmac').check();
  await expect(fill).toHaveAttribute('data-focus', focus, { timeout: 300_000 });
  expect(await item.getAttribute('data-second-pass'), 'the second pass still runs (else the test cannot cancel it)').toBe('running');

  // cancel the second pass from the file list
  await item.getByTestId('cancel').click();
  await expect(item).toHaveAttribute('data-second-pass', 'stopped');
  await expect(item).toHaveAttribute('data-status', 'ready');
  await expect(item.locator('.file-status')).toContainText('classes provisional (analysis cancelled)');
  await expect(item.getByTestId('cancel')).toHaveCount(0);
  // the provisional classes and the part explained stay, labelled; nothing is lost, no error
  await expect(page.getByTestId('file-view')).toHaveAttribute('data-file', name);
  await expect(page.getByTestId('classes-provisional')).toHaveAttribute('data-stopped', 'cancelled');
  await expect(page.getByTestId('classes-provisional')).toContainText('was cancelled, so these classes stay provisional');
  await expect(page.getByTestId('fill-stopped')).toContainText(/Analysis cancelled at \d+ of \d+ windows: the classes are provisional, only 0:00\.00–0:\d\d\.\d\d is explained/);
  await expect(page.getByTestId('fill')).toHaveCount(0);
  await expect(page.getByTestId('solo-in')).toBeEnabled();
  await expect(page.getByTestId('class-row').first()).toBeVisible();
  await expect(page.getByTestId('target')).not.toContainText(/error|failed/i);
  // and it stays so: no request is sent again and again for the explanation that cannot be finished
  const busy = () => page.evaluate((n) => {
    type F = { name: string; explaining?: boolean; explainError?: string };
    const st = (window as unknown as { __lmac: { ui: { getState(): { files: F[] } } } }).__lmac.ui.getState();
    const f = st.files.find((x) => x.name === n)!;
    return { explaining: !!f.explaining, error: f.explainError ?? null };
  }, name);
  await page.waitForTimeout(3000);
  expect(await busy()).toEqual({ explaining: false, error: null });
  await expect(page.getByTestId('fill-stopped')).toBeVisible();
  // another class cannot be explained without the other windows: the note says so, nothing fails
  const other = page.getByTestId('class-row').nth(1);
  const otherLabel = (await other.locator('.label').textContent())!.trim();
  const shownLabel = (await page.getByTestId('class-row').first().locator('.label').textContent())!.trim();
  await other.click();
  await expect(page.getByTestId('target')).toContainText(otherLabel);
  await expect(page.getByTestId('fill-stopped')).toContainText(`(the explanation shown is for ${shownLabel}). Another class, threshold or explainer needs every window.`);
  await page.waitForTimeout(3000);
  expect(await busy()).toEqual({ explaining: false, error: null });
  await expect(page.getByTestId('solo-in')).toBeEnabled();

  // Retry analyses the whole file again: provisional classes again, with the second pass running
  await page.getByTestId('retry-main').click();
  await expect(item).toHaveAttribute('data-status', /^(queued|analyzing)$/);
  await expect(page.getByTestId('fill-stopped')).toHaveCount(0);
  await h.expectReady(page, name, 600_000);
  await expect(item).not.toHaveAttribute('data-second-pass', 'stopped');
  await expect(page.getByTestId('fill')).toHaveAttribute('data-focus', /^\d/, { timeout: 300_000 });
  // the analysis again: the worker's samples file of the first one was removed, its own is there
  const pcm = Object.entries(await h.diskAudioFiles(page)).filter(([n]) => n.endsWith('.pcm'));
  expect(pcm.map(([, size]) => size)).toEqual([2 * 16000 * 60 * MINUTES]);
  console.log(`cancel/retry: load average ${loadavg()[0].toFixed(2)}`);
});
