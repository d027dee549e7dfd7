// A file's samples as the worker keeps them (issue 12): float32, or for long files 16-bit PCM
// (value = q / 32768): half the memory (an hour at 16 kHz: 115 MB instead of 230 MB), and the
// same values as the original's WAV (wavBlob, pcm16) that the page plays, so the explanation plus
// the residual (original − explanation) add up to what the listener hears as the original.
import { pcm16ArrayInto } from './wav';

/** Reads 16-bit PCM samples kept outside the JS heap: `dst.length` samples from sample `start` into `dst`. */
export interface PcmReader {
  readonly length: number;
  read(start: number, dst: Int16Array): void;
}

/**
 * 16-bit PCM samples read by range from a PcmReader (issue 12: a long file's samples in a file of
 * the worker's on disk instead of 115 MB of memory an hour). `range` returns a view into one
 * buffer that the next call overwrites: read what it holds before asking for another range.
 */
export class PcmStore {
  readonly length: number;
  private buf = new Int16Array(0);

  constructor(private readonly reader: PcmReader) {
    this.length = reader.length;
  }

  /** Samples [start, end) (clamped to the signal) as a view of the shared buffer. */
  range(start: number, end: number): Int16Array {
    const a = Math.max(0, start);
    const b = Math.min(this.length, end);
    const n = Math.max(0, b - a);
    if (this.buf.length < n) this.buf = new Int16Array(Math.max(n, Math.min(this.length, 2 * this.buf.length)));
    const v = this.buf.subarray(0, n);
    if (n) this.reader.read(a, v);
    return v;
  }

  /** `dst.length` samples from `start` into `dst` (not the shared buffer). */
  read(start: number, dst: Int16Array): void {
    if (start < 0 || start + dst.length > this.length) throw new RangeError(`PcmStore: samples ${start}..${start + dst.length} outside 0..${this.length}`);
    if (dst.length) this.reader.read(start, dst);
  }
}

/** Mono samples at the model rate: float values, 16-bit PCM values (value = q / 32768), or the latter read by range. */
export type Samples = Float32Array | Int16Array | PcmStore;

/** The factor a stored sample is multiplied by to get its value: 1, or 1 / 32768 for 16-bit PCM. */
export function sampleScale(x: Samples): number {
  return x instanceof Float32Array ? 1 : 1 / 32768;
}

/** The samples as 16-bit PCM, converted as the WAV encoder does (pcm16: clipped to [-1, 1], ·32768 rounded, at most 32767). */
export function pcm16Samples(x: Float32Array): Int16Array {
  const out = new Int16Array(x.length);
  pcm16ArrayInto(x, 0, x.length, out);
  return out;
}

/** Samples per read when a PcmStore's samples are converted (1 MiB of PCM). */
const PCM_READ_BLOCK = 1 << 19;

/** Samples [start, end) as float values into `dst` at `offset` (a copy of float samples; PCM ones scaled). */
export function samplesInto(x: Samples, start: number, end: number, dst: Float32Array, offset: number): void {
  if (x instanceof Float32Array) {
    dst.set(x.subarray(start, end), offset);
    return;
  }
  const k = 1 / 32768;
  if (x instanceof PcmStore) {
    // a block at a time: the store's buffer stays small
    for (let a = start; a < end; a += PCM_READ_BLOCK) {
      const b = Math.min(end, a + PCM_READ_BLOCK);
      const q = x.range(a, b);
      const o = offset + a - start;
      for (let i = 0; i < q.length; i++) dst[o + i] = q[i] * k;
    }
    return;
  }
  for (let i = start; i < end; i++) dst[offset + i - start] = x[i] * k;
}

/**
 * original − explanation over samples [start, start + part.length) into `dst` (the residual of a
 * linear ISTFT without a second one): bit for bit `x[i] · scale − part[i]` (q / 32768 is exact in float32).
 */
export function residualInto(x: Samples, start: number, part: Float32Array, dst: Float32Array): void {
  samplesInto(x, start, start + part.length, dst, 0);
  for (let i = 0; i < part.length; i++) dst[i] -= part[i];
}

/** A PcmReader over an in-memory array (tests: the same reads as the worker's file). */
export function memoryPcmReader(x: Int16Array): PcmReader {
  return { length: x.length, read: (start, dst) => dst.set(x.subarray(start, start + dst.length)) };
}

/** The samples as float values: float ones as they are, 16-bit PCM ones converted (a new array). */
export function floatSamples(x: Samples): Float32Array {
  if (x instanceof Float32Array) return x;
  const out = new Float32Array(x.length);
  samplesInto(x, 0, x.length, out, 0);
  return out;
}
