// Models the user opened, kept in this browser (IndexedDB) so the model picker offers them after
// a reload. Raw IndexedDB, no library: two object stores, so listing reads only the small
// metadata records and a model's bytes are read when it is selected. Nothing leaves the machine.

/** A stored user model as the picker lists it. */
export interface StoredModel {
  id: string;
  /** The manifest's name. */
  name: string;
  savedAt: number;
  bytes: number;
}

const DB = 'lmac-listen';
const META = 'models';
const FILES = 'modelFiles';

function request<T>(r: IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    r.onsuccess = () => resolve(r.result);
    r.onerror = () => reject(r.error ?? new Error('IndexedDB request failed'));
  });
}

function done(tx: IDBTransaction): Promise<void> {
  return new Promise((resolve, reject) => {
    tx.oncomplete = () => resolve();
    tx.onerror = () => reject(tx.error ?? new Error('IndexedDB transaction failed'));
    tx.onabort = () => reject(tx.error ?? new Error('IndexedDB transaction aborted'));
  });
}

let opened: Promise<IDBDatabase> | null = null;
function db(): Promise<IDBDatabase> {
  if (typeof indexedDB === 'undefined') return Promise.reject(new Error('this browser has no IndexedDB: opened models cannot be kept'));
  opened ??= new Promise<IDBDatabase>((resolve, reject) => {
    const r = indexedDB.open(DB, 1);
    r.onupgradeneeded = () => {
      r.result.createObjectStore(META, { keyPath: 'id' });
      r.result.createObjectStore(FILES);
    };
    r.onsuccess = () => resolve(r.result);
    r.onerror = () => reject(r.error ?? new Error('IndexedDB could not be opened'));
  }).catch((e) => {
    opened = null;
    throw e;
  });
  return opened;
}

/** The stored user models, oldest first. */
export async function listModels(): Promise<StoredModel[]> {
  const d = await db();
  const all = await request(d.transaction(META).objectStore(META).getAll() as IDBRequest<StoredModel[]>);
  return all.sort((a, b) => a.savedAt - b.savedAt);
}

/** Store a model's files under its manifest name (a model of the same name is replaced); returns its record. */
export async function saveModel(name: string, files: Record<string, ArrayBuffer>): Promise<StoredModel> {
  const d = await db();
  const existing = (await listModels()).find((m) => m.name === name);
  const rec: StoredModel = {
    id: existing?.id ?? `m${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`,
    name,
    savedAt: Date.now(),
    bytes: Object.values(files).reduce((s, b) => s + b.byteLength, 0),
  };
  const tx = d.transaction([META, FILES], 'readwrite');
  tx.objectStore(META).put(rec);
  tx.objectStore(FILES).put(files, rec.id);
  await done(tx);
  return rec;
}

/** A stored model's files (relative path → bytes); throws when it is gone. */
export async function readModel(id: string): Promise<Record<string, ArrayBuffer>> {
  const d = await db();
  const files = await request(d.transaction(FILES).objectStore(FILES).get(id) as IDBRequest<Record<string, ArrayBuffer> | undefined>);
  if (!files) throw new Error('this model is no longer stored in the browser');
  return files;
}

/** Remove a stored model. */
export async function removeModel(id: string): Promise<void> {
  const d = await db();
  const tx = d.transaction([META, FILES], 'readwrite');
  tx.objectStore(META).delete(id);
  tx.objectStore(FILES).delete(id);
  await done(tx);
}
