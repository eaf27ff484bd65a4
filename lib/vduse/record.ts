/**
 * The record `vduse create` leaves in `/run/vdevctl/vduse` (tmpfs: gone on
 * reboot) for each device it created: the kernel exposes neither the
 * offered features, nor the config space, nor the queue sizes.
 *
 * @module
 */

import { atomicWriteFileSync } from "../atomic_write.ts";
import { errnoCode } from "../errors.ts";
import { hexOctets } from "../mac.ts";
import type { SysRoot } from "../root.ts";
import { type DeviceSpec, typeOfDeviceId, type VduseType } from "./spec.ts";

/** Where `vduse create` records what it created (tmpfs: gone on reboot). */
export const VDUSE_RECORD_DIR = "/run/vdevctl/vduse";

/** What `vduse create` remembers about a device it created. */
export interface VduseRecord {
  /** Device name. */
  name: string;
  /** Device type. */
  type: VduseType;
  /** Virtio device id. */
  deviceId: number;
  /** Offered features. */
  features: bigint;
  /** Maximum size of each virtqueue. */
  queueSizes: number[];
  /** The initial config space. */
  config: Uint8Array;
  /** When it was created (ISO 8601). */
  created: string;
}

function unhex(text: string): Uint8Array {
  const out = new Uint8Array(text.length / 2);
  for (let i = 0; i < out.length; i++) {
    out[i] = parseInt(text.slice(2 * i, 2 * i + 2), 16);
  }
  return out;
}

/** The records of VDUSE devices under one root. */
export class VduseRecords {
  /** `/run/vdevctl/vduse` under the root. */
  readonly dir: string;

  /** Opens the record store under `root`. */
  constructor(root: SysRoot) {
    this.dir = root.path(VDUSE_RECORD_DIR);
  }

  #path(name: string): string {
    return `${this.dir}/${name}.json`;
  }

  /** Records a created device (atomic write, mode 0600). */
  write(spec: DeviceSpec): void {
    Deno.mkdirSync(this.dir, { recursive: true });
    const json = {
      name: spec.name,
      type: spec.type,
      device_id: spec.deviceId,
      features: `0x${spec.features.toString(16)}`,
      queue_sizes: spec.queueSizes,
      config: hexOctets(spec.config),
      created: new Date().toISOString(),
    };
    atomicWriteFileSync(
      this.#path(spec.name),
      JSON.stringify(json, null, 2) + "\n",
      { mode: 0o600 },
    );
  }

  /** The record of `name`, or undefined (none, or unreadable). */
  read(name: string): VduseRecord | undefined {
    try {
      const j = JSON.parse(Deno.readTextFileSync(this.#path(name)));
      const type = typeOfDeviceId(j.device_id);
      if (j.name !== name || !type || !Array.isArray(j.queue_sizes)) {
        return undefined;
      }
      return {
        name,
        type,
        deviceId: j.device_id,
        features: BigInt(j.features),
        queueSizes: j.queue_sizes.map(Number),
        config: unhex(String(j.config)),
        created: String(j.created),
      };
    } catch {
      return undefined;
    }
  }

  /** Removes the record of `name` (no error if there is none). */
  remove(name: string): void {
    try {
      Deno.removeSync(this.#path(name));
    } catch (err) {
      if (errnoCode(err) !== "ENOENT") throw err;
    }
  }
}
