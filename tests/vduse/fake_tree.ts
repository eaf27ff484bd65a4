/**
 * A fake tree for the VDUSE unit tests: `/dev/vduse/control`, two VDUSE
 * devices in `/sys/class/vduse` (vnet0 with 2 queues, vblk0 with 3), vnet0
 * attached to the vdpa bus, bound to virtio_vdpa (virtio3, netdev eth1) and
 * held open by pid 4242 ("deno"); CPUs 0-1 online.
 *
 * @module
 */

import { SysRoot } from "../../lib/root.ts";
import { VduseRecords } from "../../lib/vduse/record.ts";
import { buildSpec } from "../../lib/vduse/spec.ts";

/** Builds the tree in a new temporary directory (the caller removes it). */
export async function fakeTree(): Promise<SysRoot> {
  const dir = await Deno.makeTempDir({ prefix: "vdevctl-vduse-" });
  const w = async (path: string, text: string) => {
    const full = `${dir}${path}`;
    await Deno.mkdir(full.slice(0, full.lastIndexOf("/")), { recursive: true });
    await Deno.writeTextFile(full, text);
  };
  await w("/dev/vduse/control", "");
  await w("/sys/class/vduse/control/dev", "10:123\n");
  await w("/sys/devices/system/cpu/online", "0-1\n");
  for (const [name, vqs] of [["vnet0", 2], ["vblk0", 3]] as const) {
    await w(`/sys/class/vduse/${name}/dev`, `511:${vqs}\n`);
    await w(`/sys/class/vduse/${name}/bounce_size`, "67108864\n");
    await w(`/sys/class/vduse/${name}/msg_timeout`, "30\n");
    for (let i = 0; i < vqs; i++) {
      await w(`/sys/class/vduse/${name}/vq${i}/irq_cb_affinity`, "3\n");
    }
    await w(`/dev/vduse/${name}`, "");
  }
  // vnet0 is attached, bound to virtio_vdpa, and served by pid 4242.
  const vd = "/sys/bus/vdpa/devices/vnet0";
  await Deno.mkdir(`${dir}/sys/bus/vdpa/drivers/virtio_vdpa`, {
    recursive: true,
  });
  await Deno.mkdir(`${dir}${vd}/virtio3/net/eth1`, { recursive: true });
  await Deno.symlink(
    `${dir}/sys/bus/vdpa/drivers/virtio_vdpa`,
    `${dir}${vd}/driver`,
  );
  await w(`${vd}/virtio3/device`, "0x0001\n");
  await w(`${vd}/virtio3/status`, "0x0000000f\n");
  const feats = "0".repeat(5) + "1" + "0".repeat(10) + "1" + "0".repeat(15) +
    "11" +
    "0".repeat(30);
  await w(`${vd}/virtio3/features`, feats + "\n");
  await Deno.mkdir(`${dir}/proc/4242/fd`, { recursive: true });
  await w("/proc/4242/comm", "deno\n");
  await Deno.symlink("/dev/vduse/vnet0", `${dir}/proc/4242/fd/5`);
  await Deno.symlink("/dev/null", `${dir}/proc/4242/fd/0`);
  await Deno.mkdir(`${dir}/proc/99/fd`, { recursive: true });
  await w("/proc/99/comm", "bash\n");
  return new SysRoot(dir);
}

/** Records vnet0 as `vduse create` would (MAC 52:54:00:00:00:01, MTU 9000). */
export function recordVnet0(root: SysRoot): void {
  new VduseRecords(root).write(
    buildSpec("vnet0", { type: "net", mac: "52:54:00:00:00:01", mtu: 9000 }),
  );
}
