/**
 * Microphone capture (issue 12): getUserMedia → an AudioWorklet that copies the raw samples out
 * (mono, the context's rate). Nothing is sent anywhere: the samples stay in this page until the
 * recording is added to the file list as a WAV, like a dropped file.
 */

/** A microphone problem, with a message for the user. */
export class MicError extends Error {
  constructor(message: string, readonly reason: 'denied' | 'no-device' | 'busy' | 'unsupported' | 'other') {
    super(message);
    this.name = 'MicError';
  }
}

/** What to tell the user for a getUserMedia / AudioContext failure. */
export function micErrorMessage(e: unknown): MicError {
  if (e instanceof MicError) return e;
  const name = e instanceof DOMException || e instanceof Error ? e.name : '';
  const detail = e instanceof Error && e.message ? ` (${e.message})` : '';
  switch (name) {
    case 'NotAllowedError':
    case 'SecurityError':
      return new MicError(
        'Microphone access was denied. Allow the microphone for this site (the icon in the address bar, or the browser’s site settings) and press Record again.',
        'denied',
      );
    case 'NotFoundError':
    case 'OverconstrainedError':
      return new MicError('No microphone was found. Connect one (or enable it in the system settings) and press Record again.', 'no-device');
    case 'NotReadableError':
    case 'AbortError':
      return new MicError(`The microphone could not be started: another application may be using it${detail}.`, 'busy');
    default:
      return new MicError(`The microphone could not be started${detail || ` (${name || String(e)})`}.`, 'other');
  }
}

// The worklet posts blocks of BLOCK samples (about 85 ms at 48 kHz): few messages, little latency.
const WORKLET = `
const BLOCK = 4096;
class Capture extends AudioWorkletProcessor {
  constructor() { super(); this.buf = new Float32Array(BLOCK); this.n = 0; this.port.onmessage = () => this.flush(); }
  flush() { if (this.n) { this.port.postMessage(this.buf.slice(0, this.n)); this.n = 0; } }
  process(inputs) {
    const ch = inputs[0];
    if (ch && ch.length) {
      const k = 1 / ch.length;
      const len = ch[0].length;
      for (let i = 0; i < len; i++) {
        let v = 0;
        for (let c = 0; c < ch.length; c++) v += ch[c][i];
        this.buf[this.n++] = v * k;
        if (this.n === BLOCK) { this.port.postMessage(this.buf); this.buf = new Float32Array(BLOCK); this.n = 0; }
      }
    }
    return true;
  }
}
registerProcessor('lmac-capture', Capture);
`;

/** Recordings longer than this stop by themselves (memory: 4 bytes a sample in this page). */
export const MAX_RECORDING_S = 30 * 60;

export class MicRecorder {
  private ctx: AudioContext | null = null;
  private stream: MediaStream | null = null;
  private node: AudioWorkletNode | null = null;
  private chunks: Float32Array[] = [];
  private count = 0;
  /** Called for every block that arrives (e.g. to show the time). */
  onData: (() => void) | null = null;
  /** Called when the recording stopped by itself (the device ended or the length limit). */
  onEnded: ((why: string) => void) | null = null;

  get sampleRate(): number {
    return this.ctx?.sampleRate ?? 0;
  }

  get recording(): boolean {
    return this.ctx !== null;
  }

  /** Samples recorded so far. */
  get length(): number {
    return this.count;
  }

  get durationS(): number {
    return this.ctx ? this.count / this.ctx.sampleRate : 0;
  }

  /** Ask for the microphone and start recording. Rejects with a MicError. */
  async start(preferredRate?: number): Promise<void> {
    if (this.ctx) return;
    const md = typeof navigator !== 'undefined' ? navigator.mediaDevices : undefined;
    if (!md?.getUserMedia)
      throw new MicError('This page has no microphone access here: browsers allow it only on https:// or localhost pages.', 'unsupported');
    let stream: MediaStream;
    try {
      stream = await md.getUserMedia({ audio: { echoCancellation: false, noiseSuppression: false, autoGainControl: false, channelCount: 1 } });
    } catch (e) {
      throw micErrorMessage(e);
    }
    let ctx: AudioContext | null = null;
    try {
      // at the model rate when the browser resamples the microphone for us (Chromium does);
      // else at the device's rate (the live windows are then resampled)
      try {
        ctx = new AudioContext(preferredRate ? { sampleRate: preferredRate } : {});
        ctx.createMediaStreamSource(stream).disconnect();
      } catch {
        await ctx?.close();
        ctx = new AudioContext();
      }
      const url = URL.createObjectURL(new Blob([WORKLET], { type: 'text/javascript' }));
      try {
        await ctx.audioWorklet.addModule(url);
      } finally {
        URL.revokeObjectURL(url);
      }
      const src = ctx.createMediaStreamSource(stream);
      const node = new AudioWorkletNode(ctx, 'lmac-capture', { numberOfInputs: 1, numberOfOutputs: 1, outputChannelCount: [1] });
      node.port.onmessage = (ev: MessageEvent<Float32Array>) => this.push(ev.data);
      // the node outputs silence; connected so that the graph pulls it
      src.connect(node).connect(ctx.destination);
      if (ctx.state !== 'running') await ctx.resume();
      this.chunks = [];
      this.count = 0;
      this.ctx = ctx;
      this.stream = stream;
      this.node = node;
      for (const t of stream.getAudioTracks()) t.addEventListener('ended', () => this.ended('the microphone was disconnected'));
    } catch (e) {
      for (const t of stream.getTracks()) t.stop();
      await ctx?.close().catch(() => undefined);
      throw micErrorMessage(e);
    }
  }

  private push(block: Float32Array): void {
    if (!this.ctx) return;
    this.chunks.push(block);
    this.count += block.length;
    this.onData?.();
    if (this.count >= MAX_RECORDING_S * this.ctx.sampleRate) this.ended(`recordings stop at ${MAX_RECORDING_S / 60} minutes`);
  }

  private ended(why: string): void {
    if (this.ctx) this.onEnded?.(why);
  }

  /** The last `n` samples recorded (fewer at the start). */
  latest(n: number): Float32Array {
    const out = new Float32Array(Math.min(n, this.count));
    let pos = out.length;
    for (let i = this.chunks.length - 1; i >= 0 && pos > 0; i--) {
      const c = this.chunks[i];
      const take = Math.min(pos, c.length);
      out.set(c.subarray(c.length - take), pos - take);
      pos -= take;
    }
    return out;
  }

  /** Stop and return the whole recording (mono, `sampleRate`). */
  async stop(): Promise<{ samples: Float32Array; sampleRate: number }> {
    const ctx = this.ctx;
    if (!ctx) return { samples: new Float32Array(0), sampleRate: 0 };
    const sampleRate = ctx.sampleRate;
    // the worklet's last partial block
    await new Promise<void>((done) => {
      if (!this.node) return done();
      const prev = this.node.port.onmessage;
      const timer = setTimeout(done, 200);
      this.node.port.onmessage = (ev) => {
        prev?.call(this.node!.port, ev);
        clearTimeout(timer);
        done();
      };
      this.node.port.postMessage('flush');
    });
    const samples = this.latest(this.count);
    this.ctx = null;
    this.node?.disconnect();
    this.node = null;
    for (const t of this.stream?.getTracks() ?? []) t.stop();
    this.stream = null;
    this.chunks = [];
    this.count = 0;
    await ctx.close().catch(() => undefined);
    return { samples, sampleRate };
  }
}

/** Resample mono samples with WebAudio (an OfflineAudioContext renders at the target rate). */
export async function resampleTo(samples: Float32Array, fromRate: number, toRate: number): Promise<Float32Array> {
  if (fromRate === toRate || samples.length === 0) return samples;
  const n = Math.max(1, Math.round((samples.length * toRate) / fromRate));
  const off = new OfflineAudioContext(1, n, toRate);
  const buf = off.createBuffer(1, samples.length, fromRate);
  buf.copyToChannel(samples as Float32Array<ArrayBuffer>, 0);
  const src = off.createBufferSource();
  src.buffer = buf;
  src.connect(off.destination);
  src.start();
  return (await off.startRendering()).getChannelData(0);
}
