/**
 * The page where people listen (issue 12): on a 1280×720 laptop screen the transport and the
 * three tracks are in view once a file is explained, at phone width (390×844) the play button and
 * the Explanation track (without scrolling either); the page has no horizontal scroll, with a file
 * explained and its metrics shown.
 */
import { test, expect, type Page } from '@playwright/test';
import { encodeWav } from '../src/core/wav';
import * as h from './helpers';


/** 3 s at 44.1 kHz: a tone with knocks (generated here). */
function generatedWav(): Buffer {
  const rate = 44100;
  const x = new Float32Array(rate * 3);
  for (let i = 0; i < x.length; i++) x[i] = 0.3 * Math.sin((2 * Math.PI * 660 * i) / rate) * (1 + Math.sin((2 * Math.PI * 2 * i) / rate)) / 2;
  for (const t0 of [0.4, 1.3, 2.2]) {
    const s = Math.round(t0 * rate);
    for (let j = 0; j < 5000; j++) x[s + j] += 0.5 * Math.exp(-j / 800) * Math.sin((2 * Math.PI * 180 * j) / rate);
  }
  return Buffer.from(encodeWav(x, rate, 'pcm16'));
}

/** Whether the element's box lies wholly inside the viewport. */
async function inViewport(page: Page, testid: string): Promise<{ inside: boolean; box: unknown }> {
  return page.getByTestId(testid).evaluate((el) => {
    const r = el.getBoundingClientRect();
    const inside = r.width > 0 && r.height > 0 && r.top >= 0 && r.left >= 0 && r.bottom <= innerHeight && r.right <= innerWidth;
    return { inside, box: { top: r.top, bottom: r.bottom, left: r.left, right: r.right, vw: innerWidth, vh: innerHeight } };
  });
}

/** Elements wider than the viewport's right edge (for the failure message). */
async function overflowing(page: Page): Promise<string[]> {
  return page.evaluate(() =>
    Array.from(document.querySelectorAll<HTMLElement>('body *'))
      .filter((e) => e.getBoundingClientRect().right > innerWidth + 0.5 && e.getClientRects().length > 0)
      .slice(0, 12)
      .map((e) => `${e.tagName.toLowerCase()}.${e.className} right=${Math.round(e.getBoundingClientRect().right)}`),
  );
}

async function explainOne(page: Page, name: string) {
  await page.goto('/');
  await expect(page.getByTestId('backend-in-use')).toHaveText(/^(WASM|WEBGPU)$/, { timeout: 240_000 });
  await page.getByTestId('file-input').setInputFiles({ name, mimeType: 'audio/wav', buffer: generatedWav() });
  await h.expectReady(page, name);
  const mm = page.getByTestId('mask-mean');
  await expect(mm).toHaveAttribute('data-busy', 'false', { timeout: 180_000 });
  await expect(mm).toHaveText(/mask mean \d\.\d{3}$/, { timeout: 180_000 });
}

for (const vp of [
  { width: 1280, height: 720, name: 'laptop' },
  { width: 390, height: 844, name: 'phone' },
]) {
  test(`${vp.name} ${vp.width}×${vp.height}: after an explanation the play button and the tracks are in view, no horizontal scroll`, async ({ browser }) => {
    const page = await browser.newPage({ viewport: { width: vp.width, height: vp.height } });
    try {
      // at the empty page already nothing is wider than the screen
      await page.goto('/');
      expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(vp.width);
      await explainOne(page, `layout-${vp.name}.wav`);
      // the metrics arrive after the audio: the layout must hold with them shown
      await expect(page.getByTestId('metrics-table').first()).toBeVisible({ timeout: 180_000 });
      const sw = await page.evaluate(() => document.documentElement.scrollWidth);
      expect(sw, `too wide: ${(await overflowing(page)).join('; ')}`).toBeLessThanOrEqual(vp.width);
      // the user has not scrolled: play and the Explanation track are on screen (on the laptop
      // all three tracks; on a phone the examples and the model's details sit below the file view)
      expect(await page.evaluate(() => scrollY)).toBe(0);
      for (const id of vp.name === 'laptop' ? ['play', 'wave-original', 'wave-in', 'wave-out', 'solo-in'] : ['play', 'wave-in', 'solo-in']) {
        const r = await inViewport(page, id);
        expect(r.inside, `${id} in view: ${JSON.stringify(r.box)}`).toBe(true);
      }
      if (vp.name === 'phone') {
        // the examples are still there, below
        await page.getByTestId('example-siren').scrollIntoViewIfNeeded();
        expect((await inViewport(page, 'example-siren')).inside).toBe(true);
        expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(vp.width);
      }
      await page.screenshot({ path: test.info().outputPath(`layout-${vp.name}.png`), fullPage: true });
    } finally {
      await page.close();
    }
  });
}
