import { describe, expect, it } from 'vitest';
import { AudioLoadError, checkDuration, checkFileBytes, checkSamples, decodeFailureReason, formatDuration, sniffAudio } from './audioChecks';
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
