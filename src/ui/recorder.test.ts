import { describe, expect, it } from 'vitest';
import { MicError, micErrorMessage } from './recorder';

describe('micErrorMessage', () => {
  it('tells a denied permission, a missing device and a busy device apart', () => {
    expect(micErrorMessage(new DOMException('Permission denied', 'NotAllowedError'))).toMatchObject({ reason: 'denied', message: expect.stringMatching(/^Microphone access was denied/) });
    expect(micErrorMessage(new DOMException('Requested device not found', 'NotFoundError'))).toMatchObject({ reason: 'no-device', message: expect.stringMatching(/^No microphone was found/) });
    expect(micErrorMessage(new DOMException('Could not start audio source', 'NotReadableError'))).toMatchObject({ reason: 'busy', message: expect.stringContaining('another application') });
    const other = micErrorMessage(new TypeError('boom'));
    expect(other.reason).toBe('other');
    expect(other.message).toContain('boom');
  });

  it('passes a MicError through', () => {
    const e = new MicError('no access here', 'unsupported');
    expect(micErrorMessage(e)).toBe(e);
  });
});
