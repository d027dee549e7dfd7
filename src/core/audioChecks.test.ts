import { describe, expect, it } from 'vitest';
import { AudioLoadError, checkDecodeEstimate, checkDuration, checkFileBytes, checkSamples, DECODE_BUDGET_BYTES, decodeFailureReason, formatDuration, headerInfo, sniffAudio } from './audioChecks';
import { encodeWav } from './wav';

describe('audioChecks', () => {
  it('empty file', () => {
    expect(() => checkFileBytes('empty.wav', 0)).toThrow('empty.wav: the file is empty (0 bytes)');
    expect(() => checkFileBytes('ok.wav', 1000)).not.toThrow();
    expect(() => checkFileBytes('huge.wav', 3 * 1024 ** 3)).toThrow('huge.wav: 3 GB is larger than the 2 GB limit');
  });

  it('too long, by duration or by samples', () => {
    expect(() => checkDuration('long.wav', 3.2 * 3600)).toThrow('long.wav: 3.2 h is longer than the 2 h limit');
    expect(() => checkDuration('ok.wav', 7199)).not.toThrow();
    expect(() => checkSamples('long.wav', new Float32Array(100), 0.01)).toThrow(/long.wav: 2.8 h is longer than the 2 h limit/);
    expect(() => checkDuration('z.wav', 0)).toThrow('z.wav: the audio has no samples (duration 0)');
  });

  it('silent, no samples, invalid values', () => {
    expect(() => checkSamples('quiet.wav', new Float32Array(16000), 16000)).toThrow('quiet.wav: the audio is silent');
    expect(() => checkSamples('quiet.wav', new Float32Array(16000).fill(5e-5), 16000)).toThrow(/silent/);
    expect(() => checkSamples('none.wav', new Float32Array(0), 16000)).toThrow('none.wav: the audio has no samples (duration 0)');
    const bad = new Float32Array(10).fill(0.1);
    bad[3] = NaN;
    expect(() => checkSamples('nan.wav', bad, 16000)).toThrow('nan.wav: the audio contains invalid values (NaN at sample 3)');
    expect(() => checkSamples('ok.wav', new Float32Array(10).fill(0.1), 16000)).not.toThrow();
  });

  it('errors are AudioLoadError with the file name and reason', () => {
    try {
      checkFileBytes('dog.mp3', 0);
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(AudioLoadError);
      expect(e).toBeInstanceOf(Error);
      expect((e as AudioLoadError).fileName).toBe('dog.mp3');
      expect((e as AudioLoadError).reason).toBe('the file is empty (0 bytes)');
    }
  });

  it('formats durations', () => {
    expect(formatDuration(0.85)).toBe('850 ms');
    expect(formatDuration(12.34)).toBe('12.3 s');
    expect(formatDuration(270)).toBe('4.5 min');
    expect(formatDuration(2 * 3600)).toBe('2 h');
  });

  it('sniffs the container of a file the decoder rejected, and whether it is cut short', () => {
    const wav = new Uint8Array(encodeWav(new Float32Array(1000).fill(0.1), 16000));
    expect(sniffAudio(wav)).toEqual({ container: 'WAV', truncated: false });
    expect(sniffAudio(wav.subarray(0, 600))).toEqual({ container: 'WAV', truncated: true });
    expect(sniffAudio(wav.subarray(0, 30))).toEqual({ container: 'WAV', truncated: true }); // ends inside the fmt chunk
    // Ogg: one page with a vorbis identification header; end-of-stream flag set or not, cut or whole
    const body = new Uint8Array(30);
    body.set([1, ...'vorbis'].map((c) => (typeof c === 'number' ? c : c.charCodeAt(0))));
    const page = (flags: number) => {
      const p = new Uint8Array(27 + 1 + body.length);
      p.set([...'OggS'].map((c) => c.charCodeAt(0)));
      p[5] = flags;
      p[26] = 1;
      p[27] = body.length;
      p.set(body, 28);
      return p;
    };
    expect(sniffAudio(page(0x04))).toEqual({ container: 'Ogg Vorbis', truncated: false });
    expect(sniffAudio(page(0x02))).toEqual({ container: 'Ogg Vorbis', truncated: true }); // last page not end-of-stream
    expect(sniffAudio(page(0x04).subarray(0, 40))).toEqual({ container: 'Ogg Vorbis', truncated: true }); // last page cut
    const opus = page(0x04);
    opus.set([...'OpusHead'].map((c) => c.charCodeAt(0)), 28);
    expect(sniffAudio(opus)?.container).toBe('Ogg Opus');
    const bytes = (s: string, extra = 16) => Uint8Array.from([...s].map((c) => c.charCodeAt(0)).concat(new Array(extra).fill(0)));
    expect(sniffAudio(bytes('fLaC'))?.container).toBe('FLAC');
    expect(sniffAudio(bytes('ID3\x04'))?.container).toBe('MP3');
    expect(sniffAudio(Uint8Array.from([0xff, 0xfb, 0x90, 0x64]))?.container).toBe('MP3');
    expect(sniffAudio(Uint8Array.from([0xff, 0xf1, 0x50, 0x80]))?.container).toBe('AAC (ADTS)');
    expect(sniffAudio(bytes('\0\0\0\x20ftypM4A '))?.container).toBe('MP4/M4A');
    expect(sniffAudio(Uint8Array.from([0x1a, 0x45, 0xdf, 0xa3, 0x9f]))?.container).toBe('WebM/Matroska');
    expect(sniffAudio(bytes('this is not audio at all'))).toBeNull();
    expect(sniffAudio(new Uint8Array(0))).toBeNull();
  });

  it('decode failure reasons name the container and say when the file is cut short', () => {
    expect(decodeFailureReason(null, 'EncodingError')).toBe('not an audio file the browser can decode (EncodingError)');
    expect(decodeFailureReason({ container: 'Ogg Vorbis', truncated: true }, 'EncodingError')).toBe(
      'the Ogg Vorbis file is truncated (it ends before the data its header announces) and could not be decoded (EncodingError)',
    );
    expect(decodeFailureReason({ container: 'MP4/M4A', truncated: false }, 'EncodingError')).toBe(
      'the MP4/M4A data could not be decoded: the file is damaged or uses a codec this browser does not support (EncodingError)',
    );
    expect(new AudioLoadError('cut.ogg', decodeFailureReason({ container: 'Ogg Vorbis', truncated: true }, 'EncodingError')).message).toMatch(/^cut\.ogg: the Ogg Vorbis file is truncated/);
  });
});

describe('before decoding: the header and the decode budget (issue 12)', () => {
  it('WAV: duration, rate and channels; a header that claims more than the file holds counts what it holds', () => {
    const wav = new Uint8Array(encodeWav(new Float32Array(32000), 16000, 'pcm16'));
    expect(headerInfo(wav, wav.length)).toEqual({ container: 'WAV', sampleRate: 16000, channels: 1, durationS: 2 });
    // the same header on a file cut to its first 8000 bytes: 8000 − 44 data bytes at 32000 B/s
    expect(headerInfo(wav.subarray(0, 8000), 8000)?.durationS).toBeCloseTo((8000 - 44) / 32000, 9);
    const stereo = new Uint8Array(wav);
    const v = new DataView(stereo.buffer);
    v.setUint16(22, 2, true);
    v.setUint32(24, 48000, true);
    v.setUint32(28, 192000, true);
    expect(headerInfo(stereo, stereo.length)).toMatchObject({ sampleRate: 48000, channels: 2, durationS: 64000 / 192000 });
  });

  it('FLAC STREAMINFO and an MP3 frame header (after an ID3 tag)', () => {
    const flac = new Uint8Array(42);
    flac.set([0x66, 0x4c, 0x61, 0x43]); // fLaC
    // sample rate 44100 (20 bits), 2 channels (3 bits: 1), 16 bits, total samples 44100 * 90
    const rate = 44100;
    const total = rate * 90;
    flac[18] = rate >> 12;
    flac[19] = (rate >> 4) & 0xff;
    flac[20] = ((rate & 0xf) << 4) | (1 << 1);
    flac[21] = 0xf0 | Math.floor(total / 2 ** 32);
    new DataView(flac.buffer).setUint32(22, total % 2 ** 32);
    expect(headerInfo(flac, 1e6)).toEqual({ container: 'FLAC', sampleRate: 44100, channels: 2, durationS: 90 });
    const mp3 = new Uint8Array(64);
    mp3.set([0x49, 0x44, 0x33, 4, 0, 0, 0, 0, 0, 20]); // ID3, 20 bytes of tag
    mp3.set([0xff, 0xfb, 0x90, 0xc0], 30); // MPEG-1 layer III, 128 kbps, 44.1 kHz, mono
    expect(headerInfo(mp3, 1e6)).toEqual({ container: 'MP3', sampleRate: 44100, channels: 1 });
    mp3[31] = 0xf3; // MPEG-2: 22.05 kHz
    mp3[33] = 0x00; // stereo
    expect(headerInfo(mp3, 1e6)).toEqual({ container: 'MP3', sampleRate: 22050, channels: 2 });
    expect(headerInfo(new Uint8Array(64), 64)).toBeNull();
  });

  it('the estimate against the budget: an hour fits, two hours of 48 kHz stereo do not, with a specific message', () => {
    expect(() => checkDecodeEstimate('hour.mp3', { durationS: 3600, sampleRate: 22050, channels: 1 }, 16000)).not.toThrow();
    expect(() => checkDecodeEstimate('hour.mp3', { durationS: 3600, sampleRate: 44100, channels: 2 }, 16000)).not.toThrow();
    let err: unknown;
    try {
      checkDecodeEstimate('long.flac', { durationS: 7000, sampleRate: 48000, channels: 2 }, 16000);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(AudioLoadError);
    // 7000 s × (48000 × 2 × 4 + 16000 × 16) bytes = 4.2 GiB; 3 GiB / 640000 B/s = 5033 s = 1.4 h
    expect((err as Error).message).toBe(
      'long.flac: 1.9 h of 48 kHz stereo audio needs about 4.2 GB of memory to decode and analyse, more than the 3 GB this page allows; at most 1.4 h of it fits: split the file (it was not decoded)',
    );
    expect(() => checkDecodeEstimate('x.ogg', { durationS: 600 }, 16000, 100 * 1024 * 1024)).toThrow(/10 min of 48 kHz stereo \(assumed\) audio needs about 366.2 MB .* than the 100 MB this page allows; at most 2.7 min/);
    expect(() => checkDecodeEstimate('long.wav', { durationS: 3 * 3600 }, 16000)).toThrow('long.wav: 3 h is longer than the 2 h limit');
    expect(DECODE_BUDGET_BYTES).toBe(3 * 1024 ** 3);
  });
});
