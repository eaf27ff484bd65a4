/**
 * iproute2 `vdpa`'s options as its `getopt_long(argc, argv, "Vjpsh", ...)`
 * takes them (glibc's GNU getopt): anywhere before `--` (permuted),
 * clustered short options (`-jp`), long options by any unambiguous prefix
 * (`--js`, `--pre`, `--V`, `--Ver`, `--h`), case-sensitive (`--ver` is
 * refused), `--json=1` refused. Options are taken left to right and the
 * first of `-V`, `-h` or an error ends the scan, as there. `-s` is in
 * iproute2's option string but has no case: "Unknown option.".
 *
 * vdevctl's own options are taken too, exactly spelled: `--version`,
 * `--iproute2 VERSION` (or `=VERSION`), `--no-iproute2-compat` and the
 * global `--root DIR`.
 *
 * @module
 */

/** iproute2's help(), printed after "Unknown option." (6.1 and 6.15 alike). */
export const IPROUTE2_HELP =
  "Usage: vdpa [ OPTIONS ] OBJECT { COMMAND | help }\n" +
  "where  OBJECT := { mgmtdev | dev }\n" +
  "       OPTIONS := { -V[ersion] | -n[o-nice-names] | -j[son] | -p[retty] }\n";

/** What the options of a `vdpa` command line ask for. */
export interface VdpaOptions {
  /** `-j`, `--json`. */
  json: boolean;
  /** `-p`, `--pretty`. */
  pretty: boolean;
  /** `-V`, `--Version` (or vdevctl's `--version`): print the version. */
  version: boolean;
  /** `-h`, `--help`: print the usage. */
  help: boolean;
  /** `--iproute2 VERSION`. */
  iproute2?: string;
  /** False with `--no-iproute2-compat`. */
  compat: boolean;
  /** The words that are not options, in order. */
  words: string[];
}

/** An option iproute2 refuses. */
export interface VdpaOptionError {
  /** glibc getopt's own line (without the program name), if it prints one. */
  getopt?: string;
  /** The refused argument, for vdevctl's own message. */
  arg: string;
  /** A misused vdevctl option (iproute2 has none such): its message. */
  own?: string;
}

const LONG = ["Version", "json", "pretty", "help"] as const;
type Long = typeof LONG[number];

/** The result of {@linkcode vdpaGetopt}: the options, or the first error. */
export type VdpaGetopt =
  | { readonly ok: true; readonly options: VdpaOptions }
  | { readonly ok: false; readonly error: VdpaOptionError };

function longOption(
  arg: string,
): { name: Long } | { error: VdpaOptionError } {
  const body = arg.slice(2);
  const eq = body.indexOf("=");
  const name = eq < 0 ? body : body.slice(0, eq);
  const exact = LONG.find((l) => l === name);
  const found = exact ? [exact] : LONG.filter((l) => l.startsWith(name));
  if (found.length > 1) {
    const all = found.map((l) => ` '--${l}'`).join("");
    return {
      error: {
        arg,
        getopt: `option '${arg}' is ambiguous; possibilities:${all}`,
      },
    };
  }
  if (found.length === 0) {
    return { error: { arg, getopt: `unrecognized option '${arg}'` } };
  }
  if (eq >= 0) {
    return {
      error: {
        arg,
        getopt: `option '--${found[0]}' doesn't allow an argument`,
      },
    };
  }
  return { name: found[0] };
}

/**
 * Takes the options out of the words after `vdpa`, as iproute2 does; the
 * first error (as glibc's getopt and iproute2 report it) ends the scan.
 */
export function vdpaGetopt(args: readonly string[]): VdpaGetopt {
  const o: VdpaOptions = {
    json: false,
    pretty: false,
    version: false,
    help: false,
    compat: true,
    words: [],
  };
  const set = (c: string): boolean => {
    if (c === "V") o.version = true;
    else if (c === "j") o.json = true;
    else if (c === "p") o.pretty = true;
    else if (c === "h") o.help = true;
    return o.version || o.help;
  };
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === "--") {
      o.words.push(...args.slice(i + 1));
      break;
    }
    if (!a.startsWith("-") || a === "-") {
      o.words.push(a);
    } else if (a === "--version") {
      o.version = true;
    } else if (a === "--no-iproute2-compat") {
      o.compat = false;
    } else if (a === "--root" || a === "--iproute2") {
      if (i + 1 >= args.length) {
        return {
          ok: false,
          error: { arg: a, own: `option '${a}' needs a value` },
        };
      }
      const value = args[++i];
      if (a === "--iproute2") o.iproute2 = value;
    } else if (a.startsWith("--root=")) {
      // vdevctl's global option (commander takes it out anywhere).
    } else if (a.startsWith("--iproute2=")) {
      o.iproute2 = a.slice("--iproute2=".length);
    } else if (a.startsWith("--")) {
      const r = longOption(a);
      if ("error" in r) return { ok: false, error: r.error };
      if (set(r.name === "Version" ? "V" : r.name[0])) break;
    } else {
      let stop = false;
      for (const c of a.slice(1)) {
        if (c === "s") return { ok: false, error: { arg: "-s" } };
        if (!"Vjph".includes(c)) {
          return {
            ok: false,
            error: { arg: `-${c}`, getopt: `invalid option -- '${c}'` },
          };
        }
        if ((stop = set(c))) break;
      }
      if (stop) break;
    }
  }
  return { ok: true, options: o };
}

/** What iproute2 prints on stderr for `error`, as program `program`. */
export function getoptErrorText(
  error: VdpaOptionError,
  program: string,
): string {
  const line = error.getopt === undefined
    ? ""
    : `${program}: ${error.getopt}\n`;
  return `${line}Unknown option.\n${IPROUTE2_HELP}`;
}
