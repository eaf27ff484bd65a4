/**
 * Picking Debian's Linux 6.12 packages: parsing `apt-cache madison`, comparing
 * Debian versions, and choosing the newest version for which all five
 * packages (image, headers, headers-common, kbuild, source) exist.
 *
 * @module
 */

/** The five package names of one kernel version. */
export interface KernelPackageSet {
  /** `linux-image-KVER-unsigned`. */
  image: string;
  /** `linux-headers-KVER` (the flavour headers). */
  headers: string;
  /** `linux-headers-ABI-common`. */
  headersCommon: string;
  /** `linux-kbuild-ABI`. */
  kbuild: string;
  /** `linux-source-6.12`. */
  source: string;
}

/** A chosen kernel version and its names. */
export interface KernelVersion {
  /** Debian package version, e.g. `6.12.117-1~deb12u1`. */
  version: string;
  /** ABI name, e.g. `6.12.117+deb12`. */
  abi: string;
  /** Kernel release (uname -r), e.g. `6.12.117+deb12-amd64`. */
  kver: string;
  /** The package names. */
  packages: KernelPackageSet;
}

/** The source package every version must have. */
export const SOURCE_PACKAGE = "linux-source-6.12";
/** The kernel flavour. */
export const FLAVOUR = "amd64";

/**
 * The ABI name of a Debian kernel version: `6.12.117-1~deb12u1` gives
 * `6.12.117+deb12`; undefined if the version does not look like one.
 */
export function abiOf(version: string): string | undefined {
  const m = /^(?:\d+:)?(\d+\.\d+(?:\.\d+)?)-[^~]+~deb(\d+)u\d+$/.exec(version);
  if (m) return `${m[1]}+deb${m[2]}`;
  return undefined;
}

/** The kernel version record for Debian `version`, or undefined. */
export function kernelVersionOf(version: string): KernelVersion | undefined {
  const abi = abiOf(version);
  if (!abi) return undefined;
  const kver = `${abi}-${FLAVOUR}`;
  return {
    version,
    abi,
    kver,
    packages: {
      image: `linux-image-${kver}-unsigned`,
      headers: `linux-headers-${kver}`,
      headersCommon: `linux-headers-${abi}-common`,
      kbuild: `linux-kbuild-${abi}`,
      source: SOURCE_PACKAGE,
    },
  };
}

/**
 * Parses `apt-cache madison` output into package → versions, keeping only
 * lines whose archive column contains `suite` (e.g. "bookworm-security").
 */
export function parseMadison(
  text: string,
  options: { suite?: string } = {},
): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const line of text.split("\n")) {
    const cols = line.split("|").map((c) => c.trim());
    if (cols.length < 3 || cols[0] === "" || cols[1] === "") continue;
    if (
      options.suite &&
      !cols[2].split(/\s+/).some((w) =>
        w.startsWith(`${options.suite}/`) || w === options.suite
      )
    ) {
      continue;
    }
    const list = out.get(cols[0]) ?? [];
    if (!list.includes(cols[1])) list.push(cols[1]);
    out.set(cols[0], list);
  }
  return out;
}

function order(c: string): number {
  if (c === "~") return -1;
  if (c === "") return 0;
  if (/[A-Za-z]/.test(c)) return c.charCodeAt(0);
  return c.charCodeAt(0) + 256;
}

function comparePart(a: string, b: string): number {
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    // Non-digit prefix, compared character by character (dpkg's order).
    while (
      (i < a.length && !/\d/.test(a[i])) || (j < b.length && !/\d/.test(b[j]))
    ) {
      const ca = i < a.length && !/\d/.test(a[i]) ? a[i] : "";
      const cb = j < b.length && !/\d/.test(b[j]) ? b[j] : "";
      const d = order(ca) - order(cb);
      if (d !== 0) return d;
      if (ca !== "") i++;
      if (cb !== "") j++;
    }
    let na = "";
    let nb = "";
    while (i < a.length && /\d/.test(a[i])) na += a[i++];
    while (j < b.length && /\d/.test(b[j])) nb += b[j++];
    const d = Number(na || "0") - Number(nb || "0");
    if (d !== 0) return d;
  }
  return 0;
}

/** Compares two Debian versions as dpkg does (negative: a < b). */
export function compareDebianVersions(a: string, b: string): number {
  const split = (v: string) => {
    const colon = v.indexOf(":");
    const epoch = colon >= 0 ? Number(v.slice(0, colon)) : 0;
    const rest = colon >= 0 ? v.slice(colon + 1) : v;
    const dash = rest.lastIndexOf("-");
    return {
      epoch,
      upstream: dash >= 0 ? rest.slice(0, dash) : rest,
      revision: dash >= 0 ? rest.slice(dash + 1) : "0",
    };
  };
  const x = split(a);
  const y = split(b);
  if (x.epoch !== y.epoch) return x.epoch - y.epoch;
  return comparePart(x.upstream, y.upstream) ||
    comparePart(x.revision, y.revision);
}

/**
 * The newest version of `linux-source-6.12` in `madison` for which the other
 * four packages exist at the same version; undefined if there is none.
 */
export function pickKernelVersion(
  madison: Map<string, string[]>,
): KernelVersion | undefined {
  const candidates = [...(madison.get(SOURCE_PACKAGE) ?? [])]
    .sort(compareDebianVersions).reverse();
  for (const version of candidates) {
    const kv = kernelVersionOf(version);
    if (!kv) continue;
    const p = kv.packages;
    const all = [p.image, p.headers, p.headersCommon, p.kbuild];
    if (all.every((name) => madison.get(name)?.includes(version))) return kv;
  }
  return undefined;
}

/** Every package name that versions of `linux-source-6.12` in `madison` would need. */
export function candidatePackages(madison: Map<string, string[]>): string[] {
  const names = new Set<string>();
  for (const version of madison.get(SOURCE_PACKAGE) ?? []) {
    const kv = kernelVersionOf(version);
    if (!kv) continue;
    const p = kv.packages;
    for (const n of [p.image, p.headers, p.headersCommon, p.kbuild]) {
      names.add(n);
    }
  }
  return [...names];
}
