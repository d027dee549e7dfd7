// Node-only: the ESC-50 metadata (esc50.csv) for model tests and benchmark CLIs.
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

export interface Esc50Clip {
  file: string;
  fold: number;
  target: number;
  category: string;
}

/** The data directory: $ESC50_DIR, else ../shared/data/esc50 beside the repository. */
export function esc50Dir(repoRoot: string): string {
  return process.env.ESC50_DIR ?? resolve(repoRoot, '..', 'shared', 'data', 'esc50');
}

/** Clips of some folds, sorted by file name (the order models/train/evaluate*.py use); throws naming a missing column. */
export function esc50Clips(dir: string, folds: Iterable<number>): Esc50Clip[] {
  const csvPath = join(dir, 'esc50.csv');
  const lines = readFileSync(csvPath, 'utf8').split(/\r?\n/).filter((l) => l.trim());
  const head = lines[0].split(',');
  const col = (name: string) => {
    const i = head.indexOf(name);
    if (i < 0) throw new Error(`${csvPath}: no "${name}" column`);
    return i;
  };
  const [iFile, iFold, iTarget, iCat] = [col('filename'), col('fold'), col('target'), col('category')];
  const wanted = new Set(folds);
  return lines
    .slice(1)
    .map((l) => l.split(','))
    .map((r) => ({ file: r[iFile], fold: Number(r[iFold]), target: Number(r[iTarget]), category: r[iCat] }))
    .filter((c) => wanted.has(c.fold))
    .sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : 0));
}
