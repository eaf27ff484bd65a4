/**
 * Personalities: started as `mdevctl`, vdevctl is `vdevctl mdev`; as
 * `lsmdev`, mdevctl's lsmdev (`mdevctl list` with its options); as `vdpa`,
 * `vdevctl vdpa`. The launcher passes the name it was started under in
 * `VDEVCTL_ARGV0`. Messages then name the personality's commands (libvirt
 * copies mdevctl's stderr into its own errors).
 *
 * @module
 */

/** How a personality maps onto vdevctl. */
export interface Personality {
  /** The program name (`mdevctl`). */
  name: string;
  /** What its command line is prefixed with (`["mdev"]`). */
  prefix: readonly string[];
}

const PERSONALITIES: Record<string, readonly string[]> = {
  mdevctl: ["mdev"],
  lsmdev: ["mdev", "list"],
  vdpa: ["vdpa"],
};

let current: Personality | undefined;

/** The personality for the program name `argv0` (a path or a name), if any. */
export function personalityOf(
  argv0: string | undefined,
): Personality | undefined {
  if (argv0 === undefined) return undefined;
  const name = argv0.slice(argv0.lastIndexOf("/") + 1);
  const prefix = PERSONALITIES[name];
  return prefix ? { name, prefix } : undefined;
}

/** Sets the personality this process runs as (main.ts, at start-up). */
export function setPersonality(p: Personality | undefined): void {
  current = p;
}

/** The program name for messages: the personality's, or `vdevctl`. */
export function programName(): string {
  return current?.name ?? "vdevctl";
}

/**
 * Rewrites text for the user (help, errors) to name the personality's
 * commands: for mdevctl `vdevctl mdev list` becomes `mdevctl list`, for
 * lsmdev `vdevctl mdev list` becomes `lsmdev`, for vdpa `vdevctl vdpa dev`
 * becomes `vdpa dev`. Other vdevctl commands keep their names.
 */
export function personalize(text: string, p = current): string {
  if (!p) return text;
  const full = `vdevctl ${p.prefix.join(" ")}`;
  let out = text.replaceAll(full, p.name);
  if (p.name === "lsmdev") out = out.replaceAll("vdevctl mdev", "mdevctl");
  return out.replace(/^vdevctl:/gm, `${p.name}:`);
}
