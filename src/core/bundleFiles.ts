// What the user opened (a folder, a .zip, or files), as a map of relative paths → bytes, turned
// into either a bundle (paths relative to the one manifest.json's folder) or a bare .onnx for
// the form. Pure (fflate for zips), so the unit tests and the UI share it.
import { unzipSync } from 'fflate';
import { BundleError } from './manifest';

/** Relative path → bytes. */
export type FileMap = Record<string, Uint8Array>;

export type OpenedModel =
  | { kind: 'bundle'; files: FileMap }
  | { kind: 'onnx'; file: string; bytes: Uint8Array; labelFiles: FileMap };

/** Files a folder or zip may carry that are not part of any bundle (OS metadata). */
function ignored(path: string): boolean {
  return path.split('/').some((p) => p === '__MACOSX' || p === '.DS_Store' || p.startsWith('._')) || path.endsWith('/');
}

/** The entries of a .zip (directories and OS metadata dropped); throws BundleError naming the zip when it cannot be read. */
export function unzipFiles(zipName: string, bytes: Uint8Array): FileMap {
  let entries: FileMap;
  try {
    entries = unzipSync(bytes);
  } catch (e) {
    throw new BundleError(`${zipName}: not a zip file that can be read (${(e as Error).message})`);
  }
  const out: FileMap = {};
  for (const [p, b] of Object.entries(entries)) if (!ignored(p)) out[p.replace(/\\/g, '/')] = b;
  return out;
}

const base = (p: string) => p.slice(p.lastIndexOf('/') + 1);

/**
 * Find the bundle in what was opened (`source` names it in messages, e.g. "drums.zip" or "the
 * folder"): exactly one manifest.json → its folder's files, paths relative to it; none → the one
 * .onnx (bare classifier, for the form); throws BundleError otherwise.
 */
export function findBundle(source: string, files: FileMap): OpenedModel {
  const paths = Object.keys(files).filter((p) => !ignored(p));
  const manifests = paths.filter((p) => base(p) === 'manifest.json').sort();
  if (manifests.length > 1)
    throw new BundleError(`${source}: has ${manifests.length} manifest.json files (${manifests.join(', ')}): open one bundle folder at a time`);
  if (manifests.length === 1) {
    const dir = manifests[0].slice(0, manifests[0].length - 'manifest.json'.length);
    const out: FileMap = {};
    for (const p of paths) if (p.startsWith(dir)) out[p.slice(dir.length)] = files[p];
    return { kind: 'bundle', files: out };
  }
  const onnx = paths.filter((p) => /\.onnx$/i.test(p));
  if (onnx.length === 0)
    throw new BundleError(`${source}: no manifest.json and no .onnx file in it; a model is a bundle folder (manifest.json + its .onnx files) or one classifier .onnx`);
  if (onnx.length > 1)
    throw new BundleError(`${source}: ${onnx.length} .onnx files (${onnx.join(', ')}) and no manifest.json: open a bundle with its manifest.json, or one classifier .onnx`);
  const labelFiles: FileMap = {};
  for (const p of paths) if (/\.(txt|json)$/i.test(p)) labelFiles[p] = files[p];
  return { kind: 'onnx', file: base(onnx[0]), bytes: files[onnx[0]], labelFiles };
}

/**
 * Normalise picked/dropped files to one map: a .zip alone is unzipped; a folder's files keep
 * their paths (webkitRelativePath or the dropped entry's path).
 */
export function openedFiles(files: { path: string; bytes: Uint8Array }[]): { source: string; files: FileMap } {
  if (files.length === 1 && /\.zip$/i.test(files[0].path)) {
    const name = base(files[0].path);
    return { source: name, files: unzipFiles(name, files[0].bytes) };
  }
  const zips = files.filter((f) => /\.zip$/i.test(f.path));
  if (zips.length) throw new BundleError(`${base(zips[0].path)}: open a .zip on its own, not together with other files`);
  const out: FileMap = {};
  for (const f of files) out[f.path.replace(/\\/g, '/').replace(/^\/+/, '')] = f.bytes;
  const top = new Set(Object.keys(out).map((p) => p.split('/')[0]));
  const source = files.length === 1 ? base(files[0].path) : top.size === 1 && Object.keys(out).some((p) => p.includes('/')) ? `folder ${[...top][0]}` : 'the opened files';
  return { source, files: out };
}
