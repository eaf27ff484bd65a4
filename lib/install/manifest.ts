/**
 * The install manifest: every file, symlink and folder an install wrote
 * (paths as on the target system, without DESTDIR), and what it moved aside
 * with `--force`, so that uninstall removes exactly that and puts back what
 * was there before.
 *
 * @module
 */

import { VdevError } from "../errors.ts";

/** One thing an install wrote. */
export interface ManifestEntry {
  /** Absolute path on the target system (DESTDIR not included). */
  path: string;
  /** What was written. */
  type: "file" | "symlink" | "dir";
  /** A file's SHA-256 (hex): uninstall keeps a file that was changed since. */
  sha256?: string;
  /** A symlink's target. */
  target?: string;
  /** Where the file that was there before (`--force`) was moved to. */
  saved?: string;
}

/** The manifest file's contents. */
export interface Manifest {
  /** Format version of this file. */
  format: 1;
  /** vdevctl's version. */
  version: string;
  /** The `--prefix` of the install. */
  prefix: string;
  /** Entries in the order they were written. */
  entries: ManifestEntry[];
}

/** Where the manifest lives under the installed copy. */
export const MANIFEST_NAME = "install-manifest.json";

/** Parses a manifest's text; `where` names the file in errors. */
export function parseManifest(text: string, where: string): Manifest {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    throw new VdevError(
      `${where} is not valid JSON: remove the installed files by hand or reinstall with --force`,
    );
  }
  const m = data as Partial<Manifest>;
  if (
    m === null || typeof m !== "object" || m.format !== 1 ||
    typeof m.prefix !== "string" || !Array.isArray(m.entries) ||
    !m.entries.every(validEntry)
  ) {
    throw new VdevError(
      `${where} is not a vdevctl install manifest (format 1): remove the installed files by hand`,
    );
  }
  return m as Manifest;
}

function validEntry(e: unknown): boolean {
  const x = e as Partial<ManifestEntry>;
  return x !== null && typeof x === "object" &&
    typeof x.path === "string" && x.path.startsWith("/") &&
    !x.path.split("/").includes("..") &&
    (x.type === "file" || x.type === "symlink" || x.type === "dir");
}

/** The manifest as stored: stable, indented JSON. */
export function manifestText(m: Manifest): string {
  return JSON.stringify(m, null, 2) + "\n";
}
