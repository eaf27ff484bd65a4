#!/usr/bin/env bash
# Debian packages the tests compare against or need: the real mdevctl and
# iproute2's vdpa for differential tests, gcc for the struct-layout test,
# bash-completion, zsh and fish for the completion tests.
# (The sandbox installs what it needs itself.)
set -euo pipefail
need=()
command -v mdevctl >/dev/null || need+=(mdevctl)
command -v vdpa >/dev/null || need+=(iproute2)
command -v gcc >/dev/null || need+=(gcc)
command -v unshare >/dev/null || need+=(util-linux)
# The completion tests source the scripts in the real shells.
[ -f /usr/share/bash-completion/bash_completion ] || need+=(bash-completion)
command -v zsh >/dev/null || need+=(zsh)
command -v fish >/dev/null || need+=(fish)
if [ ${#need[@]} -eq 0 ]; then
  echo "host packages: all present"
  exit 0
fi
if [ "$(id -u)" != 0 ]; then
  echo "host packages: missing ${need[*]}; run as root or: apt-get install ${need[*]}" >&2
  exit 1
fi
echo "host packages: installing ${need[*]} with apt-get"
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
