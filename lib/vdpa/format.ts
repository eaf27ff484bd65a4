/**
 * Text and JSON output of `vdevctl vdpa`, byte-identical to iproute2 6.1's
 * `vdpa` (text, `-j`, `-jp`) on the same kernel replies.
 *
 * iproute2 prints through its json_print layer, which
 * {@linkcode IpPrinter} (`ip_printer.ts`) reimplements, so the formatters
 * below follow iproute2's order of printing exactly; feature bits are named
 * by `feature_names.ts`.
 *
 * iproute2 quirks, reproduced when `compat` is true (the default) and fixed
 * when it is false (`--no-iproute2-compat`):
 * - `dev config show -j` keys `"link "` and `"link_announce "` carry a
 *   trailing space; fixed: `"link"`, `"link_announce"`.
 * - `dev vstats show` decides whether a queue is the control queue from
 *   max_vqp as reported, which is 0 when MQ is not negotiated, so qidx 0 is
 *   labelled `control_vq`; fixed: without MQ there is one queue pair and the
 *   control queue is qidx 2.
 * - In JSON mode iproute2 prints the (empty) section and a newline even when
 *   the command fails, and a lone newline for `dev add`/`dev del`; fixed:
 *   nothing is printed to stdout for those.
 *
 * What the kernel reports and iproute2 ignores is shown only in the clean
 * form (compat false), after what iproute2 prints, so compat output stays
 * byte-identical: `dev show` adds `min_vq_size` and the bus binding (driver,
 * vhost-vdpa character device, netdev or disk, from sysfs through
 * {@linkcode VdpaFormatOptions.binding}); `dev config show` adds the
 * provisioned `device_features` of every device and the block device's
 * configuration (`VDPA_ATTR_DEV_BLK_CFG_*`, with its negotiated features).
 *
 * @module
 */

import type { AttrValue } from "../netlink/mod.ts";
import type { VdpaBinding } from "./bus.ts";
import type { VdpaReply } from "./client.ts";
import { featureName } from "./feature_names.ts";
import { IpPrinter } from "./ip_printer.ts";
import { IPROUTE2_61_ATTR_MAX } from "./uapi.ts";
import { formatMac } from "../mac.ts";
import {
  hasFeature,
  VIRTIO_BLK_F,
  VIRTIO_ID,
  VIRTIO_NET_F,
  VIRTIO_NET_S,
} from "../virtio/mod.ts";

/** Output options. */
export interface VdpaFormatOptions {
  /** JSON instead of text (`-j`). */
  readonly json?: boolean;
  /** Pretty JSON (`-p`, only with `json`). */
  readonly pretty?: boolean;
  /** Reproduce iproute2 6.1's quirks byte for byte (default true). */
  readonly compat?: boolean;
  /** The bus binding of a device, for the clean form of `dev show`. */
  readonly binding?: (name: string) => VdpaBinding;
}

/** iproute2 6.1 sees only attributes up to its VDPA_ATTR_MAX. */
function tb(reply: VdpaReply): Readonly<Record<string, AttrValue>> {
  const r: Record<string, AttrValue> = {};
  for (const a of reply.attrs) {
    if (a.id <= IPROUTE2_61_ATTR_MAX) r[a.name] = a.value;
  }
  return r;
}

const str = (v: AttrValue | undefined): string | undefined =>
  typeof v === "string" ? v : undefined;
const num = (v: AttrValue | undefined): number | undefined =>
  typeof v === "number" ? v : undefined;
const big = (v: AttrValue | undefined): bigint | undefined =>
  typeof v === "bigint" ? v : undefined;

function printFeatures(
  p: IpPrinter,
  features: bigint,
  options: { mgmtdev: boolean; deviceId: number; key?: string },
): void {
  p.nl();
  p.indentIn();
  p.openArray(
    options.key ?? (options.mgmtdev ? "dev_features" : "negotiated_features"),
  );
  for (let i = 0; i < 64; i++) {
    if (!hasFeature(features, i)) continue;
    const s = featureName(i, options.deviceId) ??
      (options.key ? blkFeatureName(i, options.deviceId) : undefined);
    if (s === undefined) p.uint(null, i, { text: ` bit_${i}` });
    else p.string(null, s, { text: ` ${s}` });
  }
  p.closeArray();
  p.indentOut();
}

const BLK_NAMES: Readonly<Record<number, string>> = Object.fromEntries(
  Object.entries(VIRTIO_BLK_F).map(([n, b]) => [b, n]),
);

/** The clean form names virtio-blk's bits too (iproute2 prints bit_N). */
function blkFeatureName(bit: number, deviceId: number): string | undefined {
  return deviceId === VIRTIO_ID.BLOCK ? BLK_NAMES[bit] : undefined;
}

function section(
  options: VdpaFormatOptions,
  name: string,
  body: (p: IpPrinter) => void,
): string {
  const p = new IpPrinter(options);
  p.openObject(null);
  p.openObject(name);
  body(p);
  p.closeObject();
  p.closeObject();
  return p.finish();
}

function handleStart(p: IpPrinter, handle: string): void {
  if (p.json) p.openObject(handle);
  else p.text(`${handle}: `);
}

function handleEnd(p: IpPrinter): void {
  if (p.json) p.closeObject();
  else p.nl();
}

/**
 * A management device's handle as iproute2 prints it, "NAME" or "BUS/NAME",
 * from a reply's attributes by name (the inverse of `mgmtdevHandle` in
 * lib/vdpa/client.ts).
 */
export function formatMgmtdevHandle(
  t: Readonly<Record<string, AttrValue>>,
): string {
  const bus = str(t.MGMTDEV_BUS_NAME);
  const dev = str(t.MGMTDEV_DEV_NAME) ?? "";
  return bus !== undefined ? `${bus}/${dev}` : dev;
}

/** `vdpa mgmtdev show` output for the MGMTDEV_GET replies. */
export function formatMgmtdevShow(
  replies: readonly VdpaReply[],
  options: VdpaFormatOptions = {},
): string {
  return section(options, "mgmtdev", (p) => {
    for (const reply of replies) {
      const t = tb(reply);
      if (str(t.MGMTDEV_DEV_NAME) === undefined) continue;
      handleStart(p, formatMgmtdevHandle(t));
      const classes = big(t.MGMTDEV_SUPPORTED_CLASSES);
      if (classes !== undefined) {
        p.nl();
        p.indentIn();
        p.openArray("supported_classes");
        for (let i = 1; i < 64; i++) {
          if (!hasFeature(classes, i)) continue;
          const name = i === VIRTIO_ID.NET
            ? "net"
            : i === VIRTIO_ID.BLOCK
            ? "block"
            : "< unknown class >";
          p.string(null, name, { text: ` ${name}` });
        }
        p.closeArray();
        p.indentOut();
      }
      const maxVqs = num(t.DEV_MGMTDEV_MAX_VQS);
      if (maxVqs !== undefined) {
        p.nl();
        p.uint("max_supported_vqs", maxVqs, {
          text: `  max_supported_vqs ${maxVqs}`,
        });
      }
      const features = big(t.DEV_SUPPORTED_FEATURES);
      if (features !== undefined) {
        const isNet = classes !== undefined &&
          hasFeature(classes, VIRTIO_ID.NET);
        printFeatures(p, features, {
          mgmtdev: true,
          deviceId: isNet ? VIRTIO_ID.NET : 0,
        });
      }
      handleEnd(p);
    }
  });
}

function deviceTypeName(id: number): string {
  return id === VIRTIO_ID.NET
    ? "network"
    : id === VIRTIO_ID.BLOCK
    ? "block"
    : "<unknown type>";
}

/** `vdpa dev show` output for the DEV_GET replies. */
export function formatDevShow(
  replies: readonly VdpaReply[],
  options: VdpaFormatOptions = {},
): string {
  return section(options, "dev", (p) => {
    for (const reply of replies) {
      const t = tb(reply);
      const name = str(t.DEV_NAME);
      const id = num(t.DEV_ID);
      if (
        str(t.MGMTDEV_DEV_NAME) === undefined || name === undefined ||
        id === undefined
      ) {
        continue;
      }
      handleStart(p, name);
      p.string("type", deviceTypeName(id), {
        text: `type ${deviceTypeName(id)}`,
      });
      const mgmt = formatMgmtdevHandle(t);
      p.string("mgmtdev", mgmt, { text: ` mgmtdev ${mgmt}` });
      const vendor = num(t.DEV_VENDOR_ID);
      if (vendor !== undefined) {
        p.uint("vendor_id", vendor, { text: ` vendor_id ${vendor}` });
      }
      const maxVqs = num(t.DEV_MAX_VQS);
      if (maxVqs !== undefined) {
        p.uint("max_vqs", maxVqs, { text: ` max_vqs ${maxVqs}` });
      }
      const maxSize = num(t.DEV_MAX_VQ_SIZE);
      if (maxSize !== undefined) {
        p.uint("max_vq_size", maxSize, { text: ` max_vq_size ${maxSize}` });
      }
      if (!(options.compat ?? true)) {
        const minSize = num(reply.rec.DEV_MIN_VQ_SIZE);
        if (minSize !== undefined) {
          p.uint("min_vq_size", minSize, { text: ` min_vq_size ${minSize}` });
        }
        const b = options.binding?.(name);
        if (b) printBinding(p, b);
      }
      handleEnd(p);
    }
  });
}

function printBinding(p: IpPrinter, b: VdpaBinding): void {
  const driver = b.driver ?? "none";
  p.string("driver", driver, { text: ` driver ${driver}` });
  if (b.vhostDev !== undefined) {
    p.string("vhost_dev", b.vhostDev, { text: ` vhost_dev ${b.vhostDev}` });
  }
  const lists: [string, string[]][] = [["netdev", b.netdevs], [
    "disk",
    b.disks,
  ]];
  for (const [key, list] of lists) {
    if (list.length === 0) continue;
    const v = list.join(",");
    p.string(key, v, { text: ` ${key} ${v}` });
  }
}

/** VDPA_ATTR_DEV_BLK_CFG_* (and the two flags) in id order: key, attribute. */
const BLK_CONFIG: readonly (readonly [string, string])[] = [
  ["capacity", "DEV_BLK_CFG_CAPACITY"],
  ["size_max", "DEV_BLK_CFG_SIZE_MAX"],
  ["blk_size", "DEV_BLK_CFG_BLK_SIZE"],
  ["seg_max", "DEV_BLK_CFG_SEG_MAX"],
  ["num_queues", "DEV_BLK_CFG_NUM_QUEUES"],
  ["physical_block_exp", "DEV_BLK_CFG_PHY_BLK_EXP"],
  ["alignment_offset", "DEV_BLK_CFG_ALIGN_OFFSET"],
  ["min_io_size", "DEV_BLK_CFG_MIN_IO_SIZE"],
  ["opt_io_size", "DEV_BLK_CFG_OPT_IO_SIZE"],
  ["max_discard_sectors", "DEV_BLK_CFG_MAX_DISCARD_SEC"],
  ["max_discard_seg", "DEV_BLK_CFG_MAX_DISCARD_SEG"],
  ["discard_sector_alignment", "DEV_BLK_CFG_DISCARD_SEC_ALIGN"],
  ["max_write_zeroes_sectors", "DEV_BLK_CFG_MAX_WRITE_ZEROES_SEC"],
  ["max_write_zeroes_seg", "DEV_BLK_CFG_MAX_WRITE_ZEROES_SEG"],
];

function printBlkConfig(p: IpPrinter, rec: VdpaReply["rec"]): void {
  for (const [key, attr] of BLK_CONFIG) {
    const v = rec[attr];
    if (typeof v === "number" || typeof v === "bigint") {
      p.uint(key, v, { text: `${key} ${v} ` });
    }
  }
  for (
    const [key, attr] of [["read_only", "DEV_BLK_READ_ONLY"], [
      "flush",
      "DEV_BLK_FLUSH",
    ]]
  ) {
    const v = rec[attr];
    if (typeof v === "number") {
      p.bool(key, v !== 0, { text: `${key} ${v !== 0} ` });
    }
  }
  const features = big(rec.DEV_NEGOTIATED_FEATURES);
  if (features !== undefined) {
    printFeatures(p, features, {
      mgmtdev: false,
      deviceId: VIRTIO_ID.BLOCK,
      key: "negotiated_features",
    });
  }
}

/**
 * iproute2's walk of `dev config show` and `dev vstats show` replies: each
 * device with a name and an id gets its handle; only a net device gets the
 * body (iproute2 6.1 prints nothing else for the other types).
 */
function netDeviceSection(
  options: VdpaFormatOptions,
  name: string,
  replies: readonly VdpaReply[],
  body: (
    p: IpPrinter,
    t: Readonly<Record<string, AttrValue>>,
    reply: VdpaReply,
  ) => void,
  other?: (p: IpPrinter, reply: VdpaReply, id: number) => void,
): string {
  return section(options, name, (p) => {
    for (const reply of replies) {
      const t = tb(reply);
      const dev = str(t.DEV_NAME);
      const id = num(t.DEV_ID);
      if (dev === undefined || id === undefined) continue;
      handleStart(p, dev);
      if (id === VIRTIO_ID.NET) body(p, t, reply);
      other?.(p, reply, id);
      handleEnd(p);
    }
  });
}

/** `vdpa dev config show` output for the DEV_CONFIG_GET replies. */
export function formatDevConfigShow(
  replies: readonly VdpaReply[],
  options: VdpaFormatOptions = {},
): string {
  const compat = options.compat ?? true;
  return netDeviceSection(
    options,
    "config",
    replies,
    (p, t) => {
      const mac = t.DEV_NET_CFG_MACADDR;
      if (mac instanceof Uint8Array && mac.length > 0) {
        const m = formatMac(mac);
        p.string("mac", m, { text: `mac ${m} ` });
      }
      const status = num(t.DEV_NET_STATUS);
      if (status !== undefined) {
        const link = status & VIRTIO_NET_S.LINK_UP ? "up" : "down";
        const announce = (status & VIRTIO_NET_S.ANNOUNCE) !== 0;
        p.string(compat ? "link " : "link", link, { text: `link ${link} ` });
        p.bool(
          compat ? "link_announce " : "link_announce",
          announce,
          { text: `link_announce ${announce} ` },
        );
      }
      const maxVqp = num(t.DEV_NET_CFG_MAX_VQP);
      if (maxVqp !== undefined) {
        p.uint("max_vq_pairs", maxVqp, { text: `max_vq_pairs ${maxVqp} ` });
      }
      const mtu = num(t.DEV_NET_CFG_MTU);
      if (mtu !== undefined) p.uint("mtu", mtu, { text: `mtu ${mtu} ` });
      const features = big(t.DEV_NEGOTIATED_FEATURES);
      if (features !== undefined) {
        printFeatures(p, features, { mgmtdev: false, deviceId: VIRTIO_ID.NET });
      }
    },
    compat ? undefined : (p, reply, id) => {
      if (id === VIRTIO_ID.BLOCK) printBlkConfig(p, reply.rec);
      const provisioned = big(reply.rec.DEV_FEATURES);
      if (provisioned !== undefined) {
        printFeatures(p, provisioned, {
          mgmtdev: false,
          deviceId: id,
          key: "device_features",
        });
      }
    },
  );
}

/** `vdpa dev vstats show` output for the DEV_VSTATS_GET reply. */
export function formatDevVstatsShow(
  replies: readonly VdpaReply[],
  options: VdpaFormatOptions = {},
): string {
  const compat = options.compat ?? true;
  return netDeviceSection(options, "vstats", replies, (p, _t, reply) => {
    // iproute2 walks the attributes in order: max_vqp and features count
    // only when they come before the queue index.
    let maxVqp = 0;
    let features = 0n;
    if (!compat) {
      features = big(reply.rec.DEV_NEGOTIATED_FEATURES) ?? 0n;
      const mq = hasFeature(features, VIRTIO_NET_F.MQ);
      maxVqp = mq ? num(reply.rec.DEV_NET_CFG_MAX_VQP) ?? 1 : 1;
    }
    let key: string | undefined;
    for (const a of reply.attrs) {
      if (a.name === "DEV_NET_CFG_MAX_VQP" && compat) {
        maxVqp = num(a.value) ?? 0;
      } else if (a.name === "DEV_NEGOTIATED_FEATURES" && compat) {
        features = big(a.value) ?? 0n;
      } else if (a.name === "DEV_QUEUE_INDEX") {
        const qidx = (num(a.value) ?? 0) & 0xffff;
        const ctrl = hasFeature(features, VIRTIO_NET_F.CTRL_VQ) &&
          qidx === 2 * maxVqp;
        const type = ctrl ? "control_vq" : qidx & 1 ? "tx" : "rx";
        p.string("queue_type", type, { text: `queue_type ${type} ` });
      } else if (a.name === "DEV_VENDOR_ATTR_NAME") {
        key = str(a.value);
        if (
          key !== undefined && new TextEncoder().encode(key).length > 200
        ) {
          break;
        }
      } else if (a.name === "DEV_VENDOR_ATTR_VALUE" && key !== undefined) {
        const v = big(a.value) ?? 0n;
        p.uint(key, v, { text: `${key} ${v} ` });
      }
    }
  });
}

/**
 * What iproute2 prints on stdout for a command that printed nothing else:
 * in JSON mode a lone newline (`dev add`, `dev del`), else nothing.
 */
export function formatEmpty(options: VdpaFormatOptions = {}): string {
  return options.json && (options.compat ?? true) ? "\n" : "";
}
