/**
 * lib/small_file.ts: whole small files of a directory, bounded devices, no
 * wait on a FIFO, no final symlink followed, errno names for what cannot be
 * read.
 *
 * @module
 */

import assert from "node:assert/strict";
import { entryExists, SmallFileDir } from "../lib/small_file.ts";
import { errnoCode } from "../lib/errors.ts";

const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);

Deno.test("SmallFileDir: whole small files by name, bounded devices, no wait on a FIFO", () => {
  const dir = Deno.makeTempDirSync({ prefix: "libc-read-" });
  const before = Deno.readDirSync("/proc/self/fd").toArray().length;
  const files = new SmallFileDir(dir);
  try {
    const big = "x".repeat(40_000); // past the first buffer: it grows
    Deno.writeTextFileSync(`${dir}/f`, big);
    Deno.writeTextFileSync(`${dir}/small`, "{}");
    Deno.writeTextFileSync(`${dir}/empty`, "");
    assert.equal(text(files.read("f", 1 << 20)), big);
    assert.equal(text(files.read("small", 1 << 20)), "{}");
    assert.equal(files.read("empty", 100).length, 0);
    assert.equal(files.read("f", 10).length, 10);
    // A view of a buffer that the next read reuses.
    const view = files.read("f", 5);
    assert.equal(text(view), "xxxxx");
    files.read("small", 100);
    assert.equal(text(view.subarray(0, 2)), "{}");
    new Deno.Command("mkfifo", { args: [`${dir}/fifo`] }).outputSync();
    // No writer: a blocking open would wait forever; this one reads nothing.
    assert.equal(files.read("fifo", 100).length, 0);
    Deno.symlinkSync(`${dir}/small`, `${dir}/link`);
    assert.throws(
      () => files.read("link", 100),
      (err: unknown) => errnoCode(err) === "ELOOP",
    );
    assert.throws(
      () => files.read("absent", 100),
      (err: unknown) =>
        errnoCode(err) === "ENOENT" &&
        (err as Error).message.includes(`${dir}/absent`),
    );
    Deno.mkdirSync(`${dir}/sub`);
    assert.throws(
      () => files.read("sub", 100),
      (err: unknown) => errnoCode(err) === "EISDIR",
    );
  } finally {
    files.close();
    Deno.removeSync(dir, { recursive: true });
  }
  // Files read by name stay open until close too, errors or not.
  assert.equal(Deno.readDirSync("/proc/self/fd").toArray().length, before);
  const dev = new SmallFileDir("/dev");
  try {
    assert.equal(dev.read("zero", 1000).length, 1000);
  } finally {
    dev.close();
  }
  assert.throws(
    () => new SmallFileDir(`${dir}/gone`),
    (err: unknown) => errnoCode(err) === "ENOENT",
  );
});

/** The descriptors this process has open, by number, with what they name. */
function openFds(): Map<number, string> {
  const out = new Map<number, string>();
  for (const e of Deno.readDirSync("/proc/self/fd")) {
    try {
      out.set(Number(e.name), Deno.readLinkSync(`/proc/self/fd/${e.name}`));
    } catch {
      // The listing's own descriptor, closed by now.
    }
  }
  return out;
}

/** Paths of the open descriptors under `dir`. */
function openUnder(dir: string): string[] {
  return [...openFds().values()].filter((p) => p.startsWith(`${dir}/`));
}

const enc = new TextEncoder();

/** Creates file `name` (bytes: any but "/" and NUL) in `dir` with `text`. */
function writeBytesNamed(dir: string, name: Uint8Array, text: string): void {
  // Deno's paths are strings: write it under an ASCII name, then rename
  // it through /proc/self/fd of the directory with libc's renameat.
  const lib = Deno.dlopen(
    "libc.so.6",
    {
      rename: { parameters: ["buffer", "buffer"], result: "i32" },
    } as const,
  );
  try {
    Deno.writeTextFileSync(`${dir}/tmp-name`, text);
    const to = new Uint8Array(dir.length + 2 + name.length);
    to.set(enc.encode(`${dir}/`));
    to.set(name, dir.length + 1);
    const rc = lib.symbols.rename(enc.encode(`${dir}/tmp-name\0`), to);
    assert.equal(rc, 0, "rename");
  } finally {
    lib.close();
  }
}

/** A directory of every kind of entry, names Deno must decode. */
function oddDirectory(): { dir: string; contents: Map<string, string> } {
  const dir = Deno.makeTempDirSync({ prefix: "small-file-list-" });
  const contents = new Map<string, string>();
  const file = (name: string, text: string) => {
    Deno.writeTextFileSync(`${dir}/${name}`, text);
    contents.set(name, text);
  };
  file("plain", "p");
  file("é-ünïcode-名前", "u");
  file("\uFEFFbom-first", "b");
  file("x".repeat(255), "long");
  file(".hidden", "h");
  Deno.mkdirSync(`${dir}/sub`);
  Deno.symlinkSync(`${dir}/plain`, `${dir}/link-to-file`);
  Deno.symlinkSync(`${dir}/sub`, `${dir}/link-to-dir`);
  Deno.symlinkSync(`${dir}/gone`, `${dir}/dangling`);
  new Deno.Command("mkfifo", { args: [`${dir}/fifo`] }).outputSync();
  // Not UTF-8: a lone continuation byte, a truncated sequence, an overlong
  // form, a surrogate, past U+10FFFF, a truncated 4-byte sequence, 0xff.
  const bad = [
    [0x61, 0x80, 0x62],
    [0x63, 0xe2, 0x82],
    [0xc0, 0xaf, 0x64],
    [0xed, 0xa0, 0x80, 0x65],
    [0xf4, 0x90, 0x80, 0x80],
    [0xf0, 0x9f, 0x98, 0x66],
    [0xff],
  ];
  for (const [i, bytes] of bad.entries()) {
    writeBytesNamed(dir, new Uint8Array(bytes), `bad ${i}`);
  }
  // Enough names for several getdents64 calls and a grown buffer.
  for (let i = 0; i < 1500; i++) file(`${i}-${"n".repeat(150)}`, `${i}`);
  return { dir, contents };
}

Deno.test("SmallFileDir.listFiles: the regular files, in order and named as Deno.readDirSync gives them", () => {
  const { dir } = oddDirectory();
  try {
    const deno = [...Deno.readDirSync(dir)].filter((e) => e.isFile).map((e) =>
      e.name
    );
    assert.ok(deno.some((n) => n.includes("\uFFFD")), "lossy names listed");
    for (const unknownTypes of [false, true]) {
      const files = new SmallFileDir(dir);
      try {
        // With unknownTypes every entry is asked with statx, as on a file
        // system that gives no d_type.
        assert.deepEqual(files.listFiles({ unknownTypes }), deno);
      } finally {
        files.close();
      }
    }
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("SmallFileDir.listFiles({ all }): every entry but . and .., of any type, as Deno.readDirSync names them", () => {
  const { dir } = oddDirectory();
  try {
    Deno.mkdirSync(`${dir}/..sub`);
    Deno.writeTextFileSync(`${dir}/.hidden`, "");
    const deno = [...Deno.readDirSync(dir)].map((e) => e.name);
    assert.ok(deno.includes("..sub") && deno.includes(".hidden"));
    assert.ok(
      [...Deno.readDirSync(dir)].some((e) => !e.isFile),
      "other types listed too",
    );
    const files = new SmallFileDir(dir);
    try {
      assert.deepEqual(files.listFiles({ all: true }), deno);
    } finally {
      files.close();
    }
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("entryExists: a file, a directory and a dangling symlink exist (not followed); a missing name does not", () => {
  const dir = Deno.makeTempDirSync({ prefix: "entry-exists-" });
  try {
    Deno.writeTextFileSync(`${dir}/f`, "");
    Deno.symlinkSync(`${dir}/nowhere`, `${dir}/dangling`);
    assert.equal(entryExists(`${dir}/f`), true);
    assert.equal(entryExists(dir), true);
    assert.equal(entryExists(`${dir}/dangling`), true);
    assert.equal(entryExists(`${dir}/nowhere`), false);
    assert.equal(entryExists(`${dir}/f/x`), false);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("SmallFileDir.has: a file, a directory and a dangling symlink are there (not followed); a missing name or one with a slash is not", () => {
  const dir = Deno.makeTempDirSync({ prefix: "small-has-" });
  try {
    Deno.writeTextFileSync(`${dir}/f`, "");
    Deno.mkdirSync(`${dir}/d`);
    Deno.writeTextFileSync(`${dir}/d/inner`, "");
    Deno.symlinkSync(`${dir}/nowhere`, `${dir}/dangling`);
    const files = new SmallFileDir(dir);
    try {
      assert.equal(files.has("f"), true);
      assert.equal(files.has("d"), true);
      assert.equal(files.has("dangling"), true);
      assert.equal(files.has("nowhere"), false);
      assert.equal(files.has("d/inner"), false, "a name with a slash");
      assert.equal(
        files.has(`../${dir.slice(dir.lastIndexOf("/") + 1)}`),
        false,
      );
    } finally {
      files.close();
    }
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("SmallFileDir.readListed: each listed file by position, by the bytes of its name", () => {
  const { dir, contents } = oddDirectory();
  const before = openFds().size;
  const files = new SmallFileDir(dir);
  try {
    const names = files.listFiles()!;
    const texts = names.map((_, i) => text(files.readListed(i, 100)));
    for (const [i, name] of names.entries()) {
      if (contents.has(name)) assert.equal(texts[i], contents.get(name), name);
    }
    // The names that are not UTF-8 were opened by their bytes.
    assert.deepEqual(
      texts.filter((t) => t.startsWith("bad ")).sort(),
      [0, 1, 2, 3, 4, 5, 6].map((i) => `bad ${i}`),
    );
    // Files are kept open in runs inside one block of 64 descriptors.
    assert.ok(openUnder(dir).length <= 64, `${openUnder(dir).length} open`);
  } finally {
    files.close();
    Deno.removeSync(dir, { recursive: true });
  }
  assert.equal(openFds().size, before, "every descriptor closed");
});

Deno.test("SmallFileDir: files kept open are closed on errors, when a run is broken, and one by one without close_range", () => {
  const dir = Deno.makeTempDirSync({ prefix: "small-file-fds-" });
  try {
    for (let i = 0; i < 200; i++) Deno.writeTextFileSync(`${dir}/f${i}`, "{}");
    const before = openFds().size;
    const files = new SmallFileDir(dir);
    const names = files.listFiles()!;
    // Gone since the listing, or a directory now: the errors name the file.
    Deno.removeSync(`${dir}/${names[3]}`);
    Deno.removeSync(`${dir}/${names[7]}`);
    Deno.mkdirSync(`${dir}/${names[7]}`);
    const errors: string[] = [];
    for (let i = 0; i < names.length; i++) {
      try {
        files.readListed(i, 100);
      } catch (err) {
        errors.push(`${errnoCode(err)} ${(err as Error).message}`);
      }
    }
    assert.equal(errors.length, 2);
    assert.match(errors[0], new RegExp(`^ENOENT .*open ${dir}/${names[3]}`));
    assert.match(errors[1], new RegExp(`^EISDIR .*read ${dir}/${names[7]}`));
    // A descriptor opened in between breaks the run: the run before it is
    // closed then, not later.
    const a = names[10];
    const b = names[11];
    files.readListed(10, 100);
    const fdA = [...openFds()].find(([, p]) => p === `${dir}/${a}`)![0];
    // Other files take the holes below, then the number after A's.
    const others: Deno.FsFile[] = [];
    while (!openFds().has(fdA + 1)) {
      others.push(Deno.openSync(`${dir}/${names[12]}`));
    }
    files.readListed(11, 100);
    const open = openUnder(dir);
    assert.ok(!open.includes(`${dir}/${a}`), "the broken run is closed");
    assert.ok(open.includes(`${dir}/${b}`), "the new run is open");
    for (const f of others) f.close();
    files.close();
    assert.equal(openFds().size, before, "every descriptor closed");

    // Without close_range each file is closed after its read.
    const single = new SmallFileDir(dir, { closeRange: false });
    try {
      const listed = single.listFiles()!;
      assert.equal(listed.length, names.length - 2);
      for (let i = 0; i < listed.length; i++) {
        assert.equal(text(single.readListed(i, 100)), "{}");
        assert.deepEqual(openUnder(dir), []);
      }
    } finally {
      single.close();
    }
    assert.equal(openFds().size, before, "every descriptor closed");
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("SmallFileDir: at the descriptor limit the files kept open are closed and the open retried", async () => {
  const dir = Deno.makeTempDirSync({ prefix: "small-file-emfile-" });
  try {
    for (let i = 0; i < 150; i++) {
      Deno.writeTextFileSync(`${dir}/f${i}`, `${i}`);
    }
    const script = Deno.makeTempFileSync({ suffix: ".ts" });
    const lib = new URL("../lib/small_file.ts", import.meta.url).href;
    Deno.writeTextFileSync(
      script,
      `import { SmallFileDir } from "${lib}";
const fds = [...Deno.readDirSync("/proc/self/fd")].length;
const files = new SmallFileDir(Deno.args[0]);
const names = files.listFiles();
let sum = 0;
for (let i = 0; i < names.length; i++) sum += Number(new TextDecoder().decode(files.readListed(i, 10)));
files.close();
console.log(fds, names.length, sum);`,
    );
    // A limit a few above what Deno has open at start: runs of up to 64
    // would pass it.
    const deno = Deno.execPath();
    const out = await new Deno.Command("sh", {
      args: [
        "-c",
        `n=$(ls /proc/self/fd | wc -l); ulimit -n $((n + 30)); exec "$0" run -A --no-check "$1" "$2"`,
        deno,
        script,
        dir,
      ],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const [fds, count, sum] = new TextDecoder().decode(out.stdout).trim()
      .split(" ").map(Number);
    assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
    assert.equal(count, 150);
    assert.equal(sum, (149 * 150) / 2);
    assert.ok(fds > 0);
    Deno.removeSync(script);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});
