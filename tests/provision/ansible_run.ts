/**
 * Test helper: runs the Ansible module dist/ansible/vdevctl_apply through
 * Debian's ansible-core (`ansible localhost -M dist/ansible`), for the host
 * test on a fake tree and the e2e test on the real kernel.
 *
 * @module
 */

import { type CommandResult, runCommand } from "../command_output.ts";

const REPO = new URL("../..", import.meta.url).pathname;

/**
 * Runs `vdevctl_apply src=SRC vdevctl=VDEVCTL` on localhost with `extra`
 * ansible options (`--check`, `--diff`) and `env` added to the environment.
 */
export function ansibleApply(
  src: string,
  extra: readonly string[] = [],
  options: { env?: Record<string, string> } = {},
): Promise<CommandResult> {
  return runCommand([
    "ansible",
    "localhost",
    "-M",
    `${REPO}dist/ansible`,
    "-m",
    "vdevctl_apply",
    "-a",
    `src=${src} vdevctl=${REPO}vdevctl`,
    ...extra,
  ], {
    env: {
      ANSIBLE_NOCOLOR: "1",
      ANSIBLE_LOCALHOST_WARNING: "false",
      ANSIBLE_PYTHON_INTERPRETER: "/usr/bin/python3",
      ...options.env,
    },
  });
}
