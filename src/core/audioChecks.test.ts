import { describe, expect, it } from 'vitest';
import { AudioLoadError, checkDuration, checkFileBytes, checkSamples, formatDuration } from './audioChecks';

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
});
