/**
 * A provisioning host for the unit tests: the mdev part is the real
 * SystemHost code on a fake mdev tree (mdevctl's files through ConfigStore),
 * with an MdevSysfs whose create/remove act like the kernel; VDUSE and vDPA
 * devices live in memory, with management devices, drivers, and a step that
 * can be made to fail.
 *
 * @module
 */

import {
  type HostFacts,
  SystemHost,
  type VdpaItem,
  type VduseItem,
} from "../../lib/provision/mod.ts";
import { ConfigStore } from "../../lib/mdev/mod.ts";
import { SysRoot } from "../../lib/root.ts";
import { VdevError } from "../../lib/errors.ts";
import { FakeKernel, tempExampleTree } from "../mdev/fake_tree.ts";

/** SystemHost on a fake tree with in-memory VDUSE and vDPA. */
export class FakeHost extends SystemHost {
  /** VDUSE devices. */
  vduse = new Map<string, VduseItem>();
  /** vDPA devices. */
  vdpa = new Map<string, VdpaItem>();
  /** Management devices present. */
  mgmt = ["vdpasim_net", "vduse"];
  /** Steps run, in order ("vdpa-add sim0"). */
  log: string[] = [];
  /** A step ("vdpa-add sim0") that fails with EINVAL. */
  failOn?: string;
  /** The tree's directory. */
  readonly dir: string;

  /** Builds the example mdev tree in a temporary directory. */
  constructor(dir = tempExampleTree()) {
    const root = new SysRoot(dir);
    super(root, {
      mdev: { sysfs: new FakeKernel(root), store: new ConfigStore(root) },
    });
    this.dir = dir;
  }

  #step(what: string): void {
    this.log.push(what);
    if (what === this.failOn) {
      throw new VdevError(
        `${what}: invalid argument (kernel: simulated refusal) [EINVAL]`,
      );
    }
  }

  override facts(): HostFacts {
    return {
      ...super.facts(),
      mgmtdevs: this.mgmt,
      vdpaDrivers: ["virtio_vdpa", "vhost_vdpa"],
      vduseLoaded: true,
    };
  }

  override readVduse(): VduseItem[] {
    return [...this.vduse.values()].map((d) => ({ ...d }));
  }

  override readVdpa(): VdpaItem[] {
    return [...this.vdpa.values()].map((d) => ({ ...d }));
  }

  override mdevDefine(item: Parameters<SystemHost["mdevDefine"]>[0]) {
    this.#step(`mdev-define ${item.uuid}`);
    super.mdevDefine(item);
  }

  override mdevStart(item: Parameters<SystemHost["mdevStart"]>[0]) {
    this.#step(`mdev-start ${item.uuid}`);
    super.mdevStart(item);
  }

  override vduseCreate(item: VduseItem): void {
    this.#step(`vduse-create ${item.name}`);
    if (this.vduse.has(item.name)) throw new VdevError("EEXIST");
    this.vduse.set(item.name, { ...item });
  }

  override vduseDestroy(name: string): Promise<void> {
    this.#step(`vduse-destroy ${name}`);
    if (this.vdpa.has(name)) throw new VdevError(`${name} busy`);
    this.vduse.delete(name);
    return Promise.resolve();
  }

  override vdpaAdd(item: VdpaItem): Promise<void> {
    this.#step(`vdpa-add ${item.name}`);
    if (item.mgmtdev === "vduse" && !this.vduse.has(item.name)) {
      throw new VdevError(`no VDUSE device ${item.name}`);
    }
    const { driver: _, ...rest } = item;
    this.vdpa.set(item.name, { ...rest, driver: "virtio_vdpa" });
    return Promise.resolve();
  }

  override vdpaDel(name: string): Promise<void> {
    this.#step(`vdpa-del ${name}`);
    this.vdpa.delete(name);
    return Promise.resolve();
  }

  override vdpaBind(name: string, driver: string): void {
    this.#step(`vdpa-bind ${name} ${driver}`);
    const d = this.vdpa.get(name);
    if (!d) throw new VdevError(`no vdpa device ${name}`);
    d.driver = driver as VdpaItem["driver"];
  }

  /** Removes the tree. */
  dispose(): void {
    Deno.removeSync(this.dir, { recursive: true });
  }
}

/** Every file of the tree with its contents or link target. */
export function snapshot(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (d: string) => {
    for (const e of Deno.readDirSync(d)) {
      const p = `${d}/${e.name}`;
      if (p.endsWith("provision.lock")) continue;
      if (e.isSymlink) out.set(p, `-> ${Deno.realPathSync(p)}`);
      else if (e.isDirectory) walk(p);
      else out.set(p, Deno.readTextFileSync(p));
    }
  };
  walk(dir);
  return out;
}
