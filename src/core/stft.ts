// STFT / ISTFT matching torch.stft / torch.istft with a periodic Hann window, center=True,
// reflect padding (see docs/DESIGN.md "DSP conventions"). FFTs come from the `fft.js` package.
import FFT from 'fft.js';
import { LEVEL_VALUES } from './maskLevels';
import { PcmStore, sampleScale, type Samples } from './samples';

export interface StftParams {
  nFft: number;
  winLength: number;
  hopLength: number;
}

/** Complex spectrogram, bin-major: value (f, t) is at index f * frames + t. */
export interface Spectrogram {
  bins: number;
  frames: number;
  re: Float32Array;
  im: Float32Array;
}

/** Periodic Hann window of winLength, zero-padded centrally to nFft (as torch.stft does). */
export function hannWindow(winLength: number, nFft: number = winLength): Float64Array {
  if (winLength > nFft) throw new Error(`winLength ${winLength} exceeds nFft ${nFft}`);
  const w = new Float64Array(nFft);
  const offset = Math.floor((nFft - winLength) / 2);
  for (let i = 0; i < winLength; i++) w[offset + i] = 0.5 - 0.5 * Math.cos((2 * Math.PI * i) / winLength);
  return w;
}

/** Number of STFT frames for a signal of `length` samples (center=True). */
export function frameCount(length: number, hopLength: number): number {
  return Math.floor(length / hopLength) + 1;
}

/** Index into x for position i of the reflect-padded signal (repeats the reflection if needed). */
function reflectIndex(i: number, n: number): number {
  if (n === 1) return 0;
  const period = 2 * (n - 1);
  let k = i % period;
  if (k < 0) k += period;
  return k < n ? k : period - k;
}

const fftCache = new Map<number, FFT>();
function getFft(n: number): FFT {
  let f = fftCache.get(n);
  if (!f) {
    f = new FFT(n);
    fftCache.set(n, f);
  }
  return f;
}

function checkParams(p: StftParams): void {
  const { nFft, winLength, hopLength } = p;
  if (!Number.isInteger(nFft) || nFft < 2 || (nFft & (nFft - 1)) !== 0)
    throw new Error(`nFft must be a power of two, got ${nFft}`);
  if (!Number.isInteger(hopLength) || hopLength < 1 || hopLength > winLength)
    throw new Error(`hopLength must be in [1, winLength], got ${hopLength}`);
}

/** Complex STFT of a real signal (periodic Hann, centred, reflect padding), bin-major layout. */
export function stft(x: Float32Array, p: StftParams): Spectrogram {
  if (x.length === 0) throw new Error('stft: empty signal');
  // All frames of the unpadded signal: stftFrames' arithmetic, so both paths agree bit for bit.
  return stftFrames(x, x.length, p, 0, frameCount(x.length, p.hopLength));
}

/**
 * Unit phase e^{j∠X} of frames [o, o+T) of a spectrogram into re/im at `offset` as [bins × T]
 * (bin-major); 1 + 0j where |X| = 0 (any phase is right there: the magnitude it multiplies is 0).
 */
export function unitPhaseInto(spec: Spectrogram, o: number, T: number, re: Float32Array, im: Float32Array, offset: number): void {
  const TT = spec.frames;
  for (let f = 0; f < spec.bins; f++) {
    const src = f * TT + o;
    const dst = offset + f * T;
    for (let t = 0; t < T; t++) {
      const a = spec.re[src + t];
      const c = spec.im[src + t];
      const m = Math.sqrt(a * a + c * c);
      re[dst + t] = m > 0 ? a / m : 1;
      im[dst + t] = m > 0 ? c / m : 0;
    }
  }
}

/** |X| of a spectrogram, same bin-major layout (the classifier's input). */
export function magnitude(spec: Spectrogram): Float32Array {
  const { re, im } = spec;
  const mag = new Float32Array(re.length);
  for (let i = 0; i < re.length; i++) {
    const a = re[i];
    const b = im[i];
    mag[i] = Math.sqrt(a * a + b * b); // (Math.hypot is ~8× slower in V8)
  }
  return mag;
}

export interface IstftOptions {
  /**
   * Real mask [bins*frames] multiplied into re and im before the inverse (M ⊙ X): float values,
   * or 8-bit levels (value = level / 255, src/core/maskLevels.ts; issue 12).
   */
  mask?: Float32Array | Uint8Array;
  /** Use (1 - mask) instead of mask (the residual / masked-out signal). */
  invert?: boolean;
}

/**
 * Inverse STFT (torch.istft, center=True): inverse real FFT per frame, window, overlap-add,
 * divide by the summed squared window, drop nFft/2 at the start, trim or zero-pad to `length`.
 * Optionally applies a mask (or 1 - mask) on the fly. Two real frames share one complex IFFT.
 */
export function istft(spec: Spectrogram, p: StftParams, length: number, opts: IstftOptions = {}): Float32Array {
  // One block holding every frame: the same arithmetic as the block-wise path, without its copies.
  return istftFrom(specSource(spec), p, length, { ...opts, blockFrames: spec.frames + 1 });
}

/**
 * ISTFT of the frames [frame0, frame1) only (issue 12: the audio of what is on screen before the
 * whole file): returns the samples [start, start + samples.length) of the signal whose every
 * contributing frame lies in the range — bit for bit the whole-file `istft` there when frame0 is
 * even (frames are inverted in pairs) — clipped to [0, length).
 */
export function istftFrames(
  spec: Spectrogram | SpecSource,
  p: StftParams,
  length: number,
  frame0: number,
  frame1: number,
  opts: IstftOptions = {},
): { start: number; samples: Float32Array } {
  const { bins, frames } = spec;
  const a = Math.max(0, frame0 - (frame0 % 2));
  const b = Math.min(frames, frame1);
  if (b - a < 2) return { start: 0, samples: new Float32Array(0) };
  const n = b - a;
  const { re, im } = 'block' in spec ? spec.block(a, b) : specSource(spec).block(a, b);
  // the same kind of mask (float values or 8-bit levels) over the frames [a, b)
  const cut = <A extends Float32Array | Uint8Array>(m: A, out: A): A => {
    for (let f = 0; f < bins; f++) out.set(m.subarray(f * frames + a, f * frames + b) as ArrayLike<number>, f * n);
    return out;
  };
  const m = opts.mask;
  const mask = !m ? undefined : m instanceof Uint8Array ? cut(m, new Uint8Array(bins * n)) : cut(m, new Float32Array(bins * n));
  const half = p.nFft / 2;
  const hop = p.hopLength;
  // sub-ISTFT sample j is signal sample a·hop + j; complete where every overlapping frame is in range
  const subLen = (n - 1) * hop + half;
  const sub = istft({ bins, frames: n, re, im }, p, subLen, { mask, invert: opts.invert });
  const j0 = a === 0 ? 0 : half;
  const j1 = b === frames ? subLen : (n - 1) * hop - half + 1;
  const s0 = Math.max(0, a * hop + j0);
  const s1 = Math.min(length, a * hop + j1);
  if (s1 <= s0) return { start: s0, samples: new Float32Array(0) };
  return { start: s0, samples: sub.slice(s0 - a * hop, s1 - a * hop) };
}

/**
 * Frames of a spectrogram by range (issue 12): long files keep no whole-file STFT; the pipeline
 * asks for the frames [t0, t1) it needs (a window, a block for the ISTFT) and gets them as a
 * small Spectrogram of t1 − t0 frames.
 */
export interface SpecSource {
  bins: number;
  frames: number;
  /** Frames [t0, t1), bin-major; the arrays may be reused by the next call (signalSource): use them before asking for another block. */
  block(t0: number, t1: number): Spectrogram;
  /** The whole-file spectrogram when the source is one (short files), for the faster whole-file paths. */
  whole?: Spectrogram;
}

/** A SpecSource over a whole-file spectrogram (slices of it). */
export function specSource(spec: Spectrogram): SpecSource {
  const { bins, frames } = spec;
  return {
    bins,
    frames,
    whole: spec,
    block(t0, t1) {
      if (t0 === 0 && t1 === frames) return spec;
      const n = t1 - t0;
      const re = new Float32Array(bins * n);
      const im = new Float32Array(bins * n);
      for (let f = 0; f < bins; f++) {
        re.set(spec.re.subarray(f * frames + t0, f * frames + t1), f * n);
        im.set(spec.im.subarray(f * frames + t0, f * frames + t1), f * n);
      }
      return { bins, frames: n, re, im };
    },
  };
}

/**
 * Frames [frame0, frame1) of `stft(y, p)` where y is `x` zero-padded to `paddedLength` (≥ x.length),
 * computed without the whole-file STFT or the padded copy: bit for bit the same values (the same
 * arithmetic per frame).
 */
export function stftFrames(x: Samples, paddedLength: number, p: StftParams, frame0: number, frame1: number, scratch?: BlockScratch): Spectrogram {
  checkParams(p);
  const { nFft, winLength, hopLength } = p;
  const n = paddedLength;
  if (n < x.length || n < 1) throw new Error(`stftFrames: padded length ${n} is shorter than the signal (${x.length})`);
  const total = frameCount(n, hopLength);
  if (!(0 <= frame0 && frame0 <= frame1 && frame1 <= total)) throw new Error(`stftFrames: frames ${frame0}..${frame1} outside 0..${total}`);
  const bins = nFft / 2 + 1;
  const frames = frame1 - frame0;
  const half = nFft / 2;
  const win = hannWindow(winLength, nFft);
  const fft = getFft(nFft);
  const buf = new Float64Array(nFft);
  const out = new Float64Array(2 * nFft);
  const { re, im } = scratch ? scratch.take(bins * frames) : { re: new Float32Array(bins * frames), im: new Float32Array(bins * frames) };
  const len = x.length;
  // 16-bit PCM samples are q / 32768 (a power of two: the products are the same as of the float values); float ones × 1, exactly
  const sc = sampleScale(x);
  // samples read by range (PcmStore): the frames' samples in one read, sample `base` at index 0
  const base = x instanceof PcmStore ? Math.max(0, frame0 * hopLength - half) : 0;
  const src: ArrayLike<number> = x instanceof PcmStore ? x.range(base, (frame1 - 1) * hopLength - half + nFft) : x;
  for (let t = 0; t < frames; t++) {
    const start = (frame0 + t) * hopLength - half;
    if (start >= 0 && start + nFft <= len) {
      for (let i = 0; i < nFft; i++) buf[i] = src[start - base + i] * sc * win[i];
    } else {
      // the reflected ends of the signal: the samples there read on their own (sample `from` at index 0)
      const { at, from } = x instanceof PcmStore ? edgeSamples(x, start, nFft, n) : { at: x, from: 0 };
      for (let i = 0; i < nFft; i++) {
        const k = reflectIndex(start + i, n);
        buf[i] = (k < len ? at[k - from] * sc : 0) * win[i];
      }
    }
    fft.realTransform(out, buf);
    for (let f = 0; f < bins; f++) {
      re[f * frames + t] = out[2 * f];
      im[f * frames + t] = out[2 * f + 1];
    }
  }
  return { bins, frames, re, im };
}

/** The samples a frame at `start` reads across the signal's reflected ends (PcmStore): those from sample `from` on. */
function edgeSamples(x: PcmStore, start: number, nFft: number, n: number): { at: Int16Array; from: number } {
  let lo = Infinity;
  let hi = -1;
  for (let i = 0; i < nFft; i++) {
    const k = reflectIndex(start + i, n);
    if (k < x.length) {
      lo = Math.min(lo, k);
      hi = Math.max(hi, k);
    }
  }
  if (hi < 0) return { at: new Int16Array(0), from: 0 };
  const at = new Int16Array(hi - lo + 1);
  x.read(lo, at);
  return { at, from: lo };
}

/**
 * The arrays a SpecSource's blocks are computed into, grown to the largest block asked for and
 * reused (issue 12: a fresh pair per block was an hour's STFT, ≈ 740 MB, of garbage per pass over
 * the file; V8 collects such large arrays late, and the renderer's memory rose by 250 MiB at the
 * end of each whole-file render).
 */
export class BlockScratch {
  private re = new Float32Array(0);
  private im = new Float32Array(0);

  /** Views of `n` values each (their previous contents are overwritten by the caller). */
  take(n: number): { re: Float32Array; im: Float32Array } {
    if (this.re.length < n) {
      this.re = new Float32Array(n);
      this.im = new Float32Array(n);
    }
    return { re: this.re.subarray(0, n), im: this.im.subarray(0, n) };
  }
}

/**
 * A SpecSource computing frames from the signal on demand (`stftFrames`). Its blocks share one
 * pair of arrays (BlockScratch): a block is valid until the source's next `block()` call.
 */
export function signalSource(x: Samples, paddedLength: number, p: StftParams): SpecSource {
  const scratch = new BlockScratch();
  return {
    bins: p.nFft / 2 + 1,
    frames: frameCount(paddedLength, p.hopLength),
    block: (t0, t1) => stftFrames(x, paddedLength, p, t0, t1, scratch),
  };
}

/**
 * Frames per block when a long file's frames are taken a block at a time (ISTFT, display levels,
 * LMAC-TD's overlay). A block is bin-major, so its rows are `BLOCK_FRAMES` floats apart; at 1024
 * (4 KiB, a power of two) every row of a block falls into the same CPU cache set and the strided
 * writes of `stftFrames` and reads of the ISTFT miss the cache (measured in Node: the block STFT
 * 76-86 → 46 ms, `istftFrom` 166 → 133 ms per minute of audio). 1008 = 16 × 63: an odd number of
 * 64-byte lines per row, so consecutive rows land in different sets.
 */
export const BLOCK_FRAMES = 1008;

/**
 * `istft` over a SpecSource, a block of frames at a time (issue 12): the overlap-add buffers hold
 * one block (not two float64 copies of the whole signal); bit for bit `istft` of the whole
 * spectrogram (the same additions in the same order). `opts.mask` is over all frames.
 */
export function istftFrom(src: SpecSource, p: StftParams, length: number, opts: IstftOptions & { blockFrames?: number } = {}): Float32Array {
  const res = new Float32Array(length);
  istftStream(src, p, length, opts, (start, samples) => res.set(samples, start));
  return res;
}

/**
 * `istftFrom` handing the signal out a block at a time instead of returning it (issue 12: a long
 * file's explanation is written to its WAV as it is computed): `emit(start, samples)` gets
 * samples [start, start + samples.length), in order, covering [0, length) once; `samples` is a
 * scratch buffer reused for the next call. Bit for bit the values `istftFrom` returns.
 */
export function istftStream(
  src: SpecSource,
  p: StftParams,
  length: number,
  opts: IstftOptions & { blockFrames?: number },
  emit: (start: number, samples: Float32Array) => void,
): void {
  checkParams(p);
  const { nFft, winLength, hopLength } = p;
  const { bins, frames } = src;
  if (bins !== nFft / 2 + 1) throw new Error(`istft: spectrogram has ${bins} bins, nFft ${nFft} needs ${nFft / 2 + 1}`);
  const mask = opts.mask;
  if (mask && mask.length !== bins * frames) throw new Error(`istft: mask has ${mask.length} values, spectrogram has ${bins * frames}`);
  // 8-bit levels: value = level / 255 (a table: 0 and 255 give exactly 0 and 1); a float mask as is
  const m8 = mask instanceof Uint8Array ? mask : null;
  const mf = m8 ? null : (mask as Float32Array | undefined);
  const invert = !!opts.invert;
  // frames are inverted in pairs from frame 0, as in istft: blocks of an even number of frames
  const B = Math.max(2, 2 * Math.floor((opts.blockFrames ?? BLOCK_FRAMES) / 2));
  const half = nFft / 2;
  const win = hannWindow(winLength, nFft);
  // Two real frames a, b share one complex inverse FFT: y = IFFT(A + jB), a = Re y, b = Im y. The
  // inverse is taken as a forward FFT of the conjugate, IFFT(z) = conj(FFT(conj z)) / N (fft.js's
  // inverseTransform is its forward pass with conjugated twiddles plus a division loop, about twice
  // the time): the same products and sums up to signs, so bit for bit the values of
  // inverseTransform; the 1/N (a power of two: exact) goes into the window.
  const winN = new Float64Array(nFft);
  for (let i = 0; i < nFft; i++) winN[i] = win[i] / nFft;
  // The summed squared window at overlap-add position q, Σ w[q − t·hop]² over the frames t that
  // cover q, added in frame order from 0 (as an accumulation frame by frame would): away from the
  // ends it depends on q mod hop only, a table; at the ends the sum is taken where it is needed.
  const winSq = new Float64Array(nFft);
  for (let i = 0; i < nFft; i++) winSq[i] = win[i] * win[i];
  const envAt = (q: number): number => {
    let e = 0;
    for (let t = Math.max(0, Math.ceil((q - nFft + 1) / hopLength)); t <= Math.min(frames - 1, Math.floor(q / hopLength)); t++) e += winSq[q - t * hopLength];
    return e;
  };
  // positions [envLo, envHi) are covered by every frame they would be in a longer signal
  const envLo = nFft - hopLength;
  const envHi = frames * hopLength;
  const envPeriod = new Float64Array(hopLength);
  for (let q = envLo; q < Math.min(envHi, envLo + hopLength); q++) envPeriod[q % hopLength] = envAt(q);
  const fft = getFft(nFft);
  const z = new Float64Array(2 * nFft);
  const y = new Float64Array(2 * nFft);
  // ola covers positions [base, base + bufLen) of the whole overlap-add signal
  const bufLen = B * hopLength + nFft;
  const out = new Float32Array(bufLen);
  let emitted = 0;
  let ola: Float64Array = new Float64Array(bufLen);
  let nextOla: Float64Array | null = null;
  const olaLen = nFft + hopLength * (frames - 1);
  const flush = (from: number, to: number, base: number) => {
    // positions [from, to) are final; output sample i is position half + i
    const q0 = Math.max(from, half);
    const q1 = Math.min(to, half + length);
    if (q1 <= q0) return;
    let r = q0 % hopLength;
    for (let q = q0; q < q1; q++) {
      const e = q >= envLo && q < envHi ? envPeriod[r] : envAt(q);
      out[q - q0] = e > 1e-11 ? ola[q - base] / e : 0;
      if (++r === hopLength) r = 0;
    }
    emit(q0 - half, out.subarray(0, q1 - q0));
    emitted = q1 - half;
  };
  for (let t0 = 0; t0 < frames; t0 += B) {
    const t1 = Math.min(frames, t0 + B);
    const blk = src.block(t0, t1);
    const bre = blk.re;
    const bim = blk.im;
    const n = t1 - t0;
    const base = t0 * hopLength;
    for (let t = t0; t < t1; t += 2) {
      const hasB = t + 1 < frames;
      for (let f = 0; f <= half; f++) {
        const il = f * n + (t - t0);
        const ig = f * frames + t;
        // the gains: M, 1 − M, or 1 without a mask
        let ga = 1;
        let gb = 1;
        if (mf) {
          ga = mf[ig];
          if (hasB) gb = mf[ig + 1];
        } else if (m8) {
          ga = LEVEL_VALUES[m8[ig]];
          if (hasB) gb = LEVEL_VALUES[m8[ig + 1]];
        }
        if (mask && invert) {
          ga = 1 - ga;
          gb = 1 - gb;
        }
        let ar = bre[il] * ga;
        let ai = bim[il] * ga;
        let br = 0;
        let bi = 0;
        if (hasB) {
          br = bre[il + 1] * gb;
          bi = bim[il + 1] * gb;
        }
        if (f === 0 || f === half) {
          ai = 0;
          bi = 0;
        }
        // conj of z[f] = (ar − bi) + j(ai + br) and of z[N − f] = (ar + bi) + j(br − ai)
        z[2 * f] = ar - bi;
        z[2 * f + 1] = -(ai + br);
        if (f > 0 && f < half) {
          const k = nFft - f;
          z[2 * k] = ar + bi;
          z[2 * k + 1] = ai - br;
        }
      }
      fft.transform(y, z);
      const off = t * hopLength - base;
      for (let i = 0; i < nFft; i++) ola[off + i] += y[2 * i] * winN[i];
      if (hasB) {
        const offB = off + hopLength;
        for (let i = 0; i < nFft; i++) ola[offB + i] += -y[2 * i + 1] * winN[i];
      }
    }
    if (t1 === frames) flush(base, olaLen, base);
    else {
      // positions before the next block's first frame are final; the rest carries over
      const nb = t1 * hopLength;
      flush(base, nb, base);
      const next: Float64Array = nextOla ?? new Float64Array(bufLen);
      next.fill(0);
      next.set(ola.subarray(nb - base));
      nextOla = ola;
      ola = next;
    }
  }
  // torch.istft zero-pads to `length` past the last frame
  if (emitted < length) {
    const zeros = new Float32Array(Math.min(bufLen, length - emitted));
    for (let a = emitted; a < length; a += zeros.length) emit(a, zeros.subarray(0, Math.min(zeros.length, length - a)));
  }
}
