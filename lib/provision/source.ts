/**
 * Where manifests come from: a file, standard input (`-`), or every
 * `/etc/vdevctl/*.json`, `*.yaml` and `*.yml` (the host's desired state,
 * applied at boot). A file named `*.yaml`/`*.yml`, or standard input that
 * does not start with `{`, is YAML (nmstate's habit), read by the `yaml`
 * package with unique keys and at most 100 aliases; anything else is JSON. Only
 * regular files are read, at most 16 MiB each, so a FIFO, a device such as
 * /dev/zero or a huge file cannot hang the tool or exhaust its memory.
 *
 * @module
 */

import { errnoCode, messageOf, VdevError } from "../errors.ts";
import type { SysRoot } from "../root.ts";
import {
  type Manifest,
  manifestFromDocument,
  mergeManifests,
  parseManifest,
} from "./manifest.ts";

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
    throw new VdevError(
      `${what}: not UTF-8 text: give a JSON or YAML manifest`,
    );
  }
}

/** Whether manifest `path` is YAML by its name. */
export function isYamlPath(path: string): boolean {
  return /\.ya?ml$/i.test(path);
}

/**
 * Parses YAML manifest text. The parser is loaded only here, so JSON
 * manifests (and every other command) never pay for it.
 */
export async function parseYamlManifest(
  text: string,
  source = "manifest",
): Promise<Manifest> {
  const yaml = await import("yaml");
  let doc: unknown;
  try {
    doc = yaml.parse(text, {
      uniqueKeys: true,
      maxAliasCount: 100,
      prettyErrors: false,
    });
  } catch (err) {
    const first = messageOf(err).split("\n")[0];
    throw new VdevError(
      `${source}: not valid YAML (${first}): give one mapping of mdev, vduse, vdpa, mvnet lists`,
    );
  }
  return manifestFromDocument(doc, source);
}

function parseText(
  text: string,
  source: string,
  yaml: boolean,
): Manifest | Promise<Manifest> {
  return yaml ? parseYamlManifest(text, source) : parseManifest(text, source);
}

/** Reads and parses manifest `path` (`-`: standard input). */
export async function readManifest(path: string): Promise<Manifest> {
  if (path === "-") {
    const text = await readLimited(Deno.stdin, "stdin");
    return await parseText(text, "stdin", !/^\s*(\{|$)/.test(text));
  }
  let file: Deno.FsFile;
  try {
    // O_NONBLOCK-free open of a FIFO would block: check the type first.
    const st = Deno.statSync(path);
    if (!st.isFile) {
      throw new VdevError(
        `${path}: not a regular file: give a manifest file (JSON or YAML) or - for stdin`,
      );
    }
    file = Deno.openSync(path, { read: true });
  } catch (err) {
    if (err instanceof VdevError) throw err;
    throw new VdevError(
      `${path}: cannot read it (${
        errnoCode(err) ?? messageOf(err)
      }): give a manifest file (JSON or YAML)`,
      { cause: err },
    );
  }
  try {
    if (!file.statSync().isFile) {
      throw new VdevError(`${path}: not a regular file: give a manifest file`);
    }
    return await parseText(
      await readLimited(file, path),
      path,
      isYamlPath(path),
    );
  } finally {
    file.close();
  }
}

/**
 * The paths of the host's manifests, `/etc/vdevctl/*.json`, `*.yaml` and
 * `*.yml`, sorted.
 */
export function etcManifestPaths(root: SysRoot): string[] {
  const dir = root.path(ETC_DIR);
  try {
    return [...Deno.readDirSync(dir)]
      .filter((e) =>
        (e.name.endsWith(".json") || isYamlPath(e.name)) &&
        !e.name.startsWith(".")
      )
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

/** Formats `manifest` as YAML (`export --yaml`), loading the parser only here. */
export async function manifestToYaml(manifest: Manifest): Promise<string> {
  const yaml = await import("yaml");
  return yaml.stringify(manifest, { indent: 2 });
}
