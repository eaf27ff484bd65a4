#!/usr/bin/env bash
# Debian packages the tests compare against or need: the real mdevctl and
# iproute2's vdpa for differential tests, gcc for the struct-layout test,
# bash-completion, zsh and fish for the completion tests, ansible-core for
# the provisioning Ansible module's test.
# (The sandbox installs what it needs itself.)
set -euo pipefail
need=()
command -v mdevctl >/dev/null || need+=(mdevctl)
command -v vdpa >/dev/null || need+=(iproute2)
command -v gcc >/dev/null || need+=(gcc)
command -v unshare >/dev/null || need+=(util-linux)
# The man page tests render the pages with man -l (man-db pulls groff-base).
command -v man >/dev/null || need+=(man-db)
# The completion tests source the scripts in the real shells.
[ -f /usr/share/bash-completion/bash_completion ] || need+=(bash-completion)
command -v zsh >/dev/null || need+=(zsh)
command -v fish >/dev/null || need+=(fish)
# The Ansible module's e2e test runs Debian's ansible-core in the guest.
command -v ansible >/dev/null || need+=(ansible-core)
# The libvirt e2e test runs libvirtd's node-device driver over mdevctl
# (without recommends: no QEMU, dnsmasq or firewall pulled in).
lean=()
[ -x /usr/sbin/libvirtd ] || lean+=(libvirt-daemon)
command -v virsh >/dev/null || lean+=(libvirt-clients)
need+=("${lean[@]}")
if [ ${#need[@]} -eq 0 ]; then
  echo "host packages: all present"
  exit 0
fi
if [ "$(id -u)" != 0 ]; then
  echo "host packages: missing ${need[*]}; run as root or: apt-get install ${need[*]}" >&2
  exit 1
fi
# Another apt-get or dpkg (a second test run, unattended-upgrades) may hold
# apt's locks: wait up to this many seconds for them instead of failing at
# once (lib/sandbox/host_packages.ts waits as long).
lock_timeout=300
apt_get() { DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout="$lock_timeout" "$@"; }
# apt-get update does not wait for its lists lock: run it again while busy.
apt_update() {
  local deadline=$((SECONDS + lock_timeout)) pause=1 out
  until out=$(apt_get update -qq 2>&1); do
    if [[ $out != *"Could not get lock"* ]] || ((SECONDS + pause > deadline)); then
      printf '%s\n' "$out" >&2
      return 1
    fi
    [ "$pause" -gt 1 ] || echo "host packages: waiting for another apt-get or dpkg to finish"
    sleep "$pause"
    pause=$((pause < 4 ? pause * 2 : 4))
  done
  [ -z "$out" ] || printf '%s\n' "$out" >&2
}
echo "host packages: installing ${need[*]} with apt-get"
apt_update
rest=()
for p in "${need[@]}"; do [[ " ${lean[*]} " == *" $p "* ]] || rest+=("$p"); done
[ ${#rest[@]} -eq 0 ] || apt_get install -y -qq "${rest[@]}" >/dev/null
[ ${#lean[@]} -eq 0 ] || apt_get install -y -qq --no-install-recommends "${lean[@]}" >/dev/null
