/**
 * What the kernel's vdpa netlink family says about an attached VDUSE device:
 * the fallback of `vduse show` for devices that `vduse create` did not record
 * (e.g. made by another program). `vdpa dev show` gives the virtio device id
 * and the largest queue size; `vdpa dev config show` the offered features
 * (for VDUSE, the CREATE_DEV features) and the config space.
 *
 * @module
 */

import { formatBytes } from "../cli_values.ts";
import { formatMac } from "../mac.ts";
import type { KernelView } from "./inspect.ts";
import {
  closeVdpa,
  openVdpa,
  vdpaDevConfigShow,
  vdpaDevShow,
} from "../vdpa/mod.ts";
import { type DecodedConfig, VIRTIO_ID, VIRTIO_NET_S } from "../virtio/mod.ts";

type Rec = Readonly<Record<string, unknown>>;

function num(v: unknown): number | undefined {
  return typeof v === "number"
    ? v
    : typeof v === "bigint"
    ? Number(v)
    : undefined;
}

/** Decodes the config attributes of `vdpa dev config show` like `decodeConfig`. */
export function configFromAttrs(deviceId: number, rec: Rec): DecodedConfig {
  const out: DecodedConfig = {};
  if (deviceId === VIRTIO_ID.NET) {
    const mac = rec.DEV_NET_CFG_MACADDR;
    if (mac instanceof Uint8Array && mac.length >= 6) {
      out.mac = formatMac(mac.subarray(0, 6));
    }
    const status = num(rec.DEV_NET_STATUS);
    if (status !== undefined) {
      out.link = status & VIRTIO_NET_S.LINK_UP ? "up" : "down";
    }
    const vqp = num(rec.DEV_NET_CFG_MAX_VQP);
    if (vqp !== undefined) out.max_virtqueue_pairs = vqp;
    const mtu = num(rec.DEV_NET_CFG_MTU);
    if (mtu !== undefined) out.mtu = mtu;
  } else if (deviceId === VIRTIO_ID.BLOCK) {
    const cap = rec.DEV_BLK_CFG_CAPACITY;
    if (typeof cap === "bigint" || typeof cap === "number") {
      out.capacity_sectors = Number(cap);
      out.capacity = formatBytes(BigInt(cap) * 512n);
    }
    const pairs: [string, string][] = [
      ["DEV_BLK_CFG_NUM_QUEUES", "num_queues"],
      ["DEV_BLK_CFG_BLK_SIZE", "blk_size"],
      ["DEV_BLK_CFG_SEG_MAX", "seg_max"],
      ["DEV_BLK_CFG_SIZE_MAX", "size_max"],
    ];
    for (const [attr, key] of pairs) {
      const v = num(rec[attr]);
      if (v !== undefined) out[key] = v;
    }
  }
  return out;
}

/**
 * The vdpa view of attached device `name`, or undefined when the family or
 * the device is not there. Config and features need a driver past
 * FEATURES_OK; without them only the device id and queue size are returned.
 */
export function vdpaKernelView(name: string): KernelView | undefined {
  let session;
  try {
    session = openVdpa();
  } catch {
    return undefined;
  }
  try {
    const dev = vdpaDevShow(name, { session })[0]?.rec;
    if (!dev) return undefined;
    const deviceId = num(dev.DEV_ID);
    const view: KernelView = {
      deviceId,
      maxVqSize: num(dev.DEV_MAX_VQ_SIZE),
    };
    try {
      const cfg = vdpaDevConfigShow(name, { session })[0]?.rec;
      if (cfg) {
        const f = cfg.DEV_FEATURES;
        if (typeof f === "bigint") view.features = f;
        if (deviceId !== undefined) {
          view.config = configFromAttrs(deviceId, cfg);
        }
      }
    } catch {
      // Not negotiated yet (EAGAIN) or not supported: device view only.
    }
    return view;
  } catch {
    return undefined;
  } finally {
    closeVdpa(session);
  }
}
