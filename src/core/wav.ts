// WAV (RIFF) encode and decode: 16-bit PCM (x·32768 rounded, clamped to 32767) or 32-bit float out; 8/16/24/32-bit PCM and
// 32/64-bit float in. Pure functions over ArrayBuffers (Node and browser).

export type WavFormat = 'pcm16' | 'float32';

export interface DecodedWav {
  sampleRate: number;
  /** One Float32Array per channel, values in [-1, 1). */
  channels: Float32Array[];
  bitsPerSample: number;
  format: 'pcm' | 'float';
}

/** The 44-byte header of a mono WAV file of `numSamples` samples (16-bit PCM or 32-bit float). */
export function wavHeader(numSamples: number, sampleRate: number, format: WavFormat = 'pcm16'): ArrayBuffer {
  if (!Number.isInteger(sampleRate) || sampleRate <= 0) throw new Error(`encodeWav: bad sample rate ${sampleRate}`);
  const bytesPerSample = format === 'pcm16' ? 2 : 4;
  const dataBytes = numSamples * bytesPerSample;
  const buf = new ArrayBuffer(44);
  const v = new DataView(buf);
  const writeStr = (off: number, s: string) => {
    for (let i = 0; i < s.length; i++) v.setUint8(off + i, s.charCodeAt(i));
  };
  writeStr(0, 'RIFF');
  v.setUint32(4, 36 + dataBytes, true);
  writeStr(8, 'WAVE');
  writeStr(12, 'fmt ');
  v.setUint32(16, 16, true);
  v.setUint16(20, format === 'pcm16' ? 1 : 3, true); // 1 = PCM, 3 = IEEE float
  v.setUint16(22, 1, true); // mono
  v.setUint32(24, sampleRate, true);
  v.setUint32(28, sampleRate * bytesPerSample, true);
  v.setUint16(32, bytesPerSample, true);
  v.setUint16(34, bytesPerSample * 8, true);
  writeStr(36, 'data');
  v.setUint32(40, dataBytes, true);
  return buf;
}

/** One sample as 16-bit PCM: clipped to [-1, 1], ·32768 rounded, at most 32767. */
function pcm16(x: number): number {
  const s = Math.max(-1, Math.min(1, x));
  return Math.min(32767, Math.round(s * 32768));
}

/** Encode mono samples as a WAV file: 16-bit PCM (clipped, rounded) or 32-bit IEEE float. */
export function encodeWav(samples: Float32Array, sampleRate: number, format: WavFormat = 'pcm16'): ArrayBuffer {
  const header = wavHeader(samples.length, sampleRate, format);
  const bytesPerSample = format === 'pcm16' ? 2 : 4;
  const buf = new ArrayBuffer(44 + samples.length * bytesPerSample);
  new Uint8Array(buf).set(new Uint8Array(header));
  const v = new DataView(buf);
  if (format === 'pcm16') {
    for (let i = 0; i < samples.length; i++) v.setInt16(44 + 2 * i, pcm16(samples[i]), true);
  } else {
    for (let i = 0; i < samples.length; i++) v.setFloat32(44 + 4 * i, samples[i], true);
  }
  return buf;
}

/** Whether typed arrays are little-endian here (as WAV is): then samples are stored without a DataView. */
const LITTLE_ENDIAN = new Uint8Array(Uint16Array.of(1).buffer)[0] === 1;

/** Samples [o, o + n) of `block` as 16-bit PCM values (pcm16) into `out` [0, n), in the platform's byte order. */
export function pcm16ArrayInto(block: ArrayLike<number>, o: number, n: number, out: Int16Array): void {
  // the same conversion as pcm16(), inlined (several times faster than a DataView per sample)
  for (let i = 0; i < n; i++) {
    const x = block[o + i];
    const q = Math.round((x < -1 ? -1 : x > 1 ? 1 : x) * 32768);
    out[i] = q > 32767 ? 32767 : q;
  }
}

/** Samples [o, o + n) of `block` as 16-bit PCM (pcm16) into `buf` at byte `at` (even). */
function pcm16Into(block: ArrayLike<number>, o: number, n: number, buf: ArrayBuffer, at: number): void {
  if (LITTLE_ENDIAN) pcm16ArrayInto(block, o, n, new Int16Array(buf, at, n));
  else {
    const v = new DataView(buf, at);
    for (let i = 0; i < n; i++) v.setInt16(2 * i, pcm16(block[o + i]), true);
  }
}

/** Samples per part of a WavBlobWriter (1 MiB of 16-bit PCM). */
const PART_SAMPLES = 1 << 19;
let silencePart: Blob | null = null;
/**
 * The one buffer parts are converted in: the Blob constructor copies its bytes, so the buffer
 * is free again at once (issue 12: a fresh buffer per part was an hour's explanation and
 * residual, 2 × 110 MiB, of garbage in the worker at the end of every render).
 */
let partScratch: ArrayBuffer | null = null;

/** Where a WAV file is written a block at a time (memory: WavBlobWriter; disk: the worker's DiskWavWriter); F is what `finish()` gives. */
export interface WavSink<F = Blob> {
  /** Samples written so far. */
  readonly length: number;
  /** Append samples (float, converted as encodeWav does). */
  write(block: ArrayLike<number>): void;
  /** Append `n` zero samples. */
  silence(n: number): void;
  /** The WAV file; throws when fewer samples were written than the header says. */
  finish(): F;
}

/**
 * A 16-bit PCM mono WAV file written a block at a time (issue 12: a long file's audio is never
 * held whole as float32 or as one ArrayBuffer): the header, then the samples converted a part at
 * a time in one scratch buffer and handed to `put` (valid only during the call), silence as
 * `putZeros`. The bytes are `encodeWav(all, rate, 'pcm16')`'s. Hand-written: the RIFF header and
 * sample conversion are the ones of encodeWav above.
 */
export abstract class PcmWavWriter<F> implements WavSink<F> {
  readonly sampleRate: number;
  readonly totalSamples: number;
  private written = 0;
  private started = false;

  constructor(sampleRate: number, totalSamples: number) {
    if (!Number.isInteger(totalSamples) || totalSamples < 0) throw new Error(`WavBlobWriter: bad length ${totalSamples}`);
    wavHeader(0, sampleRate); // checks the rate now, not at the first write
    this.sampleRate = sampleRate;
    this.totalSamples = totalSamples;
  }

  /** Take `bytes` (the next bytes of the file; the view is reused after the call). */
  protected abstract put(bytes: Uint8Array): void;
  /** Take `n` zero bytes. */
  protected abstract putZeros(n: number): void;
  /** The file, once every byte was put. */
  protected abstract done(): F;

  /** Samples written so far. */
  get length(): number {
    return this.written;
  }

  private begin(more: number): void {
    if (this.written + more > this.totalSamples) throw new Error(`WavBlobWriter: ${this.written + more} samples written, the header says ${this.totalSamples}`);
    if (this.started) return;
    this.started = true;
    // subclasses' fields exist only after the base constructor: the header is put on first use
    this.put(new Uint8Array(wavHeader(this.totalSamples, this.sampleRate, 'pcm16')));
  }

  /** Append samples (float, converted as encodeWav does). */
  write(block: ArrayLike<number>): void {
    this.begin(block.length);
    partScratch ??= new ArrayBuffer(2 * PART_SAMPLES);
    for (let o = 0; o < block.length; o += PART_SAMPLES) {
      const n = Math.min(PART_SAMPLES, block.length - o);
      pcm16Into(block, o, n, partScratch, 0);
      this.put(new Uint8Array(partScratch, 0, 2 * n));
    }
    this.written += block.length;
  }

  /** Append 16-bit PCM samples as they are (e.g. a long file's samples, src/core/samples.ts). */
  writePcm16(q: Int16Array): void {
    this.begin(q.length);
    for (let o = 0; o < q.length; o += PART_SAMPLES) {
      const n = Math.min(PART_SAMPLES, q.length - o);
      if (LITTLE_ENDIAN) this.put(new Uint8Array(q.buffer, q.byteOffset + 2 * o, 2 * n));
      else {
        partScratch ??= new ArrayBuffer(2 * PART_SAMPLES);
        const v = new DataView(partScratch);
        for (let i = 0; i < n; i++) v.setInt16(2 * i, q[o + i], true);
        this.put(new Uint8Array(partScratch, 0, 2 * n));
      }
    }
    this.written += q.length;
  }

  /** Append `n` zero samples. */
  silence(n: number): void {
    if (n <= 0) return;
    this.begin(n);
    this.putZeros(2 * n);
    this.written += n;
  }

  /** The WAV file; throws when fewer samples were written than the header says. */
  finish(): F {
    this.begin(0);
    if (this.written !== this.totalSamples) throw new Error(`WavBlobWriter: ${this.written} samples written, the header says ${this.totalSamples}`);
    return this.done();
  }
}

/**
 * A PcmWavWriter into a Blob: each part becomes a Blob part at once (browsers keep large blob
 * data outside the JS heap), silence is one shared zero part referenced again.
 */
export class WavBlobWriter extends PcmWavWriter<Blob> {
  private readonly parts: Blob[] = [];

  protected put(bytes: Uint8Array): void {
    this.parts.push(new Blob([bytes as Uint8Array<ArrayBuffer>]));
  }

  protected putZeros(n: number): void {
    silencePart ??= new Blob([new ArrayBuffer(2 * PART_SAMPLES)]);
    for (let o = 0; o < n; o += 2 * PART_SAMPLES) {
      const k = Math.min(2 * PART_SAMPLES, n - o);
      this.parts.push(k === 2 * PART_SAMPLES ? silencePart : silencePart.slice(0, k));
    }
  }

  protected done(): Blob {
    return new Blob(this.parts, { type: 'audio/wav' });
  }
}

/** `encodeWav(samples, sampleRate, 'pcm16')` as a Blob, converted a part at a time (no whole-file ArrayBuffer). */
export function wavBlob(samples: Float32Array, sampleRate: number): Blob {
  // up to one part (a 5 s clip): header and samples in one buffer, one Blob (each Blob is a
  // round trip to the browser's blob registry: three per file otherwise)
  if (samples.length <= PART_SAMPLES) {
    const buf = new ArrayBuffer(44 + 2 * samples.length);
    new Uint8Array(buf).set(new Uint8Array(wavHeader(samples.length, sampleRate, 'pcm16')));
    pcm16Into(samples, 0, samples.length, buf, 44);
    return new Blob([buf], { type: 'audio/wav' });
  }
  const w = new WavBlobWriter(sampleRate, samples.length);
  w.write(samples);
  return w.finish();
}

/** Decode a WAV file (PCM 8/16/24/32-bit, float 32/64, incl. WAVE_FORMAT_EXTENSIBLE). Throws a specific Error. */
export function decodeWav(data: ArrayBuffer | Uint8Array): DecodedWav {
  const bytes = data instanceof Uint8Array ? data : new Uint8Array(data);
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const str = (off: number, n: number) => String.fromCharCode(...bytes.subarray(off, off + n));
  if (bytes.length < 12 || str(0, 4) !== 'RIFF' || str(8, 4) !== 'WAVE') throw new Error('not a WAV file (no RIFF/WAVE header)');
  let off = 12;
  let fmt: { tag: number; channels: number; rate: number; bits: number; align: number } | null = null;
  let dataOff = -1;
  let dataLen = 0;
  while (off + 8 <= bytes.length) {
    const id = str(off, 4);
    const size = v.getUint32(off + 4, true);
    const body = off + 8;
    if (id === 'fmt ') {
      if (size < 16 || body + 16 > bytes.length) throw new Error('WAV fmt chunk is truncated');
      let tag = v.getUint16(body, true);
      if (tag === 0xfffe && size >= 40) tag = v.getUint16(body + 24, true); // extensible: sub-format GUID
      fmt = {
        tag,
        channels: v.getUint16(body + 2, true),
        rate: v.getUint32(body + 4, true),
        align: v.getUint16(body + 12, true),
        bits: v.getUint16(body + 14, true),
      };
    } else if (id === 'data') {
      dataOff = body;
      dataLen = Math.min(size, bytes.length - body); // tolerate truncated data chunks
      break;
    }
    off = body + size + (size & 1);
  }
  if (!fmt) throw new Error('WAV has no fmt chunk');
  if (dataOff < 0) throw new Error('WAV has no data chunk');
  const { tag, channels: nch, rate, bits } = fmt;
  if (nch < 1) throw new Error('WAV declares 0 channels');
  if (!(rate > 0)) throw new Error(`WAV has an invalid sample rate (${rate})`);
  const isFloat = tag === 3;
  if (!(tag === 1 || isFloat)) throw new Error(`unsupported WAV encoding (format tag ${tag})`);
  if (isFloat ? bits !== 32 && bits !== 64 : ![8, 16, 24, 32].includes(bits))
    throw new Error(`unsupported WAV sample size (${bits}-bit ${isFloat ? 'float' : 'PCM'})`);
  const bps = bits / 8;
  const frameBytes = bps * nch;
  const n = Math.floor(dataLen / frameBytes);
  const channels = Array.from({ length: nch }, () => new Float32Array(n));
  for (let i = 0; i < n; i++) {
    for (let c = 0; c < nch; c++) {
      const p = dataOff + i * frameBytes + c * bps;
      let s: number;
      if (isFloat) s = bits === 32 ? v.getFloat32(p, true) : v.getFloat64(p, true);
      else if (bits === 16) s = v.getInt16(p, true) / 32768;
      else if (bits === 24) {
        let x = bytes[p] | (bytes[p + 1] << 8) | (bytes[p + 2] << 16);
        if (x & 0x800000) x -= 0x1000000;
        s = x / 8388608;
      } else if (bits === 32) s = v.getInt32(p, true) / 2147483648;
      else s = (bytes[p] - 128) / 128;
      channels[c][i] = s;
    }
  }
  return { sampleRate: rate, channels, bitsPerSample: bits, format: isFloat ? 'float' : 'pcm' };
}

/** Average the channels into one mono signal. */
export function downmix(channels: Float32Array[]): Float32Array {
  if (channels.length === 0) return new Float32Array(0);
  if (channels.length === 1) return channels[0];
  const n = channels[0].length;
  const out = new Float32Array(n);
  for (const ch of channels) for (let i = 0; i < n; i++) out[i] += ch[i];
  const k = 1 / channels.length;
  for (let i = 0; i < n; i++) out[i] *= k;
  return out;
}
