/**
 * Every kernel struct layout declared as data (lib/vduse/uapi.ts,
 * lib/virtio/uapi.ts) and every UAPI constant vdevctl uses, checked against
 * the Linux 6.12 UAPI headers: a generated C program prints sizeof, offsetof,
 * field sizes and signedness, and the value of each constant (ioctl numbers
 * included), gcc compiles it, and the output is compared with the
 * declarations.
 */

import assert from "node:assert/strict";
import { kernelCache } from "../../lib/sandbox/mod.ts";
import { SCALAR_SIZE, type StructLayout } from "../../lib/sys/struct_layout.ts";
import {
  AT_EMPTY_PATH,
  AT_FDCWD,
  AT_SYMLINK_NOFOLLOW,
  DT,
  LINUX_DIRENT64,
  S_IFMT,
  S_IFREG,
  STATX,
  STATX_SIGNATURE_BITS,
  STATX_TYPE,
} from "../../lib/dir_entry_layout.ts";
import {
  VDUSE_ACCESS,
  VDUSE_API_VERSION,
  VDUSE_BASE,
  VDUSE_EVENTFD_DEASSIGN,
  VDUSE_IOCTL,
  VDUSE_IOVA_CAP_UMEM,
  VDUSE_LAYOUTS,
  VDUSE_NAME_MAX,
  VDUSE_REQ,
  VDUSE_REQ_RESULT,
} from "../../lib/vduse/mod.ts";
import {
  VIRTIO_BLK_F,
  VIRTIO_CONFIG_S,
  VIRTIO_F,
  VIRTIO_ID,
  VIRTIO_LAYOUTS,
  VIRTIO_NET_F,
  VIRTIO_NET_S,
  VRING_AVAIL_F_NO_INTERRUPT,
  VRING_DESC_F,
  VRING_USED_F_NO_NOTIFY,
} from "../../lib/virtio/mod.ts";

/**
 * The include directory with the processed Linux 6.12 UAPI headers, from
 * the sandbox's shared kernel cache (prepared on first use).
 */
async function uapiIncludeDirs(): Promise<string[]> {
  const kernel = await kernelCache({ progress: "none" });
  return [kernel.uapiInclude];
}

const LAYOUTS: readonly StructLayout[] = [...VDUSE_LAYOUTS, ...VIRTIO_LAYOUTS];

/** [C macro or enum name, value] for every constant to check. */
function constants(): [string, bigint][] {
  const out: [string, bigint][] = [
    ["VDUSE_BASE", BigInt(VDUSE_BASE)],
    ["VDUSE_API_VERSION", BigInt(VDUSE_API_VERSION)],
    ["VDUSE_NAME_MAX", BigInt(VDUSE_NAME_MAX)],
    ["VDUSE_IOVA_CAP_UMEM", BigInt(VDUSE_IOVA_CAP_UMEM)],
    ["VRING_AVAIL_F_NO_INTERRUPT", BigInt(VRING_AVAIL_F_NO_INTERRUPT)],
    ["VRING_USED_F_NO_NOTIFY", BigInt(VRING_USED_F_NO_NOTIFY)],
    ["VIRTIO_ID_NET", BigInt(VIRTIO_ID.NET)],
    ["VIRTIO_ID_BLOCK", BigInt(VIRTIO_ID.BLOCK)],
  ];
  // -1 printed as unsigned long long.
  out.push([
    "VDUSE_EVENTFD_DEASSIGN",
    BigInt.asUintN(64, BigInt(VDUSE_EVENTFD_DEASSIGN)),
  ]);
  const group = (prefix: string, table: Record<string, number | bigint>) => {
    for (const [k, v] of Object.entries(table)) {
      out.push([prefix + k, BigInt(v)]);
    }
  };
  group("VDUSE_", VDUSE_IOCTL);
  group("VDUSE_", VDUSE_REQ);
  group("VDUSE_REQ_RESULT_", VDUSE_REQ_RESULT);
  group("VDUSE_ACCESS_", VDUSE_ACCESS);
  for (const [k, v] of Object.entries(VIRTIO_F)) {
    const ring = k === "INDIRECT_DESC" || k === "EVENT_IDX";
    out.push([`${ring ? "VIRTIO_RING_F_" : "VIRTIO_F_"}${k}`, BigInt(v)]);
  }
  group("VIRTIO_NET_F_", VIRTIO_NET_F);
  group("VIRTIO_BLK_F_", VIRTIO_BLK_F);
  group("VIRTIO_CONFIG_S_", VIRTIO_CONFIG_S);
  group("VIRTIO_NET_S_", VIRTIO_NET_S);
  group("VRING_DESC_F_", VRING_DESC_F);
  return out;
}

/**
 * The C program, and the output it must print if the declarations are
 * right; `prelude` goes before the layouts' headers.
 */
export function layoutProgram(
  layouts: readonly StructLayout[],
  consts: readonly [string, bigint][],
  options: { prelude?: readonly string[] } = {},
): { source: string; expected: string[] } {
  const headers = new Set(["linux/ioctl.h", ...layouts.map((l) => l.header)]);
  const lines = [
    "#include <stdio.h>",
    "#include <stddef.h>",
    ...options.prelude ?? [],
    ...[...headers].map((h) => `#include <${h}>`),
    // The VDUSE ioctl constants refer to _IOR etc. but vduse.h does not
    // include <linux/ioctl.h> itself: it is included first above.
    "int main(void) {",
  ];
  const expected: string[] = [];
  const print = (label: string, fmt: string, expr: string) =>
    lines.push(`  printf("${label} ${fmt}\\n", ${expr});`);
  for (const l of layouts) {
    print(`size ${l.cType}`, "%zu", `sizeof(${l.cType})`);
    expected.push(`size ${l.cType} ${l.size}`);
    for (const [name, f] of Object.entries(l.fields)) {
      const member = f.cName ?? name;
      const access = `((${l.cType} *)0)->${member}`;
      print(
        `offset ${l.cType} ${name}`,
        "%zu",
        `offsetof(${l.cType}, ${member})`,
      );
      expected.push(`offset ${l.cType} ${name} ${f.offset}`);
      if (f.count > 0) {
        // Flexible array members (count 0) have no size.
        print(`fsize ${l.cType} ${name}`, "%zu", `sizeof(${access})`);
        expected.push(
          `fsize ${l.cType} ${name} ${SCALAR_SIZE[f.type] * f.count}`,
        );
      }
      if (f.count === 1) {
        print(
          `signed ${l.cType} ${name}`,
          "%d",
          `(__typeof__(${access}))-1 < 0`,
        );
        expected.push(
          `signed ${l.cType} ${name} ${f.type.startsWith("i") ? 1 : 0}`,
        );
      }
    }
  }
  for (const [name, value] of consts) {
    print(`const ${name}`, "%llu", `(unsigned long long)(${name})`);
    expected.push(`const ${name} ${value}`);
  }
  lines.push("  return 0;", "}", "");
  return { source: lines.join("\n"), expected };
}

/**
 * Compiles the layout program of `layouts` and `consts` with gcc (`args`
 * added: include directories) and checks what it prints.
 */
async function checkWithGcc(
  layouts: readonly StructLayout[],
  consts: readonly [string, bigint][],
  options: { args: string[]; prelude?: readonly string[] },
): Promise<void> {
  const { source, expected } = layoutProgram(layouts, consts, options);
  const dir = await Deno.makeTempDir({ prefix: "vdevctl-layout-" });
  try {
    await Deno.writeTextFile(`${dir}/layout.c`, source);
    const cc = await new Deno.Command("gcc", {
      args: [
        "-std=gnu11",
        "-Wall",
        "-Werror",
        ...options.args,
        "-o",
        `${dir}/layout`,
        `${dir}/layout.c`,
      ],
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.equal(
      cc.code,
      0,
      `gcc failed:\n${new TextDecoder().decode(cc.stderr)}`,
    );
    const run = await new Deno.Command(`${dir}/layout`, { stdout: "piped" })
      .output();
    assert.equal(run.code, 0);
    const actual = new TextDecoder().decode(run.stdout).trim().split("\n");
    const mismatches = expected.filter((line, i) => actual[i] !== line)
      .map((line) => {
        const key = line.replace(/ \S+$/, "");
        const got = actual.find((a) => a.startsWith(key + " "));
        return `declared "${line}", kernel "${got}"`;
      });
    assert.deepEqual(mismatches, []);
    assert.equal(actual.length, expected.length);
    // The check really covered every declared field.
    const fields = layouts.reduce(
      (n, l) => n + Object.keys(l.fields).length,
      0,
    );
    assert.equal(actual.filter((a) => a.startsWith("offset ")).length, fields);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("struct layouts and constants match the Linux 6.12 UAPI headers (gcc)", async () => {
  const includes = await uapiIncludeDirs();
  await checkWithGcc(LAYOUTS, constants(), {
    args: includes.flatMap((i) => ["-I", i]),
  });
});

Deno.test("the directory-listing layouts (lib/dir_entry_layout.ts) match the Linux 6.12 headers (gcc)", async () => {
  const kernel = await kernelCache({ progress: "none" });
  // struct linux_dirent64 is the kernel's own (include/linux/dirent.h, in
  // kernel types; not exported to UAPI), searched after every system
  // directory so that it shadows nothing; the constants are glibc's.
  const consts: [string, bigint][] = [
    ["S_IFMT", BigInt(S_IFMT)],
    ["S_IFREG", BigInt(S_IFREG)],
    ["STATX_TYPE", BigInt(STATX_TYPE)],
    ["AT_SYMLINK_NOFOLLOW", BigInt(AT_SYMLINK_NOFOLLOW)],
    ["AT_EMPTY_PATH", BigInt(AT_EMPTY_PATH)],
    ["AT_FDCWD", BigInt.asUintN(64, BigInt(AT_FDCWD))], // printed unsigned
    ...Object.entries(STATX_SIGNATURE_BITS).map((
      [k, v],
    ): [string, bigint] => [`STATX_${k}`, BigInt(v)]),
    ...Object.entries(DT).map(([k, v]): [string, bigint] => [
      `DT_${k}`,
      BigInt(v),
    ]),
  ];
  await checkWithGcc([LINUX_DIRENT64, STATX], consts, {
    args: [
      "-D_GNU_SOURCE", // AT_EMPTY_PATH in glibc's <fcntl.h>
      "-I",
      kernel.uapiInclude,
      "-idirafter",
      `${kernel.headersCommonDir}/include`,
    ],
    prelude: [
      "#include <dirent.h>",
      "#include <fcntl.h>",
      "#include <sys/stat.h>",
      "#include <linux/types.h>",
      "typedef __u64 u64;",
      "typedef __s64 s64;",
    ],
  });
});

Deno.test("the generated program names nested members by their C path", () => {
  const { source } = layoutProgram(VDUSE_LAYOUTS, []);
  assert.match(
    source,
    /offsetof\(struct vduse_vq_info, split\.avail_index\)/,
  );
  assert.match(source, /#include <linux\/vduse\.h>/);
});
