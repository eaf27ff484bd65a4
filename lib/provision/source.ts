/**
 * Where manifests come from: a file, standard input (`-`), or every
 * `/etc/vdevctl/*.json` (the host's desired state, applied at boot). Only
 * regular files are read, at most 16 MiB each, so a FIFO, a device such as
 * /dev/zero or a huge file cannot hang the tool or exhaust its memory.
 *
 * @module
 */

import { errnoCode, messageOf, VdevError } from "../errors.ts";
import type { SysRoot } from "../root.ts";
import { type Manifest, mergeManifests, parseManifest } from "./manifest.ts";

/** Largest manifest read. */
export const MAX_MANIFEST_BYTES = 16 << 20;

/** The directory of the host's manifests. */
export const ETC_DIR = "/etc/vdevctl";

async function readLimited(
  file: { read(p: Uint8Array): Promise<number | null> },
  what: string,
): Promise<string> {
  const chunks: Uint8Array[] = [];
  let total = 0;
  const buf = new Uint8Array(64 << 10);
  for (;;) {
    const n = await file.read(buf);
    if (n === null) break;
    total += n;
    if (total > MAX_MANIFEST_BYTES) {
      throw new VdevError(
        `${what}: larger than ${MAX_MANIFEST_BYTES >> 20} MiB: not a manifest`,
      );
    }
    chunks.push(buf.slice(0, n));
  }
  const all = new Uint8Array(total);
  let off = 0;
  for (const c of chunks) {
    all.set(c, off);
    off += c.length;
  }
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(all);
  } catch {
    throw new VdevError(`${what}: not UTF-8 text: give a JSON manifest`);
  }
}

/** Reads and parses manifest `path` (`-`: standard input). */
export async function readManifest(path: string): Promise<Manifest> {
  if (path === "-") {
    return parseManifest(await readLimited(Deno.stdin, "stdin"), "stdin");
  }
  let file: Deno.FsFile;
  try {
    // O_NONBLOCK-free open of a FIFO would block: check the type first.
    const st = Deno.statSync(path);
    if (!st.isFile) {
      throw new VdevError(
        `${path}: not a regular file: give a JSON manifest file or - for stdin`,
      );
    }
    file = Deno.openSync(path, { read: true });
  } catch (err) {
    if (err instanceof VdevError) throw err;
    throw new VdevError(
      `${path}: cannot read it (${
        errnoCode(err) ?? messageOf(err)
      }): give a JSON manifest file`,
      { cause: err },
    );
  }
  try {
    if (!file.statSync().isFile) {
      throw new VdevError(`${path}: not a regular file: give a manifest file`);
    }
    return parseManifest(await readLimited(file, path), path);
  } finally {
    file.close();
  }
}

/** The paths of the host's manifests, `/etc/vdevctl/*.json`, sorted. */
export function etcManifestPaths(root: SysRoot): string[] {
  const dir = root.path(ETC_DIR);
  try {
    return [...Deno.readDirSync(dir)]
      .filter((e) => e.name.endsWith(".json") && !e.name.startsWith("."))
      .map((e) => `${dir}/${e.name}`)
      .sort();
  } catch (err) {
    if (errnoCode(err) === "ENOENT") return [];
    throw new VdevError(`${dir}: cannot read it (${messageOf(err)})`, {
      cause: err,
    });
  }
}

/** Reads the given manifests (or the host's, when none) merged into one. */
export async function readManifests(
  paths: readonly string[],
): Promise<Manifest> {
  const list: Manifest[] = [];
  for (const p of paths) list.push(await readManifest(p));
  return mergeManifests(list);
}
