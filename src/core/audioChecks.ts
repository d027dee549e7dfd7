// Validation of user audio with specific messages that name the file (docs/DESIGN.md, errors).

/** An audio file could not be used; `message` starts with the file name. */
export class AudioLoadError extends Error {
  readonly fileName: string;
  readonly reason: string;
  constructor(fileName: string, reason: string) {
    super(`${fileName}: ${reason}`);
    this.name = 'AudioLoadError';
    this.fileName = fileName;
    this.reason = reason;
  }
}

export interface AudioLimits {
  /** Longest accepted audio in seconds (default 2 h). */
  maxDurationS: number;
  /** Largest accepted file in bytes (default 2 GiB: decoding larger files exhausts memory). */
  maxBytes: number;
  /** Peak absolute amplitude at or below which audio counts as silent (default 1e-4, −80 dBFS). */
  silencePeak: number;
}

export const DEFAULT_LIMITS: AudioLimits = { maxDurationS: 2 * 3600, maxBytes: 2 * 1024 ** 3, silencePeak: 1e-4 };

/** Human-readable duration: "850 ms", "12.3 s", "4.5 min", "3.2 h". */
export function formatDuration(s: number): string {
  if (s < 1) return `${Math.round(s * 1000)} ms`;
  if (s < 120) return `${+s.toFixed(1)} s`;
  if (s < 3600) return `${+(s / 60).toFixed(1)} min`;
  return `${+(s / 3600).toFixed(1)} h`;
}

function formatBytes(b: number): string {
  if (b >= 1024 ** 3) return `${+(b / 1024 ** 3).toFixed(1)} GB`;
  if (b >= 1024 ** 2) return `${+(b / 1024 ** 2).toFixed(1)} MB`;
  return `${b} bytes`;
}

/** Checks before decoding: the file is not empty and not absurdly large. Throws AudioLoadError. */
export function checkFileBytes(fileName: string, byteLength: number, limits: Partial<AudioLimits> = {}): void {
  const lim = { ...DEFAULT_LIMITS, ...limits };
  if (byteLength === 0) throw new AudioLoadError(fileName, 'the file is empty (0 bytes)');
  if (byteLength > lim.maxBytes)
    throw new AudioLoadError(fileName, `${formatBytes(byteLength)} is larger than the ${formatBytes(lim.maxBytes)} limit`);
}

/** Check a duration (e.g. from the decoder, before resampling) against the limit. Throws AudioLoadError. */
export function checkDuration(fileName: string, durationS: number, limits: Partial<AudioLimits> = {}): void {
  const lim = { ...DEFAULT_LIMITS, ...limits };
  if (!(durationS > 0)) throw new AudioLoadError(fileName, 'the audio has no samples (duration 0)');
  if (durationS > lim.maxDurationS)
    throw new AudioLoadError(fileName, `${formatDuration(durationS)} is longer than the ${formatDuration(lim.maxDurationS)} limit`);
}

/** Checks after decoding: samples exist, are finite, are not silent, and are not too long. Throws AudioLoadError. */
export function checkSamples(fileName: string, samples: Float32Array, sampleRate: number, limits: Partial<AudioLimits> = {}): void {
  const lim = { ...DEFAULT_LIMITS, ...limits };
  if (!(sampleRate > 0)) throw new AudioLoadError(fileName, `invalid sample rate (${sampleRate})`);
  if (samples.length === 0) throw new AudioLoadError(fileName, 'the audio has no samples (duration 0)');
  checkDuration(fileName, samples.length / sampleRate, lim);
  let peak = 0;
  for (let i = 0; i < samples.length; i++) {
    const v = samples[i];
    if (!Number.isFinite(v)) throw new AudioLoadError(fileName, `the audio contains invalid values (${v} at sample ${i})`);
    const a = Math.abs(v);
    if (a > peak) peak = a;
  }
  if (peak <= lim.silencePeak) throw new AudioLoadError(fileName, 'the audio is silent');
}

/** What the first bytes of a file say it is, and whether it visibly ends early (see sniffAudio). */
export interface SniffedAudio {
  /** Container/codec named for messages: "WAV", "Ogg Vorbis", "Ogg Opus", "FLAC", "MP3", "MP4/M4A", "WebM/Matroska", … */
  container: string;
  /** The file ends before the end its own headers announce (WAV data chunk, last Ogg page). */
  truncated: boolean;
}

const ascii = (b: Uint8Array, off: number, n: number) => String.fromCharCode(...b.subarray(off, off + n));

function wavTruncated(b: Uint8Array): boolean {
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  let off = 12;
  while (off + 8 <= b.length) {
    const id = ascii(b, off, 4);
    const size = v.getUint32(off + 4, true);
    if (id === 'data') return size !== 0xffffffff && off + 8 + size > b.length;
    off += 8 + size + (size & 1);
  }
  return true; // no data chunk before the end of the file
}

/** The last Ogg page (searched in the last 64 KiB) is cut short or is not marked end-of-stream. */
function oggTruncated(b: Uint8Array): boolean {
  const from = Math.max(0, b.length - (1 << 16));
  for (let i = b.length - 27; i >= from; i--) {
    if (b[i] !== 0x4f || ascii(b, i, 4) !== 'OggS' || b[i + 4] !== 0) continue;
    const segs = b[i + 26];
    if (i + 27 + segs > b.length) return true;
    let body = 0;
    for (let s = 0; s < segs; s++) body += b[i + 27 + s];
    if (i + 27 + segs + body > b.length) return true;
    return (b[i + 5] & 0x04) === 0; // header_type bit 2: end of stream
  }
  return true;
}

/**
 * Recognise the container of an audio file from its bytes (call it before decodeAudioData, which
 * detaches the buffer) so that a decode failure can say what the file is and whether it is cut
 * short. Returns null for bytes that look like no audio container.
 */
export function sniffAudio(bytes: Uint8Array): SniffedAudio | null {
  const b = bytes;
  if (b.length >= 12 && ascii(b, 0, 4) === 'RIFF' && ascii(b, 8, 4) === 'WAVE') return { container: 'WAV', truncated: wavTruncated(b) };
  if (b.length >= 4 && ascii(b, 0, 4) === 'OggS') {
    const head = ascii(b, 28, 8);
    const container = head.startsWith('\x01vorbis') ? 'Ogg Vorbis' : head === 'OpusHead' ? 'Ogg Opus' : head.startsWith('\x7fFLAC') ? 'Ogg FLAC' : 'Ogg';
    return { container, truncated: oggTruncated(b) };
  }
  if (b.length >= 4 && ascii(b, 0, 4) === 'fLaC') return { container: 'FLAC', truncated: false };
  if (b.length >= 12 && ascii(b, 4, 4) === 'ftyp') return { container: 'MP4/M4A', truncated: false };
  if (b.length >= 4 && b[0] === 0x1a && b[1] === 0x45 && b[2] === 0xdf && b[3] === 0xa3) return { container: 'WebM/Matroska', truncated: false };
  if (b.length >= 3 && ascii(b, 0, 3) === 'ID3') return { container: 'MP3', truncated: false };
  if (b.length >= 2 && b[0] === 0xff && (b[1] & 0xe0) === 0xe0) {
    const layer = (b[1] >> 1) & 3; // 0: ADTS (AAC), 1: layer III
    return { container: layer === 0 ? 'AAC (ADTS)' : layer === 1 ? 'MP3' : 'MPEG audio', truncated: false };
  }
  return null;
}

/**
 * The reason shown when the browser's decoder rejects a file (`errorName`: the DOMException name):
 * names the container it looks like and says when the file is cut short, instead of calling a
 * damaged audio file "not an audio file".
 */
export function decodeFailureReason(sniffed: SniffedAudio | null, errorName: string): string {
  if (!sniffed) return `not an audio file the browser can decode (${errorName})`;
  if (sniffed.truncated) return `the ${sniffed.container} file is truncated (it ends before the data its header announces) and could not be decoded (${errorName})`;
  return `the ${sniffed.container} data could not be decoded: the file is damaged or uses a codec this browser does not support (${errorName})`;
}

/** What a file's first bytes say about the decoded audio (any field may be unknown). */
export interface HeaderInfo {
  container: string;
  durationS?: number;
  sampleRate?: number;
  channels?: number;
}

/**
 * Duration, rate and channels from a container header (issue 12: say a file cannot fit before
 * decoding it): WAV (fmt and data chunks; the data the file holds, not more than its header
 * claims), FLAC (STREAMINFO), MP3 (the first frame's rate and channels; no duration). `head` is
 * the file's first bytes (64 KiB is plenty), `fileSize` its length. Null when not recognised.
 */
export function headerInfo(head: Uint8Array, fileSize: number): HeaderInfo | null {
  const b = head;
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  if (b.length >= 12 && ascii(b, 0, 4) === 'RIFF' && ascii(b, 8, 4) === 'WAVE') {
    const info: HeaderInfo = { container: 'WAV' };
    let byteRate = 0;
    let off = 12;
    while (off + 8 <= b.length) {
      const id = ascii(b, off, 4);
      const size = v.getUint32(off + 4, true);
      if (id === 'fmt ' && off + 24 <= b.length) {
        info.channels = v.getUint16(off + 10, true);
        info.sampleRate = v.getUint32(off + 12, true);
        byteRate = v.getUint32(off + 16, true);
      } else if (id === 'data') {
        const held = Math.max(0, fileSize - (off + 8));
        const bytes = size === 0xffffffff ? held : Math.min(size, held);
        if (byteRate > 0) info.durationS = bytes / byteRate;
        break;
      }
      off += 8 + size + (size & 1);
    }
    return info;
  }
  if (b.length >= 26 && ascii(b, 0, 4) === 'fLaC') {
    const rate = (b[18] << 12) | (b[19] << 4) | (b[20] >> 4);
    const channels = ((b[20] >> 1) & 7) + 1;
    const total = (b[21] & 0x0f) * 2 ** 32 + v.getUint32(22);
    return { container: 'FLAC', sampleRate: rate || undefined, channels, durationS: rate && total ? total / rate : undefined };
  }
  let off = 0;
  if (b.length >= 10 && ascii(b, 0, 3) === 'ID3') off = 10 + ((b[6] & 0x7f) << 21) + ((b[7] & 0x7f) << 14) + ((b[8] & 0x7f) << 7) + (b[9] & 0x7f);
  if (off + 4 <= b.length && b[off] === 0xff && (b[off + 1] & 0xe0) === 0xe0 && ((b[off + 1] >> 1) & 3) === 1) {
    const version = (b[off + 1] >> 3) & 3; // 3: MPEG-1, 2: MPEG-2, 0: MPEG-2.5
    const rates = version === 3 ? [44100, 48000, 32000] : version === 2 ? [22050, 24000, 16000] : version === 0 ? [11025, 12000, 8000] : [];
    const rate = rates[(b[off + 2] >> 2) & 3];
    return { container: 'MP3', sampleRate: rate, channels: b[off + 3] >> 6 === 3 ? 1 : 2 };
  }
  const s = sniffAudio(b);
  return s ? { container: s.container } : null;
}

/** Memory the page may use to decode one file (bytes): 3 GiB. */
export const DECODE_BUDGET_BYTES = 3 * 1024 ** 3;
/** Rate and channels assumed when the header does not say (the most that is common). */
const ASSUMED = { sampleRate: 48000, channels: 2 };

/**
 * Bytes needed per second of audio to decode and analyse it: the browser's decoded buffer at the
 * file's rate and channels (float32), then four float32 signals at the model rate (the resampled
 * buffer, the mono signal, the worker's copy, an explanation).
 */
export function decodeBytesPerSecond(sampleRate: number, channels: number, modelRate: number): number {
  return sampleRate * channels * 4 + modelRate * 4 * 4;
}

/**
 * Before decoding (issue 12): throws AudioLoadError when the duration is over the limit or the
 * estimated decoded size (duration × rate × channels, decodeBytesPerSecond) is over `budget`,
 * naming the duration, the estimate, the budget and the longest such audio that fits.
 */
export function checkDecodeEstimate(
  fileName: string,
  info: { durationS: number; sampleRate?: number; channels?: number },
  modelRate: number,
  budget = DECODE_BUDGET_BYTES,
  limits: Partial<AudioLimits> = {},
): void {
  const lim = { ...DEFAULT_LIMITS, ...limits };
  if (info.durationS > lim.maxDurationS)
    throw new AudioLoadError(fileName, `${formatDuration(info.durationS)} is longer than the ${formatDuration(lim.maxDurationS)} limit`);
  const rate = info.sampleRate ?? ASSUMED.sampleRate;
  const ch = info.channels ?? ASSUMED.channels;
  const perS = decodeBytesPerSecond(rate, ch, modelRate);
  const need = info.durationS * perS;
  if (need <= budget) return;
  const fmt = `${+(rate / 1000).toFixed(2)} kHz ${ch === 1 ? 'mono' : ch === 2 ? 'stereo' : `${ch} channels`}${info.sampleRate && info.channels ? '' : ' (assumed)'}`;
  throw new AudioLoadError(
    fileName,
    `${formatDuration(info.durationS)} of ${fmt} audio needs about ${formatBytes(need)} of memory to decode and analyse, ` +
      `more than the ${formatBytes(budget)} this page allows; at most ${formatDuration(budget / perS)} of it fits: split the file (it was not decoded)`,
  );
}
