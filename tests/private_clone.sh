#!/usr/bin/env bash
# The tests that run vdevctl as another user (nobody), from a copy of this
# checkout inside a 0700 directory (mktemp -d, like /root on Debian), which
# that user cannot enter: they must still pass (tests/command_output.ts's
# reachableLauncher). Run by tests/ci.ts. The copy holds the tracked and new
# files of the work tree, with node_modules linked from here.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
private=$(mktemp -d)
trap 'rm -rf "$private"' EXIT
[ "$(stat -c %a "$private")" = 700 ] || { echo "mktemp -d is not 0700" >&2; exit 1; }
clone="$private/vdevctl"
mkdir "$clone"
(cd "$repo" && git ls-files -z --cached --others --exclude-standard |
  xargs -0 cp -d --parents -t "$clone")
ln -s "$(readlink -f "$repo/node_modules")" "$clone/node_modules"
cd "$clone"
exec ./node_modules/.bin/deno test -A tests/mdev/lifecycle_test.ts
