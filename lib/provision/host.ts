/**
 * The host that provisioning reads and changes, through the families'
 * faces: mdevs through `MdevSysfs` and mdevctl's own definition files
 * (`ConfigStore`), VDUSE devices through their lifecycle and records, vDPA
 * devices through the vdpa netlink client and `VdpaBus`, mvnet daemons as
 * services (`mvnet_service.ts`). Tests subclass
 * {@linkcode SystemHost} to simulate the kernel parts a fake tree lacks.
 *
 * @module
 */

import { VdevError } from "../errors.ts";
import { pathExists } from "../sysfs_read.ts";
import { formatMac } from "../mac.ts";
import { createDevice, openMdev, stopDevice } from "../mdev/mod.ts";
import type { SysRoot } from "../root.ts";
import {
  bindVdpaDevice,
  formatMgmtdevHandle,
  VDPA_BUS_DRIVERS,
  VdpaBus,
  vdpaDevAdd,
  vdpaDevConfigShow,
  vdpaDevDel,
  vdpaDevShow,
  vdpaMgmtdevShow,
} from "../vdpa/mod.ts";
import type { VdpaBusDriver } from "../vdpa/mod.ts";
import { decodeConfig } from "../virtio/mod.ts";
import {
  buildSpec,
  createDevice as createVduse,
  destroyDevice,
  VduseRecords,
  VduseSysfs,
} from "../vduse/mod.ts";
import {
  type HostFacts,
  type MdevItem,
  type MvnetItem,
  type VdpaItem,
  type VduseItem,
} from "./manifest.ts";
import type { HostState, MdevCurrent, MvnetCurrent } from "./plan.ts";
import { MvnetServices } from "./mvnet_service.ts";

/** The sysfs tree and definitions store of the mdev family. */
export type MdevContext = ReturnType<typeof openMdev>;

/** What the host reads back, with what could not be read. */
export interface HostRead {
  /** The devices. */
  state: HostState;
  /** Devices left out, one line each. */
  warnings: string[];
}

function attrList(item: Pick<MdevItem, "attrs">) {
  return item.attrs.map((a) => {
    const [name, value] = Object.entries(a)[0];
    return { name, value };
  });
}

/** The real host under a root (a fake tree in tests). */
export class SystemHost {
  /** The system root. */
  readonly root: SysRoot;
  /** The mdev family's view of the root. */
  readonly mdev: MdevContext;

  /** What a supervised mvnet daemon runs (default: this checkout's launcher). */
  readonly mvnetProgram?: string;

  /**
   * Opens the host under `root`; `options.mdev` replaces the mdev view,
   * `options.mvnetProgram` the program supervised mvnet daemons run.
   */
  constructor(
    root: SysRoot,
    options: { mdev?: MdevContext; mvnetProgram?: string } = {},
  ) {
    this.root = root;
    this.mdev = options.mdev ?? openMdev(root);
    this.mvnetProgram = options.mvnetProgram;
  }

  /** Parents, management devices and drivers present. */
  facts(): HostFacts {
    const bus = new VdpaBus(this.root);
    return {
      mdevParents: this.mdev.sysfs.parentNames(),
      mgmtdevs: this.mgmtdevs(),
      vdpaDrivers: VDPA_BUS_DRIVERS.filter((d) => bus.hasDriver(d)),
      vduseLoaded: new VduseSysfs(this.root).loaded(),
    };
  }

  /** The vDPA management devices (none without the vdpa module). */
  mgmtdevs(): string[] {
    const bus = new VdpaBus(this.root);
    if (!this.root.isReal || !pathExists(bus.devicesDir)) return [];
    try {
      return vdpaMgmtdevShow().map((r) => formatMgmtdevHandle(r.rec))
        .filter((h) => h !== "");
    } catch (err) {
      if (err instanceof VdevError) return [];
      throw err;
    }
  }

  /**
   * Every device the host has; an mvnet daemon's VDUSE and vDPA devices
   * are part of its `mvnet` entry, not `vduse` or `vdpa` ones.
   */
  read(): HostRead {
    const warnings: string[] = [];
    const mvnet = this.readMvnet();
    const own = new Set(mvnet.map((m) => m.name));
    return {
      state: {
        mdev: this.readMdev(warnings),
        vduse: this.readVduse(warnings, own).filter((d) => !own.has(d.name)),
        vdpa: this.readVdpa(warnings).filter((d) =>
          d.mgmtdev !== "vduse" || !own.has(d.name)
        ),
        mvnet,
      },
      warnings,
    };
  }

  /** The mvnet daemons as services. */
  readMvnet(): MvnetCurrent[] {
    return this.mvnetServices().read();
  }

  /** The mvnet service manager of this root (tests replace it). */
  mvnetServices(): MvnetServices {
    return new MvnetServices(this.root, { program: this.mvnetProgram });
  }

  /** Starts `item`'s daemon and waits for its netdev. */
  async mvnetStart(item: MvnetItem): Promise<void> {
    await this.mvnetServices().start(item);
  }

  /** Stops daemon `name`; waits until its VDUSE device is gone. */
  async mvnetStop(name: string): Promise<void> {
    await this.mvnetServices().stop(name);
  }

  /** The mdevs: mdevctl's definitions merged with the running devices. */
  readMdev(warnings: string[]): MdevCurrent[] {
    const { sysfs, store } = this.mdev;
    const scan = store.scan();
    if (scan.problems.length > 0) throw new VdevError(scan.problems[0]);
    warnings.push(...scan.warnings);
    const byUuid = new Map<string, MdevCurrent>();
    for (const d of scan.definitions) {
      if (byUuid.has(d.uuid)) {
        throw new VdevError(
          `mdev ${d.uuid} is defined on several parents: undefine all but one with 'vdevctl mdev undefine -u ${d.uuid} -p PARENT'`,
        );
      }
      byUuid.set(d.uuid, {
        uuid: d.uuid,
        def: {
          parent: d.parent,
          type: d.type,
          start: d.autostart ? "auto" : "manual",
          attrs: d.attrs.map((a) => ({ [a.name]: a.value })),
        },
      });
    }
    for (const uuid of sysfs.activeNames()) {
      const act = sysfs.loadActive(uuid);
      if (!act) continue;
      const c = byUuid.get(uuid) ?? { uuid };
      c.active = { parent: act.parent, type: act.type };
      byUuid.set(uuid, c);
    }
    return [...byUuid.values()].sort((a, b) =>
      a.uuid < b.uuid ? -1 : a.uuid > b.uuid ? 1 : 0
    );
  }

  /**
   * The VDUSE devices, as their records describe them, but the mvnet
   * daemons' (`mvnet`, default: read).
   */
  readVduse(
    warnings: string[],
    mvnet: ReadonlySet<string> = new Set(this.readMvnet().map((m) => m.name)),
  ): VduseItem[] {
    const sysfs = new VduseSysfs(this.root);
    const records = new VduseRecords(this.root);
    const out: VduseItem[] = [];
    for (const name of sysfs.names()) {
      if (mvnet.has(name)) continue;
      const r = records.read(name);
      if (!r) {
        warnings.push(
          `VDUSE device ${name} has no record in /run/vdevctl/vduse (not created by vdevctl): left out`,
        );
        continue;
      }
      const cfg = decodeConfig(r.deviceId, r.config, r.features);
      const item: VduseItem = {
        name,
        type: r.type,
        queue_size: r.queueSizes[0],
      };
      if (typeof cfg.mac === "string") item.mac = cfg.mac;
      if (typeof cfg.mtu === "number") item.mtu = cfg.mtu;
      out.push(item);
    }
    return out;
  }

  /** The vDPA devices: netlink `dev show` and `config show`, the bus driver. */
  readVdpa(_warnings: string[]): VdpaItem[] {
    const bus = new VdpaBus(this.root);
    if (!this.root.isReal || bus.deviceNames().length === 0) return [];
    const devs = vdpaDevShow();
    const out: VdpaItem[] = [];
    for (const r of devs) {
      const name = r.rec.DEV_NAME;
      if (typeof name !== "string") continue;
      const item: VdpaItem = { name, mgmtdev: formatMgmtdevHandle(r.rec) };
      if (item.mgmtdev !== "vduse") Object.assign(item, this.#config(name));
      const driver = bus.driver(name);
      if (driver === "virtio_vdpa" || driver === "vhost_vdpa") {
        item.driver = driver;
      }
      out.push(item);
    }
    return out;
  }

  #config(name: string): Partial<VdpaItem> {
    let rec;
    try {
      rec = vdpaDevConfigShow(name)[0]?.rec;
    } catch {
      return {}; // Not negotiated yet: the values are unknown.
    }
    const out: Partial<VdpaItem> = {};
    if (rec?.DEV_NET_CFG_MACADDR instanceof Uint8Array) {
      out.mac = formatMac(rec.DEV_NET_CFG_MACADDR);
    }
    if (typeof rec?.DEV_NET_CFG_MTU === "number") out.mtu = rec.DEV_NET_CFG_MTU;
    const vqp = rec?.DEV_NET_CFG_MAX_VQP;
    if (typeof vqp === "number" && vqp > 1) out.max_vqp = vqp;
    return out;
  }

  /**
   * Writes mdevctl's definition file of `item`, holding the store's lock
   * (the one `mdev define`/`modify` take), so no concurrent writer's update
   * is lost in between.
   */
  mdevDefine(item: MdevItem): void {
    const store = this.mdev.store;
    store.locked(() =>
      store.write({
        uuid: item.uuid,
        parent: item.parent,
        type: item.type,
        autostart: item.start === "auto",
        attrs: attrList(item),
      })
    );
  }

  /** Removes mdevctl's definition file of `item`, holding the store's lock. */
  mdevUndefine(item: MdevItem): void {
    const store = this.mdev.store;
    store.locked(() => store.remove(item.parent, item.uuid));
  }

  /** Starts `item` (create, then its attributes; removed again on failure). */
  mdevStart(item: MdevItem): void {
    createDevice(this.mdev, { ...item, attrs: attrList(item) });
  }

  /** Stops running mdev `uuid`. */
  mdevStop(uuid: string): void {
    stopDevice(this.mdev, uuid);
  }

  /** Creates VDUSE device `item` (recorded, unserved). */
  vduseCreate(item: VduseItem): void {
    createVduse(
      buildSpec(item.name, {
        type: item.type,
        mac: item.mac,
        mtu: item.mtu,
        queueSize: item.queue_size,
      }),
      { root: this.root },
    );
  }

  /** Destroys VDUSE device `name`. */
  async vduseDestroy(name: string): Promise<void> {
    await destroyDevice(name, { root: this.root, retryBusy: true });
  }

  /** Adds vDPA device `item` (the kernel binds a loaded driver). */
  async vdpaAdd(item: VdpaItem): Promise<void> {
    await vdpaDevAdd({
      name: item.name,
      mgmtdev: item.mgmtdev,
      mac: item.mac,
      mtu: item.mtu,
      maxVqp: item.max_vqp,
    });
  }

  /** Deletes vDPA device `name`. */
  async vdpaDel(name: string): Promise<void> {
    await vdpaDevDel(name);
  }

  /** Binds vDPA device `name` to `driver`. */
  vdpaBind(name: string, driver: VdpaBusDriver): void {
    bindVdpaDevice(new VdpaBus(this.root), name, { driver });
  }
}
