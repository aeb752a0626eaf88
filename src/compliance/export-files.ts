/**
 * The files of an export: the target is checked first, data and manifest are
 * written under temporary names next to it and renamed into place durably.
 */
import { open, stat, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';

/** The manifest's path for a data file. */
export function manifestPath(file: string): string {
  return `${file}.manifest.json`;
}

/** The target's directory must exist; the file and its manifest must not (unless force). */
export async function checkTarget(file: string, manifestFile: string, force: boolean): Promise<void> {
  const dir = dirname(file);
  const dirStat = await stat(dir).catch((err: NodeJS.ErrnoException) => {
    throw new Error(err.code === 'ENOENT' ? `directory ${dir} does not exist` : `cannot use directory ${dir}: ${err.message}`);
  });
  if (!dirStat.isDirectory()) throw new Error(`${dir} is not a directory`);
  for (const path of [file, manifestFile]) {
    const existing = await stat(path).catch(() => undefined);
    if (existing?.isDirectory()) throw new Error(`${path} is a directory`);
    if (existing && !force) throw new Error(`${path} exists (--force replaces it)`);
  }
}

/** Write a new file (never an existing one) and sync it to disk. */
export async function writeDurably(path: string, text: string): Promise<void> {
  const handle = await open(path, 'wx', 0o600);
  try {
    await handle.writeFile(text, 'utf8');
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Makes the renames durable; not every file system lets a directory be synced. */
export async function syncDirectory(dir: string): Promise<void> {
  let handle: FileHandle | undefined;
  try {
    handle = await open(dir, 'r');
    await handle.sync();
  } catch {
    // EISDIR/EINVAL/EPERM on some platforms: the renames stand, only less durably.
  } finally {
    await handle?.close().catch(() => undefined);
  }
}
