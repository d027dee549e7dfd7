/** Helpers shared by the e2e specs (each spec keeps its own page). */
import { expect, type Locator, type Page } from '@playwright/test';
import { execFileSync } from 'node:child_process';

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
