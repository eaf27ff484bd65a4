/**
 * The vDPA checks: the module, the `vdpa` generic-netlink family and the
 * commands this kernel implements for it (CTRL_CMD_GETFAMILY's ops list:
 * `dev set` is VDPA_CMD_DEV_ATTR_SET), CAP_NET_ADMIN for the commands the
 * kernel marks GENL_ADMIN_PERM, the bus drivers and the simulators.
 *
 * @module
 */

import { messageOf } from "../errors.ts";
import { GENL_OP_FLAGS } from "../netlink/mod.ts";
import { VDPA_BUS_DRIVERS, VDPA_CMD, VDPA_GENL_NAME } from "../vdpa/mod.ts";
import { type Access, hasNetAdmin } from "./access.ts";
import { moduleCheck } from "./module_check.ts";
import type { ModuleIndex } from "./modules.ts";
import type { DoctorProbe } from "./probe.ts";
import type { Check } from "./report.ts";

/** The vdpa commands by number, as iproute2's `vdpa` names them. */
export const VDPA_COMMAND_NAMES: ReadonlyMap<number, string> = new Map([
  [VDPA_CMD.MGMTDEV_GET, "mgmtdev show"],
  [VDPA_CMD.DEV_NEW, "dev add"],
  [VDPA_CMD.DEV_DEL, "dev del"],
  [VDPA_CMD.DEV_GET, "dev show"],
  [VDPA_CMD.DEV_CONFIG_GET, "dev config show"],
  [VDPA_CMD.DEV_VSTATS_GET, "dev vstats show"],
  [VDPA_CMD.DEV_ATTR_SET, "dev set"],
]);

/** The commands that need CAP_NET_ADMIN when the kernel does not say. */
const ADMIN_COMMANDS = [
  VDPA_CMD.DEV_NEW,
  VDPA_CMD.DEV_DEL,
  VDPA_CMD.DEV_ATTR_SET,
];

/** The simulators that provide vDPA management devices. */
const VDPA_SIM_MODULES = ["vdpa_sim", "vdpa_sim_net", "vdpa_sim_blk"];

const names = (cmds: readonly number[]) =>
  cmds.map((c) => VDPA_COMMAND_NAMES.get(c) ?? `command ${c}`).join(", ");

/** The vdpa lines. */
export function vdpaChecks(
  index: ModuleIndex,
  options: { probe: DoctorProbe; access: Access; askKernel: boolean },
): Check[] {
  const checks = [moduleCheck(index, "vdpa", { family: "vdpa" })];
  const line = { id: "vdpa:netlink", family: "vdpa" as const };
  const name = `generic netlink family ${VDPA_GENL_NAME}`;
  let admin: number[] = [...ADMIN_COMMANDS];
  if (!options.askKernel) {
    checks.push({
      ...line,
      name,
      status: "skip",
      detail: "not asked: --root is not the running system",
    });
  } else {
    let family;
    let error: string | undefined;
    try {
      family = options.probe.genlFamily(VDPA_GENL_NAME);
    } catch (err) {
      error = messageOf(err);
    }
    if (family === undefined) {
      checks.push({
        ...line,
        name,
        status: "missing",
        detail: error ?? "not registered",
        fix: checks[0].fix ?? "modprobe vdpa",
      });
    } else {
      const ops = family.ops.map((o) => o.cmd);
      checks.push({
        ...line,
        name,
        status: "ok",
        detail: `version ${family.version}; commands: ${names(ops)}`,
      });
      const lacking = [...VDPA_COMMAND_NAMES.keys()].filter((c) =>
        !ops.includes(c)
      );
      checks.push({
        id: "vdpa:commands",
        family: "vdpa",
        name: "vdpa commands",
        status: lacking.length === 0 ? "ok" : "warn",
        detail: lacking.length === 0
          ? "the kernel implements every command vdevctl vdpa has"
          : `this kernel lacks ${names(lacking)}`,
        ...(lacking.length === 0 ? {} : { fix: "a newer kernel" }),
      });
      admin = family.ops.filter((o) => o.flags & GENL_OP_FLAGS.ADMIN_PERM)
        .map((o) => o.cmd);
    }
  }
  const netAdmin = hasNetAdmin(options.access);
  checks.push({
    id: "vdpa:admin",
    family: "vdpa",
    name: "CAP_NET_ADMIN",
    status: netAdmin ? "ok" : "missing",
    detail: netAdmin ? "held" : `not held: ${names(admin)} need it`,
    ...(netAdmin ? {} : { fix: "run as root" }),
  });
  for (const m of [...VDPA_BUS_DRIVERS, ...VDPA_SIM_MODULES]) {
    checks.push(moduleCheck(index, m, { family: "vdpa" }));
  }
  return checks;
}
