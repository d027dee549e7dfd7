/**
 * For `describe.skipIf` / `it.skipIf`: returns true (skip) when `ok` is false and then prints why
 * (`SKIP <what>: <why>`), so a skipped model or data test is never silent in the log.
 */
export function skipUnless(ok: boolean, what: string, why: string): boolean {
  if (!ok) console.warn(`SKIP ${what}: ${why}`);
  return !ok;
}
