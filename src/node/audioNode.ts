// Node-only audio file decoding for tests and benchmarks: WAV (core/wav.ts) and FLAC
// (@wasm-audio-decoders/flac), downmixed to mono and resampled (core/resample.ts).
import { readFile } from 'node:fs/promises';
import { basename, extname } from 'node:path';
import { AudioLoadError, checkFileBytes } from '../core/audioChecks';
import { resample } from '../core/resample';
import { decodeWav, downmix } from '../core/wav';

export interface DecodedAudio {
  sampleRate: number;
  samples: Float32Array;
}

type FlacDecoder = {
  ready: Promise<void>;
  decodeFile(b: Uint8Array): Promise<{ channelData: Float32Array[]; sampleRate: number; samplesDecoded: number; errors: unknown[] }>;
  reset(): Promise<void>;
  free(): void;
};
let flac: FlacDecoder | null = null;

async function decodeFlac(bytes: Uint8Array): Promise<{ channels: Float32Array[]; sampleRate: number }> {
  if (!flac) {
    const { FLACDecoder } = await import('@wasm-audio-decoders/flac');
    flac = new FLACDecoder() as unknown as FlacDecoder;
    await flac.ready;
  } else await flac.reset();
  const r = await flac.decodeFile(bytes);
  if (r.samplesDecoded === 0) throw new Error(`FLAC decoder returned no samples (${r.errors.length} errors)`);
  return { channels: r.channelData, sampleRate: r.sampleRate };
}

/** Decode a .wav or .flac file to mono, resampled to `targetRate` when given. Errors name the file. */
export async function decodeAudioFileNode(path: string, targetRate?: number): Promise<DecodedAudio> {
  const name = basename(path);
  const bytes = new Uint8Array(await readFile(path));
  checkFileBytes(name, bytes.byteLength);
  let decoded: { channels: Float32Array[]; sampleRate: number };
  try {
    const ext = extname(path).toLowerCase();
    if (ext === '.flac') decoded = await decodeFlac(bytes);
    else if (ext === '.wav') decoded = decodeWav(bytes);
    else throw new Error(`unsupported extension "${ext}" in Node (wav, flac)`);
  } catch (e) {
    throw new AudioLoadError(name, `could not be decoded (${(e as Error).message})`);
  }
  let samples = downmix(decoded.channels);
  let sampleRate = decoded.sampleRate;
  if (targetRate && targetRate !== sampleRate) {
    samples = await resample(samples, sampleRate, targetRate);
    sampleRate = targetRate;
  }
  return { sampleRate, samples };
}
