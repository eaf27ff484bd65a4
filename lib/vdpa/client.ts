/**
 * vDPA management over the "vdpa" generic-netlink family: management
 * devices, device add/delete, device, config and vendor-statistics queries.
 * Kernel errors become one-line {@linkcode VdevError}s naming the object and
 * quoting the kernel's extended-ACK message.
 *
 * `vdpaDevAdd` and `vdpaDevDel` are asynchronous and never block the
 * JavaScript thread: for a VDUSE device the kernel handles DEV_NEW/DEV_DEL
 * inside the send system call and waits until the VDUSE daemon has answered
 * its status messages, and that daemon may be this very process (mvnet).
 *
 * @module
 */

import { errnoCode, VdevError } from "../errors.ts";
import { parseMacAddress } from "../mac.ts";
import {
  type Attr,
  type AttrInput,
  attrRecord,
  type AttrValue,
  decodeGenl,
  encodeAttrs,
  type FamilyInfo,
  GenlSocket,
  NetlinkError,
  NetlinkTransportError,
  type NlMsg,
} from "../netlink/mod.ts";
import { VDPA_ATTRS, VDPA_CMD, VDPA_GENL_NAME } from "./uapi.ts";

/** The message shown when the kernel has no vdpa family. */
export const VDPA_FAMILY_MISSING =
  "the vdpa generic netlink family is not available: load it with `modprobe vdpa`";

/** An open socket with the vdpa family resolved. */
export interface VdpaSession {
  /** The generic-netlink socket. */
  readonly socket: GenlSocket;
  /** The resolved "vdpa" family. */
  readonly family: FamilyInfo;
}

/** Options shared by the vdpa operations. */
export interface VdpaOptions {
  /** Reuse this session (default: open one for the call and close it after). */
  readonly session?: VdpaSession;
}

/** One reply message: its attributes in order and by name. */
export interface VdpaReply {
  /** Attributes in message order (vstats pairs names and values by order). */
  readonly attrs: readonly Attr[];
  /** Attributes by name (last one wins). */
  readonly rec: Readonly<Record<string, AttrValue>>;
}

/** What `vdpa dev add` creates. */
export interface VdpaDevSpec {
  /** vDPA device name (for VDUSE it must equal the VDUSE device name). */
  readonly name: string;
  /** Management device: "NAME" or "BUS/NAME" (e.g. "vduse", "vdpasim_net"). */
  readonly mgmtdev: string;
  /** MAC address "xx:xx:xx:xx:xx:xx" (net; not supported by vduse). */
  readonly mac?: string;
  /** MTU (net, 68..65535; not supported by vduse). */
  readonly mtu?: number;
  /** Maximum virtqueue pairs (net, >= 1; not supported by vduse). */
  readonly maxVqp?: number;
  /**
   * Device features to provision (VDPA_ATTR_DEV_FEATURES, iproute2's
   * `device_features HEX`): a subset of the management device's
   * dev_features the device then offers.
   */
  readonly features?: bigint;
}

/** Options of {@linkcode vdpaDevAdd} and {@linkcode vdpaDevDel}. */
export interface VdpaAsyncOptions extends VdpaOptions {
  /**
   * Give up waiting for the kernel's reply after this long once the send
   * has returned (default 120 s). The send itself is where the kernel runs
   * the command; for VDUSE it is bounded by the device's msg_timeout per
   * status message (sysfs /sys/class/vduse/NAME/msg_timeout, default 30 s).
   */
  readonly timeoutMs?: number;
}

/**
 * Opens a NETLINK_GENERIC socket and resolves the vdpa family. Throws a
 * VdevError saying `modprobe vdpa` when the family is missing.
 */
export function openVdpa(): VdpaSession {
  let socket: GenlSocket;
  try {
    socket = GenlSocket.open();
  } catch (err) {
    throw new VdevError(
      `cannot open a generic netlink socket: ${(err as Error).message}`,
      { cause: err },
    );
  }
  try {
    return { socket, family: socket.resolveFamily(VDPA_GENL_NAME) };
  } catch (err) {
    socket.close();
    if (errnoCode(err) === "ENOENT") {
      throw new VdevError(VDPA_FAMILY_MISSING, { cause: err });
    }
    throw err;
  }
}

/** Closes a session opened by {@linkcode openVdpa}. */
export function closeVdpa(session: VdpaSession): void {
  session.socket.close();
}

function withSession<T>(options: VdpaOptions, fn: (s: VdpaSession) => T): T {
  if (options.session) return fn(options.session);
  const s = openVdpa();
  try {
    return fn(s);
  } finally {
    closeVdpa(s);
  }
}

async function withSessionAsync<T>(
  options: VdpaOptions,
  fn: (s: VdpaSession) => Promise<T>,
): Promise<T> {
  if (options.session) return await fn(options.session);
  const s = openVdpa();
  try {
    return await fn(s);
  } finally {
    closeVdpa(s);
  }
}

/** Splits a management-device handle "NAME" or "BUS/NAME" into attributes. */
function mgmtdevHandle(handle: string): [string, AttrInput][] {
  const parts = handle.split("/");
  if (parts.length > 2 || parts.some((p) => p === "")) {
    throw new VdevError(
      `invalid vdpa management device "${handle}": use NAME or BUS/NAME`,
    );
  }
  return parts.length === 2
    ? [["MGMTDEV_BUS_NAME", parts[0]], ["MGMTDEV_DEV_NAME", parts[1]]]
    : [["MGMTDEV_DEV_NAME", parts[0]]];
}

/** A reply from its decoded attributes (`rec` is derived from `attrs`). */
export function vdpaReply(attrs: readonly Attr[]): VdpaReply {
  return { attrs, rec: attrRecord(attrs) };
}

function replies(msgs: readonly NlMsg[]): VdpaReply[] {
  return msgs.map((m) => vdpaReply(decodeGenl(m, VDPA_ATTRS).attrs));
}

/** The kernel's extack message as a suffix, without the "vdpa: " module prefix. */
function kernelSays(err: NetlinkError): string {
  return err.extack ? ` (kernel: ${err.extack.replace(/^vdpa: /, "")})` : "";
}

/** Turns a netlink failure into a VdevError naming the object. */
function explain(
  err: unknown,
  what: string,
  hints: Readonly<Record<string, string>>,
): never {
  if (err instanceof NetlinkTransportError) {
    // The kernel may still finish the request: say where to look.
    throw new VdevError(
      `${what}: ${err.message}; the kernel may still complete it: check with 'vdevctl vdpa dev show'`,
      { cause: err },
    );
  }
  if (!(err instanceof NetlinkError)) throw err;
  const hint = hints[err.code] ??
    (err.code === "EPERM"
      ? "permission denied: needs CAP_NET_ADMIN (run as root)"
      : err.reason.toLowerCase());
  throw new VdevError(`${what}: ${hint}${kernelSays(err)} [${err.code}]`, {
    cause: err,
  });
}

const DEVICE_MISSING = {
  ENODEV: "no such vdpa device (see 'vdevctl vdpa dev show')",
};

/** One query (a dump when `attrs` is undefined) with its errors explained. */
function query(
  options: VdpaOptions,
  q: {
    cmd: number;
    attrs?: [string, AttrInput][];
    what: string;
    hints: Readonly<Record<string, string>>;
  },
): VdpaReply[] {
  return withSession(options, (s) => {
    try {
      return replies(s.socket.request({
        family: s.family,
        cmd: q.cmd,
        dump: q.attrs === undefined,
        attrs: q.attrs && encodeAttrs(q.attrs, VDPA_ATTRS),
      }));
    } catch (err) {
      return explain(err, q.what, q.hints);
    }
  });
}

/** The DEV_NAME attribute of device `name`, or undefined for a dump. */
function byName(name?: string): [string, AttrInput][] | undefined {
  return name === undefined ? undefined : [["DEV_NAME", name]];
}

/**
 * Management devices: all (dump) or the one named `mgmtdev` ("NAME" or
 * "BUS/NAME").
 */
export function vdpaMgmtdevShow(
  mgmtdev?: string,
  options: VdpaOptions = {},
): VdpaReply[] {
  return query(options, {
    cmd: VDPA_CMD.MGMTDEV_GET,
    attrs: mgmtdev === undefined ? undefined : mgmtdevHandle(mgmtdev),
    what: `vdpa management device "${mgmtdev}"`,
    hints: {
      ENODEV: "no such management device (see 'vdevctl vdpa mgmtdev show')",
    },
  });
}

/** vDPA devices: all (dump) or the one named `name`. */
export function vdpaDevShow(
  name?: string,
  options: VdpaOptions = {},
): VdpaReply[] {
  return query(options, {
    cmd: VDPA_CMD.DEV_GET,
    attrs: byName(name),
    what: `vdpa device "${name}"`,
    hints: DEVICE_MISSING,
  });
}

const NOT_NEGOTIATED = {
  ...DEVICE_MISSING,
  EAGAIN:
    "feature negotiation not complete: bind the device to a driver (modprobe virtio_vdpa or vhost_vdpa)",
};

/** Device configuration (net: mac, status, mtu, features, max_vqp). */
export function vdpaDevConfigShow(
  name?: string,
  options: VdpaOptions = {},
): VdpaReply[] {
  return query(options, {
    cmd: VDPA_CMD.DEV_CONFIG_GET,
    attrs: byName(name),
    what: name === undefined ? "vdpa device config" : `vdpa device "${name}"`,
    hints: {
      ...NOT_NEGOTIATED,
      EOPNOTSUPP:
        "the kernel cannot report the configuration of this device type",
    },
  });
}

/** Vendor statistics of queue `qidx` of device `name`. */
export function vdpaDevVstatsShow(
  name: string,
  options: VdpaOptions & { qidx: number },
): VdpaReply[] {
  return query(options, {
    cmd: VDPA_CMD.DEV_VSTATS_GET,
    attrs: [["DEV_NAME", name], ["DEV_QUEUE_INDEX", options.qidx]],
    what: `vdpa device "${name}" queue ${options.qidx}`,
    hints: {
      ...NOT_NEGOTIATED,
      EOPNOTSUPP: "the device has no vendor statistics",
      ERANGE: "queue index out of range",
    },
  });
}

/** The attributes of a DEV_NEW request for `spec` (validated). */
export function devAddAttrs(spec: VdpaDevSpec): [string, AttrInput][] {
  if (spec.name === "") throw new VdevError("vdpa device name is empty");
  const attrs: [string, AttrInput][] = [
    ...mgmtdevHandle(spec.mgmtdev),
    ["DEV_NAME", spec.name],
  ];
  if (spec.mac !== undefined) {
    attrs.push(["DEV_NET_CFG_MACADDR", parseMacAddress(spec.mac)]);
  }
  const u16 = (what: string, v: number) => {
    if (!Number.isInteger(v) || v < 0 || v > 0xffff) {
      throw new VdevError(
        `invalid ${what} "${v}" for vdpa device "${spec.name}": use 0..65535`,
      );
    }
    return v;
  };
  if (spec.mtu !== undefined) {
    attrs.push(["DEV_NET_CFG_MTU", u16("mtu", spec.mtu)]);
  }
  if (spec.maxVqp !== undefined) {
    attrs.push(["DEV_NET_CFG_MAX_VQP", u16("max_vqp", spec.maxVqp)]);
  }
  if (spec.features !== undefined) {
    if (spec.features < 0n || spec.features > 0xffffffffffffffffn) {
      throw new VdevError(
        `invalid device_features for vdpa device "${spec.name}": use a 64-bit value`,
      );
    }
    attrs.push(["DEV_FEATURES", spec.features]);
  }
  return attrs;
}

/**
 * Creates vDPA device `spec.name` on management device `spec.mgmtdev`
 * (VDPA_CMD_DEV_NEW). Asynchronous: the request is sent on another thread
 * and the reply awaited with a nonblocking poll, so a VDUSE daemon running
 * on this process's event loop can answer the kernel's status messages
 * while the kernel attaches the device. Resolves once the kernel has ACKed
 * (the device exists and, with virtio_vdpa loaded, its driver has probed).
 *
 * Errors (VdevError): unknown management device, duplicate name (EEXIST),
 * attributes the management device does not support (EOPNOTSUPP, e.g. mac
 * on vduse), missing vdpa family.
 */
export async function vdpaDevAdd(
  spec: VdpaDevSpec,
  options: VdpaAsyncOptions = {},
): Promise<void> {
  const attrs = encodeAttrs(devAddAttrs(spec), VDPA_ATTRS);
  await withSessionAsync(options, async (s) => {
    try {
      await s.socket.requestAsync({
        family: s.family,
        cmd: VDPA_CMD.DEV_NEW,
        attrs,
        what: `vdpa dev add ${spec.name}`,
      }, { timeoutMs: options.timeoutMs });
    } catch (err) {
      const given = [
        spec.mac !== undefined ? "mac" : "",
        spec.mtu !== undefined ? "mtu" : "",
        spec.maxVqp !== undefined ? "max_vqp" : "",
        spec.features !== undefined ? "device_features" : "",
      ].filter((x) => x).join(", ");
      const vduse = hasVduseHint(spec, err);
      explain(err, `cannot add vdpa device "${spec.name}"`, {
        ...(vduse
          ? {
            EINVAL:
              `no VDUSE device "${spec.name}" ready to attach (create it with 'vdevctl vduse create' and serve it)`,
          }
          : {}),
        ERANGE: "a value is out of range (mtu: 68..65535)",
        ...(spec.features !== undefined && !vduse
          ? {
            EINVAL:
              "the device_features are not a subset of the management device's dev_features (see 'vdevctl vdpa mgmtdev show')",
          }
          : {}),
        ENODEV:
          `no management device "${spec.mgmtdev}" (see 'vdevctl vdpa mgmtdev show')`,
        EEXIST: "a device with that name already exists",
        EOPNOTSUPP: `management device "${spec.mgmtdev}" does not support ${
          given || "the given attributes"
        }`,
      });
    }
  });
}

function hasVduseHint(spec: VdpaDevSpec, err: unknown): boolean {
  return spec.mgmtdev === "vduse" && err instanceof NetlinkError &&
    err.code === "EINVAL" && !err.extack;
}

/** What `vdpa dev set` changes (VDPA_CMD_DEV_ATTR_SET). */
export interface VdpaDevSetSpec {
  /** New MAC address (net; vdpa_sim_net, mlx5 and a few more support it). */
  readonly mac?: string;
}

/**
 * Changes attributes of vDPA device `name` (VDPA_CMD_DEV_ATTR_SET, Linux
 * 6.12; iproute2 6.13's `vdpa dev set`). With no attribute the kernel only
 * checks that the device exists and its management device can set them.
 */
export function vdpaDevSet(
  name: string,
  options: VdpaOptions & VdpaDevSetSpec = {},
): void {
  const attrs: [string, AttrInput][] = [["DEV_NAME", name]];
  if (options.mac !== undefined) {
    attrs.push(["DEV_NET_CFG_MACADDR", parseMacAddress(options.mac)]);
  }
  query(options, {
    cmd: VDPA_CMD.DEV_ATTR_SET,
    attrs,
    what: `cannot set attributes of vdpa device "${name}"`,
    hints: {
      ...DEVICE_MISSING,
      EOPNOTSUPP:
        "its management device cannot change attributes of a device (vdpa_sim_net can)",
      EBUSY: "the device is in use: detach its driver first",
    },
  });
}

/**
 * Deletes vDPA device `name` (VDPA_CMD_DEV_DEL). Asynchronous for the same
 * reason as {@linkcode vdpaDevAdd}: detaching a VDUSE device waits for the
 * daemon's answer to the reset. Resolves once the kernel has ACKed.
 */
export async function vdpaDevDel(
  name: string,
  options: VdpaAsyncOptions = {},
): Promise<void> {
  const attrs = encodeAttrs([["DEV_NAME", name]], VDPA_ATTRS);
  await withSessionAsync(options, async (s) => {
    try {
      await s.socket.requestAsync({
        family: s.family,
        cmd: VDPA_CMD.DEV_DEL,
        attrs,
        what: `vdpa dev del ${name}`,
      }, { timeoutMs: options.timeoutMs });
    } catch (err) {
      explain(err, `cannot delete vdpa device "${name}"`, DEVICE_MISSING);
    }
  });
}
