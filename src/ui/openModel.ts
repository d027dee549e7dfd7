// Opening a model the user has (no server, no upload): files picked or dropped → a bundle that
// loads at once and is kept in the browser, or a bare .onnx that opens the form first. The
// worker does the checks (manifest, sha256, sessions, smoke run); every problem ends up in the
// app's model-error banner and the loaded model stays.
import { create } from 'zustand';
import type { BundleInfo, GraphMeta } from '../client/explainerClient';
import { listModels, readModel, removeModel, saveModel, type StoredModel } from '../client/modelStore';
import { findBundle, openedFiles, type FileMap } from '../core/bundleFiles';
import { sha256Hex } from '../core/manifest';
import { formToManifest, suggestForm, type FormSuggestion, type ModelFormValues } from '../core/modelForm';

/** What the app gives the opener (from useExplainer and the controller). */
export interface OpenDeps {
  loadFiles(label: string, files: FileMap, source: string): Promise<BundleInfo>;
  inspectModel(name: string, bytes: Uint8Array): Promise<GraphMeta>;
  /** Loads through `load`, then analyses the loaded files again (controller.switchModel). */
  switchModel(load: () => Promise<unknown>): Promise<void>;
  setModelError(message: string | null): void;
}

/** A bare .onnx waiting for the form. */
export interface PendingForm {
  file: string;
  bytes: Uint8Array;
  meta: GraphMeta;
  suggestion: FormSuggestion;
  /** .txt / .json files opened with it (offered as the labels file). */
  labelFiles: FileMap;
}

interface OpenState {
  form: PendingForm | null;
  /** Reading or inspecting files (before the model load itself). */
  opening: boolean;
  /** Models stored in this browser (the picker lists them). */
  stored: StoredModel[];
}

export const useOpenModel = create<OpenState>()(() => ({ form: null, opening: false, stored: [] }));

/** The picker value of a stored model: names are unique in the store (saving a name again replaces it). */
export function storedSource(name: string): string {
  return `user:${name}`;
}

/** Re-read the stored models' list (after a save or removal, and at start). */
export async function refreshStored(): Promise<void> {
  try {
    useOpenModel.setState({ stored: await listModels() });
  } catch {
    // no IndexedDB (e.g. a private window that forbids it): nothing is offered
  }
}

const message = (e: unknown) => (e instanceof Error ? e.message : String(e));

function manifestName(files: FileMap): string | null {
  try {
    const m = JSON.parse(new TextDecoder().decode(files['manifest.json'])) as { name?: unknown };
    return typeof m.name === 'string' && m.name ? m.name : null;
  } catch {
    return null;
  }
}

function buffers(files: FileMap): Record<string, ArrayBuffer> {
  const out: Record<string, ArrayBuffer> = {};
  for (const [k, b] of Object.entries(files)) out[k] = b.slice().buffer as ArrayBuffer;
  return out;
}

/** Load a bundle from memory and keep it in the browser; false when it failed (the banner says why). */
export async function loadAndStore(label: string, files: FileMap, deps: OpenDeps): Promise<boolean> {
  const name = manifestName(files) ?? label;
  let info: BundleInfo | null = null;
  try {
    await deps.switchModel(async () => {
      info = await deps.loadFiles(label, files, storedSource(name));
    });
  } catch {
    return false; // useExplainer shows the error; the loaded model stays
  }
  const loaded = info as BundleInfo | null;
  if (!loaded) return false;
  try {
    await saveModel(loaded.name, buffers(files));
    await refreshStored();
  } catch (e) {
    deps.setModelError(`model ${loaded.name} is loaded but could not be kept in this browser (${message(e)})`);
  }
  return true;
}

/** Open what was picked or dropped (path relative to what was opened → bytes). */
export async function openModelFiles(picked: { path: string; bytes: Uint8Array }[], deps: OpenDeps): Promise<void> {
  deps.setModelError(null);
  useOpenModel.setState({ form: null });
  let source: string;
  let found: ReturnType<typeof findBundle>;
  try {
    const o = openedFiles(picked);
    source = o.source;
    found = findBundle(source, o.files);
  } catch (e) {
    deps.setModelError(`model: ${message(e)}`);
    return;
  }
  if (found.kind === 'bundle') {
    await loadAndStore(source, found.files, deps);
    return;
  }
  useOpenModel.setState({ opening: true });
  try {
    const meta = await deps.inspectModel(found.file, found.bytes);
    useOpenModel.setState({ form: { file: found.file, bytes: found.bytes, meta, suggestion: suggestForm(meta, found.file), labelFiles: found.labelFiles } });
  } catch (e) {
    deps.setModelError(`model ${found.file}: ${message(e)}`);
  } finally {
    useOpenModel.setState({ opening: false });
  }
}

/** The form's values → a classifier-only bundle (manifest with the .onnx's sha256), loaded and stored; the form closes on success. */
export async function submitForm(values: ModelFormValues, form: PendingForm, deps: OpenDeps): Promise<boolean> {
  deps.setModelError(null);
  let files: FileMap;
  try {
    const manifest = formToManifest(values, await sha256Hex(form.bytes));
    files = { 'manifest.json': new TextEncoder().encode(JSON.stringify(manifest, null, 1)), [values.file]: form.bytes };
  } catch (e) {
    deps.setModelError(`model ${form.file}: ${message(e)}`);
    return false;
  }
  const ok = await loadAndStore(form.file, files, deps);
  if (ok) useOpenModel.setState({ form: null });
  return ok;
}

/** Load a model stored in the browser. */
export async function loadStored(model: StoredModel, deps: OpenDeps): Promise<void> {
  deps.setModelError(null);
  let files: Record<string, ArrayBuffer>;
  try {
    files = await readModel(model.id);
  } catch (e) {
    deps.setModelError(`model ${model.name}: ${message(e)}`);
    await refreshStored();
    return;
  }
  const map: FileMap = {};
  for (const [k, b] of Object.entries(files)) map[k] = new Uint8Array(b);
  await deps.switchModel(() => deps.loadFiles(model.name, map, storedSource(model.name))).catch(() => undefined);
}

/** Forget a stored model (a loaded one stays in use until another is picked). */
export async function forgetStored(model: StoredModel, deps: Pick<OpenDeps, 'setModelError'>): Promise<void> {
  try {
    await removeModel(model.id);
  } catch (e) {
    deps.setModelError(`model ${model.name}: could not be removed from this browser (${message(e)})`);
  }
  await refreshStored();
}

/** Files chosen with an `<input type=file>` (a folder keeps its webkitRelativePath). */
export async function readPicked(list: FileList | File[]): Promise<{ path: string; bytes: Uint8Array }[]> {
  return Promise.all(Array.from(list, async (f) => ({ path: f.webkitRelativePath || f.name, bytes: new Uint8Array(await f.arrayBuffer()) })));
}

const MODEL_NAME = /(\.onnx|\.zip|(^|\/)manifest\.json)$/i;

/** Whether a drop carries a model (a folder, .onnx, .zip or manifest.json) rather than audio. Call during the drop event. */
export function isModelDrop(dt: DataTransfer): boolean {
  for (const item of Array.from(dt.items ?? [])) {
    if (item.kind !== 'file') continue;
    const entry = item.webkitGetAsEntry?.();
    if (entry?.isDirectory) return true;
  }
  return Array.from(dt.files).some((f) => MODEL_NAME.test(f.name));
}

function readEntry(entry: FileSystemEntry, prefix: string): Promise<{ path: string; file: File }[]> {
  if (entry.isFile) {
    return new Promise((resolve, reject) => (entry as FileSystemFileEntry).file((file) => resolve([{ path: prefix + entry.name, file }]), reject));
  }
  const reader = (entry as FileSystemDirectoryEntry).createReader();
  // readEntries returns the entries in chunks (100 in Chromium) until it returns none
  const all: FileSystemEntry[] = [];
  return new Promise<FileSystemEntry[]>((resolve, reject) => {
    const next = () =>
      reader.readEntries((chunk) => {
        if (chunk.length === 0) resolve(all);
        else {
          all.push(...chunk);
          next();
        }
      }, reject);
    next();
  }).then(async (children) => (await Promise.all(children.map((c) => readEntry(c, `${prefix}${entry.name}/`)))).flat());
}

/** The dropped files with their paths (folders walked with webkitGetAsEntry). Take the entries synchronously in the drop handler. */
export function droppedFiles(dt: DataTransfer): Promise<{ path: string; bytes: Uint8Array }[]> {
  const entries = Array.from(dt.items ?? [])
    .filter((i) => i.kind === 'file')
    .map((i) => i.webkitGetAsEntry?.() ?? null);
  const flat = Array.from(dt.files);
  // synthetic drops (and some browsers) have no entries: the flat file list then
  const walk =
    entries.length > 0 && entries.every((e) => e !== null)
      ? Promise.all(entries.map((e) => readEntry(e!, ''))).then((l) => l.flat())
      : Promise.resolve(flat.map((file) => ({ path: file.name, file })));
  return walk.then((l) => Promise.all(l.map(async ({ path, file }) => ({ path, bytes: new Uint8Array(await file.arrayBuffer()) }))));
}
