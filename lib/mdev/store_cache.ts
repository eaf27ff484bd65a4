/**
 * What the last listing read from /etc/mdevctl.d, kept in
 * `/run/vdevctl/mdev-store.json` (tmpfs: gone at reboot) so that the next
 * one need not open and parse every file again. A parent directory is
 * served from it only while nothing can have changed: the directory and each
 * of its files still have the signature (owner, mode, inode, size, change
 * and modification times to the nanosecond, device) they had before they
 * were read, one statx(2) per file (lib/small_file.ts). Like git's index, a
 * directory or file changed less than {@linkcode SETTLE_MS} before it was
 * read is not kept: a second write within one tick of the kernel's clock
 * could leave its times as they were (enough for timestamps of one second
 * or finer: every Linux root file system). Only directories without
 * problems are kept (every entry a definition file named by its canonical
 * UUID).
 *
 * The cache is only a copy: it is read only when it is a regular file owned
 * by this user and writable by no one else, in a directory the same holds
 * for; any doubt (a bad or foreign file, another layout) reads the store
 * itself. It is written atomically, only under an existing `/run`, and any
 * failure to write it is ignored. `VDEVCTL_MDEV_CACHE=off` turns it off.
 *
 * @module
 */

import type { SysRoot } from "../root.ts";
import { atomicWriteFileSync, removeStaleTemps } from "../atomic_write.ts";
import { SIGNATURE_WORDS, signatureChangedMs } from "../file_signature.ts";
import type { MdevAttr, MdevDefinition } from "./definition.ts";

/** The cache file under the root. */
export const STORE_CACHE_PATH = "/run/vdevctl/mdev-store.cache";

/** A file changed less than this long before it was read is not cached. */
export const SETTLE_MS = 1000;

/** The most the cache file may hold (10,000 definitions take about 1 MB). */
const CACHE_LIMIT = 64 << 20;
/** "VDMC" read as a little-endian u32 (another byte order reads another). */
const MAGIC = 0x434d4456;
const VERSION = 2;
/** A canonical UUID's length: the names of a kept directory, joined. */
const UUID_LENGTH = 36;
/** The header: magic, version, JSON bytes, signature words (u32 each). */
const HEADER_WORDS = 4;

/** One parent directory's definitions as read, and what proves them current. */
export interface CachedParent {
  /**
   * Signatures ({@linkcode SIGNATURE_WORDS} numbers each): the directory's
   * before it was listed, then each file's before it was read.
   */
  sigs: ArrayLike<number>;
  /** The files (canonical UUIDs) in directory order. */
  names: string[];
  /** The definitions' distinct mdev types. */
  types: string[];
  /**
   * Two numbers per file: its type's index in `types` times two plus one
   * for autostart, and how many attributes it has.
   */
  rows: number[];
  /** Every file's attributes in order, each as its name then its value. */
  attrs: string[];
}

/** The cache entry of `defs` (one directory's, in its order) and `sigs`. */
export function cachedParentOf(
  defs: readonly MdevDefinition[],
  sigs: ArrayLike<number>,
): CachedParent {
  const types: string[] = [];
  const typeAt = new Map<string, number>();
  const rows: number[] = [];
  const attrs: string[] = [];
  for (const d of defs) {
    let t = typeAt.get(d.type);
    if (t === undefined) {
      t = types.push(d.type) - 1;
      typeAt.set(d.type, t);
    }
    rows.push(t * 2 + (d.autostart ? 1 : 0), d.attrs.length);
    for (const a of d.attrs) attrs.push(a.name, a.value);
  }
  return { sigs, names: defs.map((d) => d.uuid), types, rows, attrs };
}

/**
 * The cache file: a header, the JSON below (UTF-8, padded with spaces to a
 * multiple of four bytes), then every signature as native u32 words (read
 * as one typed array: no parsing). Few and flat values, cheap to parse: a
 * parent's names are one string, its definitions a table of numbers.
 */
interface CacheJson {
  /** The store directory the entries are of. */
  base: string;
  /**
   * Each parent: where its signatures start (in words), its names joined
   * (each {@linkcode UUID_LENGTH} long), and {@linkcode CachedParent}'s
   * `types`, `rows` and `attrs`.
   */
  parents: Record<string, JsonParent>;
}

interface JsonParent {
  at: number;
  names: string;
  types: unknown[];
  rows: unknown[];
  attrs: unknown[];
}

/** True when `path` is a file or directory only this user can change. */
function ownedAlone(path: string, file: boolean): boolean {
  try {
    const st = Deno.lstatSync(path);
    if (file ? !st.isFile : !st.isDirectory) return false;
    return st.uid === Deno.uid() && st.mode !== null &&
      (st.mode & 0o022) === 0;
  } catch {
    return false;
  }
}

/**
 * The cache of one store directory for one scan: what it held when opened,
 * what the scan learned; {@linkcode StoreCache.save} writes it back if that
 * changed anything.
 */
export class StoreCache {
  readonly #path: string;
  readonly #dir: string;
  readonly #base: string;
  /** A map: a parent may be named anything, "__proto__" too. */
  #parents = new Map<string, CachedParent>();
  #changed = false;
  /** Files and directories changed after this (ms since the epoch) are not kept. */
  readonly settledBefore: number;

  private constructor(
    root: SysRoot,
    base: string,
    now: number,
  ) {
    this.#path = root.path(STORE_CACHE_PATH);
    this.#dir = this.#path.slice(0, this.#path.lastIndexOf("/"));
    this.#base = base;
    this.settledBefore = now - SETTLE_MS;
  }

  /**
   * The cache of store directory `base` under `root` (empty when there is
   * none or it cannot be trusted); undefined when `VDEVCTL_MDEV_CACHE=off`.
   * `options.now`: the clock (ms since the epoch; tests).
   */
  static open(
    root: SysRoot,
    base: string,
    options: { now?: number } = {},
  ): StoreCache | undefined {
    if (Deno.env.get("VDEVCTL_MDEV_CACHE") === "off") return undefined;
    const cache = new StoreCache(root, base, options.now ?? Date.now());
    cache.#load();
    return cache;
  }

  #load(): void {
    if (!ownedAlone(this.#dir, false) || !ownedAlone(this.#path, true)) return;
    let bytes: Uint8Array;
    try {
      bytes = readOwnFile(this.#path);
    } catch {
      return; // gone or unreadable: read the store, write a new one
    }
    const head = new Uint32Array(bytes.buffer, 0, HEADER_WORDS);
    const [magic, version, jsonBytes, words] = head;
    const jsonEnd = HEADER_WORDS * 4 + jsonBytes;
    if (
      magic !== MAGIC || version !== VERSION || jsonBytes % 4 !== 0 ||
      bytes.length !== jsonEnd + words * 4
    ) {
      return;
    }
    let json: CacheJson;
    try {
      json = JSON.parse(
        decoder.decode(bytes.subarray(HEADER_WORDS * 4, jsonEnd)),
      );
    } catch {
      return;
    }
    if (json?.base !== this.#base || typeof json.parents !== "object") return;
    const sigs = new Uint32Array(bytes.buffer, jsonEnd, words);
    for (const [parent, e] of Object.entries(json.parents ?? {})) {
      const joined = typeof e?.names === "string" ? e.names : "";
      const n = joined.length / UUID_LENGTH;
      const end = e?.at + (n + 1) * SIGNATURE_WORDS;
      if (
        !Number.isInteger(n) || !Array.isArray(e.types) ||
        !Array.isArray(e.rows) || e.rows.length !== 2 * n ||
        !Array.isArray(e.attrs) || !Number.isInteger(e.at) || e.at < 0 ||
        !(end <= words)
      ) {
        continue; // checked further as each definition is made
      }
      const names = new Array<string>(n);
      for (let i = 0; i < n; i++) {
        names[i] = joined.slice(i * UUID_LENGTH, (i + 1) * UUID_LENGTH);
      }
      this.#parents.set(parent, {
        sigs: sigs.subarray(e.at, end),
        names,
        types: e.types as string[],
        rows: e.rows as number[],
        attrs: e.attrs as string[],
      });
    }
  }

  /** True when the cache holds some directory (the store was big). */
  get warm(): boolean {
    return this.#parents.size > 0;
  }

  /** The entry of `parent`, if the cache holds one. */
  lookup(parent: string): CachedParent | undefined {
    return this.#parents.get(parent);
  }

  /** Keeps `entry` for `parent` (undefined: forgets it). */
  record(parent: string, entry: CachedParent | undefined): void {
    if (entry === undefined && !this.#parents.has(parent)) return;
    if (entry === undefined) this.#parents.delete(parent);
    else this.#parents.set(parent, entry);
    this.#changed = true;
  }

  /** Forgets every parent not in `seen` (directories gone from the store). */
  keepOnly(seen: ReadonlySet<string>): void {
    for (const parent of [...this.#parents.keys()]) {
      if (!seen.has(parent)) this.record(parent, undefined);
    }
  }

  /** The cache file's bytes for what the cache now holds. */
  #bytes(): Uint8Array {
    const entries: [string, JsonParent][] = [];
    let words = 0;
    const kept: ArrayLike<number>[] = [];
    for (const [parent, e] of this.#parents) {
      if (e.names.some((name) => name.length !== UUID_LENGTH)) continue;
      entries.push([parent, {
        at: words,
        names: e.names.join(""),
        types: e.types,
        rows: e.rows,
        attrs: e.attrs,
      }]);
      kept.push(e.sigs);
      words += e.sigs.length;
    }
    // fromEntries defines own properties ("__proto__" stays a key).
    const json: CacheJson = {
      base: this.#base,
      parents: Object.fromEntries(entries),
    };
    let text = JSON.stringify(json);
    text += " ".repeat((4 - encoder.encode(text).length % 4) % 4);
    const jsonBytes = encoder.encode(text);
    const out = new Uint8Array(HEADER_WORDS * 4 + jsonBytes.length + words * 4);
    new Uint32Array(out.buffer, 0, HEADER_WORDS).set([
      MAGIC,
      VERSION,
      jsonBytes.length,
      words,
    ]);
    out.set(jsonBytes, HEADER_WORDS * 4);
    const sigs = new Uint32Array(
      out.buffer,
      HEADER_WORDS * 4 + jsonBytes.length,
      words,
    );
    let at = 0;
    for (const s of kept) {
      sigs.set(s, at);
      at += s.length;
    }
    return out;
  }

  /**
   * Writes the cache back if the scan changed it (atomically, mode 0600,
   * in `/run/vdevctl`, made if `/run` exists); failures are ignored.
   */
  save(): void {
    if (!this.#changed) return;
    try {
      try {
        Deno.mkdirSync(this.#dir, { mode: 0o755 });
      } catch (err) {
        if (!(err instanceof Deno.errors.AlreadyExists)) return;
      }
      if (!ownedAlone(this.#dir, false)) return;
      removeStaleTemps(
        this.#dir,
        Array.from(Deno.readDirSync(this.#dir), (e) => e.name),
      );
      atomicWriteFileSync(this.#path, this.#bytes(), { mode: 0o600 });
    } catch {
      // A cache that cannot be written is only slower next time.
    }
  }
}

/**
 * Reads a file of at most CACHE_LIMIT bytes into a buffer of its own
 * (aligned for the signatures' u32 view).
 */
function readOwnFile(path: string): Uint8Array {
  const file = Deno.openSync(path, { read: true });
  try {
    const st = file.statSync();
    if (!st.isFile || st.size > CACHE_LIMIT || st.size < HEADER_WORDS * 4) {
      throw new Error(`${path}: not a cache file`);
    }
    const bytes = new Uint8Array(st.size);
    let off = 0;
    while (off < bytes.length) {
      const n = file.readSync(bytes.subarray(off));
      if (n === null || n === 0) throw new Error(`${path}: truncated`);
      off += n;
    }
    return bytes;
  } finally {
    file.close();
  }
}

const decoder = new TextDecoder();
const encoder = new TextEncoder();

/** True when every signature in `sigs` changed before `before` (ms). */
export function settled(sigs: ArrayLike<number>, before: number): boolean {
  for (let at = 0; at < sigs.length; at += SIGNATURE_WORDS) {
    if (!(signatureChangedMs(sigs, at) < before)) return false;
  }
  return true;
}

/**
 * The definitions of a cached parent, as a scan returns them; undefined
 * when an entry is not of the cache's form (then the directory is read).
 */
export function cachedDefinitions(
  parent: string,
  entry: CachedParent,
): MdevDefinition[] | undefined {
  const { names, types, rows, attrs } = entry;
  const n = names.length;
  if (rows.length !== 2 * n || !types.every((t) => typeof t === "string")) {
    return undefined;
  }
  const out: MdevDefinition[] = new Array(n);
  let k = 0;
  for (let i = 0; i < n; i++) {
    const row = rows[2 * i];
    const count = rows[2 * i + 1];
    const type = types[row >> 1];
    if (
      !Number.isInteger(row) || row < 0 || type === undefined ||
      !Number.isInteger(count) || count < 0 || k + 2 * count > attrs.length
    ) {
      return undefined;
    }
    const list: MdevAttr[] = new Array(count);
    for (let a = 0; a < count; a++, k += 2) {
      const name = attrs[k];
      const value = attrs[k + 1];
      if (typeof name !== "string" || typeof value !== "string") {
        return undefined;
      }
      list[a] = { name, value };
    }
    out[i] = {
      parent,
      uuid: names[i],
      type,
      autostart: (row & 1) === 1,
      attrs: list,
    };
  }
  return k === attrs.length ? out : undefined;
}
