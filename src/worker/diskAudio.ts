// A long file's WAV files on disk (issue 12): the original, the explanation and the residual of
// an hour are 3 × 110 MiB. As Blobs the browser process holds them in memory (and the renderer the
// parts in transit); written to the origin private file system (OPFS) through a synchronous
// access handle, `getFile()` gives a File that is read from disk when played, so they cost no
// memory. In a private window the browser keeps OPFS in memory: no saving there, no harm either.
//
// Each worker writes into a folder of its own under `lmac-audio/` and holds a Web Lock named
// after it while it lives; at start it removes the folders whose lock is free (pages closed or
// crashed), so files never pile up across sessions. The page says when it no longer plays a file
// (`release`), and it is removed after a grace period (the player may still be switching away).
import type { PcmReader } from '../core/samples';
import { PcmWavWriter, type WavSink } from '../core/wav';
import { DISK_AUDIO_PREFIX } from './protocol';

const TOP = 'lmac-audio';
/** How long a released file stays (ms): the player revokes its URL right after the store lets go. */
const RELEASE_GRACE_MS = 10_000;
const ZEROS = new Uint8Array(1 << 20);

/** Write all of `bytes` at byte `at`, or throw (a short write: the disk is full). */
function writeAt(access: FileSystemSyncAccessHandle, name: string, bytes: Uint8Array, at: number): void {
  const n = access.write(bytes as Uint8Array<ArrayBuffer>, { at });
  if (n !== bytes.byteLength) throw new DOMException(`${name}: wrote ${n} of ${bytes.byteLength} bytes (disk full?)`, 'QuotaExceededError');
}

/** A PcmWavWriter into an OPFS file; `finish()` closes it and gives the File (read from disk). */
export class DiskWavWriter extends PcmWavWriter<Promise<File>> {
  private at = 0;
  private closed = false;

  constructor(
    private readonly handle: FileSystemFileHandle,
    private readonly access: FileSystemSyncAccessHandle,
    sampleRate: number,
    totalSamples: number,
  ) {
    super(sampleRate, totalSamples);
  }

  protected put(bytes: Uint8Array): void {
    writeAt(this.access, this.handle.name, bytes, this.at);
    this.at += bytes.byteLength;
  }

  protected putZeros(n: number): void {
    for (let o = 0; o < n; o += ZEROS.length) this.put(ZEROS.subarray(0, Math.min(ZEROS.length, n - o)));
  }

  protected done(): Promise<File> {
    this.access.flush();
    this.close();
    return this.handle.getFile();
  }

  /** The file's name in its folder. */
  get name(): string {
    return this.handle.name;
  }

  /** Close the access handle (idempotent): the file can then be read or removed. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.access.close();
  }
}

/**
 * A long file's 16-bit samples in a file that only the worker reads, by range, through a sync
 * access handle it keeps open (issue 12: 115 MB an hour that the worker no longer holds in
 * memory). Not the original's WAV: the page reads that one as a File while it plays.
 */
export class DiskPcm implements PcmReader {
  private closed = false;

  constructor(
    private readonly owner: DiskAudio,
    readonly name: string,
    private readonly access: FileSystemSyncAccessHandle,
    readonly length: number,
  ) {}

  read(start: number, dst: Int16Array): void {
    if (this.closed) throw new Error(`the samples of this file were let go (${this.name}): analyse the file again`);
    const bytes = new Uint8Array(dst.buffer, dst.byteOffset, dst.byteLength);
    const n = this.access.read(bytes as Uint8Array<ArrayBuffer>, { at: 2 * start });
    if (n !== bytes.byteLength) throw new Error(`${this.name}: read ${n} of ${bytes.byteLength} bytes at sample ${start}`);
  }

  /** Close the file and remove it (idempotent). */
  dispose(): void {
    if (this.closed) return;
    this.closed = true;
    this.access.close();
    void this.owner.remove(this.name);
  }
}

/** This worker's folder of WAV files. */
export class DiskAudio {
  private next = 0;
  private readonly timers = new Set<ReturnType<typeof setTimeout>>();

  constructor(private readonly dir: FileSystemDirectoryHandle) {}

  /** A new WAV file of `totalSamples` samples; `abort(w)` removes it when the render fails. */
  async writer(sampleRate: number, totalSamples: number): Promise<DiskWavWriter> {
    const name = `${DISK_AUDIO_PREFIX}${this.next++}.wav`;
    const handle = await this.dir.getFileHandle(name, { create: true });
    const access = await handle.createSyncAccessHandle();
    try {
      access.truncate(0);
      return new DiskWavWriter(handle, access, sampleRate, totalSamples);
    } catch (e) {
      access.close();
      throw e;
    }
  }

  /** The samples written to a new file kept open for reading (DiskPcm); the file is removed when that fails. */
  async pcm(x: Int16Array): Promise<DiskPcm> {
    const name = `${DISK_AUDIO_PREFIX}${this.next++}.pcm`;
    const handle = await this.dir.getFileHandle(name, { create: true });
    const access = await handle.createSyncAccessHandle();
    try {
      access.truncate(0);
      writeAt(access, name, new Uint8Array(x.buffer, x.byteOffset, x.byteLength), 0);
      access.flush();
      return new DiskPcm(this, name, access, x.length);
    } catch (e) {
      access.close();
      await this.remove(name);
      throw e;
    }
  }

  /** Two writers (explanation and residual) as renderExplanationAudio takes them. */
  async trackSinks(sampleRate: number, totalSamples: number): Promise<{ explanation: DiskWavWriter; residual: DiskWavWriter }> {
    const explanation = await this.writer(sampleRate, totalSamples);
    try {
      return { explanation, residual: await this.writer(sampleRate, totalSamples) };
    } catch (e) {
      await this.abort(explanation);
      throw e;
    }
  }

  /** Close and remove a writer's file (a render that failed or was cancelled). */
  async abort(...writers: (WavSink<Promise<File>> | undefined)[]): Promise<void> {
    for (const w of writers) {
      if (!(w instanceof DiskWavWriter)) continue;
      w.close();
      await this.remove(w.name);
    }
  }

  /** Remove the files of these names after the grace period (names not of this folder are ignored). */
  release(names: string[]): void {
    const mine = names.filter((n) => n.startsWith(DISK_AUDIO_PREFIX));
    if (!mine.length) return;
    const t = setTimeout(() => {
      this.timers.delete(t);
      for (const n of mine) void this.remove(n);
    }, RELEASE_GRACE_MS);
    this.timers.add(t);
  }

  /** The names of the files in the folder now (tests, and the bench's check that nothing piles up). */
  async names(): Promise<string[]> {
    const out: string[] = [];
    for await (const n of (this.dir as unknown as { keys(): AsyncIterable<string> }).keys()) out.push(n);
    return out.sort();
  }

  /** Remove a file of this folder now (ignored when it is gone already). */
  async remove(name: string): Promise<void> {
    await this.dir.removeEntry(name).catch(() => undefined);
  }
}

/**
 * This worker's DiskAudio, or null where the browser has no OPFS sync access or Web Locks (the
 * caller then keeps the WAV files in memory, as before). Folders of workers that are gone are removed first.
 */
export async function openDiskAudio(): Promise<DiskAudio | null> {
  // absent outside secure contexts and in older browsers
  const { storage, locks } = self.navigator as Partial<Pick<WorkerNavigator, 'storage' | 'locks'>>;
  if (!storage?.getDirectory || !locks || typeof FileSystemFileHandle === 'undefined' || !('createSyncAccessHandle' in FileSystemFileHandle.prototype)) return null;
  try {
    const root = await storage.getDirectory();
    const top = await root.getDirectoryHandle(TOP, { create: true });
    for await (const name of (top as unknown as { keys(): AsyncIterable<string> }).keys()) {
      await locks.request(`${TOP}/${name}`, { ifAvailable: true }, async (lock: Lock | null) => {
        if (lock) await top.removeEntry(name, { recursive: true }).catch(() => undefined);
      });
    }
    const name = crypto.randomUUID();
    // the lock first, then the folder: another page's clean-up never sees it unlocked
    await new Promise<void>((held) => {
      void locks.request(`${TOP}/${name}`, () => {
        held();
        return new Promise<never>(() => undefined); // held while this worker lives
      });
    });
    return new DiskAudio(await top.getDirectoryHandle(name, { create: true }));
  } catch {
    return null;
  }
}
