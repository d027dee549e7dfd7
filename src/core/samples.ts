// A file's samples as the worker keeps them (issue 12): float32, or for long files 16-bit PCM
// (value = q / 32768): half the memory (an hour at 16 kHz: 115 MB instead of 230 MB), and the
// same values as the original's WAV (wavBlob, pcm16) that the page plays, so the explanation plus
// the residual (original − explanation) add up to what the listener hears as the original.
import { pcm16ArrayInto } from './wav';

/** Mono samples at the model rate: float values, or 16-bit PCM values (value = q / 32768). */
export type Samples = Float32Array | Int16Array;

/** The factor a stored sample is multiplied by to get its value: 1, or 1 / 32768 for 16-bit PCM. */
export function sampleScale(x: Samples): number {
  return x instanceof Int16Array ? 1 / 32768 : 1;
}

/** The samples as 16-bit PCM, converted as the WAV encoder does (pcm16: clipped to [-1, 1], ·32768 rounded, at most 32767). */
export function pcm16Samples(x: Float32Array): Int16Array {
  const out = new Int16Array(x.length);
  pcm16ArrayInto(x, 0, x.length, out);
  return out;
}

/** Samples [start, end) as float values into `dst` at `offset` (a copy of float samples; PCM ones scaled). */
export function samplesInto(x: Samples, start: number, end: number, dst: Float32Array, offset: number): void {
  if (x instanceof Float32Array) {
    dst.set(x.subarray(start, end), offset);
    return;
  }
  const k = 1 / 32768;
  for (let i = start; i < end; i++) dst[offset + i - start] = x[i] * k;
}

/** The samples as float values: float ones as they are, 16-bit PCM ones converted (a new array). */
export function floatSamples(x: Samples): Float32Array {
  if (x instanceof Float32Array) return x;
  const out = new Float32Array(x.length);
  samplesInto(x, 0, x.length, out, 0);
  return out;
}
