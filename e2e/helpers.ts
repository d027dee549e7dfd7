/** Helpers shared by the e2e specs (each spec keeps its own page). */
import { expect, type Locator, type Page } from '@playwright/test';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { decodeWav, encodeWav } from '../src/core/wav';

export function fileItem(page: Page, name: string): Locator {
  return page.locator(`[data-testid="file-item"][data-name="${name}"]`);
}

/** Waits until the file's analysis finished and expects it to be ready (failing fast with its error). */
export async function expectReady(page: Page, name: string, timeout = 180_000) {
  const item = fileItem(page, name);
  await expect(item).toHaveAttribute('data-status', /^(ready|error|cancelled)$/, { timeout });
  const status = await item.getAttribute('data-status');
  if (status !== 'ready') throw new Error(`${name} ended ${status}: ${await item.locator('.file-error').textContent()}`);
}

/** Whether a command-line tool runs (`cmd ...args` exits 0). */
export function hasTool(cmd: string, args: string[] = ['--version']): boolean {
  try {
    execFileSync(cmd, args, { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

export function hasSox(): boolean {
  return hasTool('sox', ['--version']);
}

/** A generated 16 kHz WAV of `seconds`: a gliding tone, knocks every 0.9 s and a noise burst every 7 s (long-file specs). */
export function longTestWav(seconds: number): Buffer {
  const rate = 16000;
  const x = new Float32Array(rate * seconds);
  let ph = 0;
  let s = 12345;
  for (let i = 0; i < x.length; i++) {
    const t = i / rate;
    ph += (2 * Math.PI * (800 + 300 * Math.sin(2 * Math.PI * 0.5 * t))) / rate;
    s = (s * 16807) % 2147483647;
    const burst = t % 7 < 1.2 ? 0.25 * (s / 2147483647 - 0.5) : 0;
    const k = t % 0.9;
    x[i] = 0.25 * Math.sin(ph) + burst + (k < 0.05 ? 0.5 * Math.exp(-k * 80) * Math.sin(2 * Math.PI * 180 * k) : 0);
  }
  return Buffer.from(encodeWav(x, rate, 'pcm16'));
}

/** Prints the page's console errors into the test log (so a failing spec shows the browser's side). */
export function logBrowserErrors(page: Page): void {
  page.on('console', (m) => {
    if (m.type() === 'error') console.log(`[browser] ${m.text()}`);
  });
}

/** Downloads one export (explanation / residual / original WAV) into `dir` as `tag-<name>`, checks its
 * file name against `nameRe` when given and its rate (16 kHz, the bundles' rate), and returns channel 0. */
export async function exportedWav(page: Page, dir: string, what: 'explanation' | 'residual' | 'original', tag: string, nameRe?: RegExp): Promise<Float32Array> {
  const [d] = await Promise.all([page.waitForEvent('download'), page.getByTestId(`export-${what}`).click()]);
  if (nameRe) expect(d.suggestedFilename()).toMatch(nameRe);
  const p = join(dir, `${tag}-${d.suggestedFilename()}`);
  await d.saveAs(p);
  const w = decodeWav(readFileSync(p));
  expect(w.sampleRate).toBe(16000);
  return w.channels[0];
}

/** The app's files on disk (OPFS `lmac-audio/<worker>/`): name → size in bytes, over every worker's folder. */
export async function diskAudioFiles(page: Page): Promise<Record<string, number>> {
  return page.evaluate(async () => {
    type Dir = FileSystemDirectoryHandle & { entries(): AsyncIterable<[string, FileSystemHandle]> };
    const out: Record<string, number> = {};
    const root = (await navigator.storage.getDirectory()) as Dir;
    let top: Dir;
    try {
      top = (await root.getDirectoryHandle('lmac-audio')) as Dir;
    } catch {
      return out;
    }
    for await (const [, d] of top.entries()) {
      if (d.kind !== 'directory') continue;
      for await (const [name, f] of (d as Dir).entries()) if (f.kind === 'file') out[name] = (await (f as FileSystemFileHandle).getFile()).size;
    }
    return out;
  });
}
