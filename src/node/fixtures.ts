// Node-only: read the PyTorch reference fixtures written by models/train/export*.py
// (a .json layout + a .bin of float32 little-endian arrays).
import { readFileSync } from 'node:fs';

interface FixtureArray {
  name: string;
  shape: number[];
  offset: number;
  dtype: string;
}

/** The fixture's JSON metadata and its arrays by name. */
export function readFixture<M extends object>(jsonPath: string): { meta: M; arrays: Record<string, Float32Array>; shapes: Record<string, number[]> } {
  const meta = JSON.parse(readFileSync(jsonPath, 'utf8')) as M & { arrays: FixtureArray[] };
  const bin = readFileSync(jsonPath.replace(/\.json$/, '.bin'));
  const arrays: Record<string, Float32Array> = {};
  const shapes: Record<string, number[]> = {};
  for (const a of meta.arrays) {
    if (a.dtype !== 'float32') throw new Error(`fixture array ${a.name}: unsupported dtype ${a.dtype}`);
    const n = a.shape.reduce((x, y) => x * y, 1);
    arrays[a.name] = new Float32Array(bin.buffer.slice(bin.byteOffset + a.offset, bin.byteOffset + a.offset + 4 * n));
    shapes[a.name] = a.shape;
  }
  return { meta, arrays, shapes };
}

/** Largest absolute element-wise difference (throws on a length mismatch). */
export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} vs ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}
