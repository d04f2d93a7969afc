#!/usr/bin/env bash
# The NoCloud files pass the programs that read them in a guest: cloud-init's
# schema check on user-data; cloud-init's v2 parser and its networkd, eni,
# sysconfig and netplan renderers on network-config (each must exit 0 and
# write the NIC's address and default route); netplan generate on both the
# netplan file cloud-init writes and network-config itself.
# Cases and their values: cidata_files_testtool.cc.
set -u
tool=$1
export PATH=$PATH:/usr/sbin:/sbin
die() { echo "FAIL: $*" >&2; exit 1; }
command -v cloud-init >/dev/null || die "no cloud-init (setup.sh installs it)"
command -v netplan >/dev/null || die "no netplan (setup.sh installs netplan.io)"

files=$TEST_TMPDIR/cidata
"$tool" "$files" || die "testtool failed"

# want WHAT TEXT PATTERN / nowant ...: TEXT matches (does not match) the glob
# PATTERN (write a literal [ as \[).
want() { [[ $2 == $3 ]] || die "$1: want $3 in:"$'\n'"$2"; }
nowant() { [[ $2 != $3 ]] || die "$1: do not want $3 in:"$'\n'"$2"; }
# stanza FILE IFACE: the `iface IFACE` stanza of an ENI file.
stanza() { awk -v i="$2" '$1 == "iface" && $2 == i {p = 1} p && /^$/ {exit} p' "$1"; }
readf() { cat "$1" 2>/dev/null || die "missing $1"; }

# convert CASE KIND DISTRO: cloud-init net-convert into $TEST_TMPDIR/CASE/KIND.
convert() {
  local out
  out=$(cloud-init devel net-convert --network-data "$files/$1/network-config" \
    --kind yaml --distro "$3" --output-kind "$2" \
    --directory "$TEST_TMPDIR/$1/$2" 2>&1) \
    || die "$1: net-convert -O $2 -D $3 failed:"$'\n'"$out"
}

# netplan_generate CASE NAME YAML: netplan generate on YAML as the only file
# in a fresh root $TEST_TMPDIR/CASE/NAME.
netplan_generate() {
  local root=$TEST_TMPDIR/$1/$2 out
  mkdir -p "$root/etc/netplan" || die "mkdir $root"
  install -m 0600 "$3" "$root/etc/netplan/50-cloud-init.yaml" || die "install $3"
  out=$(netplan generate --root-dir "$root" 2>&1) \
    || die "$1: netplan generate ($2) failed:"$'\n'"$out"
}

# check_static CASE IFACE MAC IP PREFIX NETMASK GATEWAY (may be empty)
check_static() {
  local c=$1 i=$2 mac=$3 ip=$4 prefix=$5 mask=$6 gw=$7 t d=$TEST_TMPDIR/$1
  t=$(readf "$d/networkd/etc/systemd/network/10-cloud-init-$i.network")
  want "$c networkd" "$t" "*MACAddress=$mac*"
  want "$c networkd" "$t" "*Address=$ip/$prefix*"
  t=$(stanza "$d/eni/etc/network/interfaces.d/50-cloud-init" "$i")
  want "$c eni" "$t" "iface $i inet static*address $ip/$prefix*"
  t=$(readf "$d/sysconfig/etc/sysconfig/network-scripts/ifcfg-$i")
  want "$c sysconfig" "$t" "*BOOTPROTO=none*"
  want "$c sysconfig" "$t" "*HWADDR=$mac*"
  want "$c sysconfig" "$t" "*IPADDR=$ip*NETMASK=$mask*"
  for g in cloudinit-netplan network-config; do
    t=$(readf "$d/$g/run/systemd/network/10-netplan-$i.network")
    want "$c netplan generate ($g)" "$t" "*MACAddress=$mac*"
    want "$c netplan generate ($g)" "$t" "*Address=$ip/$prefix*"
  done
  if [[ -n $gw ]]; then
    t=$(readf "$d/networkd/etc/systemd/network/10-cloud-init-$i.network")
    want "$c networkd" "$t" "*\[Route\]*Destination=0.0.0.0/0*Gateway=$gw*"
    t=$(stanza "$d/eni/etc/network/interfaces.d/50-cloud-init" "$i")
    want "$c eni" "$t" "*post-up route add default gw $gw *"
    t=$(readf "$d/sysconfig/etc/sysconfig/network-scripts/ifcfg-$i")
    want "$c sysconfig" "$t" "*DEFROUTE=yes*GATEWAY=$gw*"
    t=$(readf "$d/netplan/etc/netplan/50-cloud-init.yaml")
    want "$c netplan" "$t" "*to: 0.0.0.0/0*via: $gw*"
    for g in cloudinit-netplan network-config; do
      t=$(readf "$d/$g/run/systemd/network/10-netplan-$i.network")
      want "$c netplan generate ($g)" "$t" "*\[Route\]*Destination=0.0.0.0/0*Gateway=$gw*"
    done
  else
    t=$(readf "$d/networkd/etc/systemd/network/10-cloud-init-$i.network")
    nowant "$c networkd" "$t" "*Gateway=*"
    nowant "$c networkd" "$t" "*\[Route\]*"
    t=$(stanza "$d/eni/etc/network/interfaces.d/50-cloud-init" "$i")
    nowant "$c eni" "$t" "*route*"
    t=$(readf "$d/sysconfig/etc/sysconfig/network-scripts/ifcfg-$i")
    nowant "$c sysconfig" "$t" "*GATEWAY=*"
    for g in cloudinit-netplan network-config; do
      t=$(readf "$d/$g/run/systemd/network/10-netplan-$i.network")
      nowant "$c netplan generate ($g)" "$t" "*\[Route\]*"
    done
  fi
}

# check_dhcp CASE IFACE MAC
check_dhcp() {
  local c=$1 i=$2 mac=$3 t d=$TEST_TMPDIR/$1
  t=$(readf "$d/networkd/etc/systemd/network/10-cloud-init-$i.network")
  want "$c networkd" "$t" "*MACAddress=$mac*DHCP=ipv4*"
  t=$(stanza "$d/eni/etc/network/interfaces.d/50-cloud-init" "$i")
  want "$c eni" "$t" "iface $i inet dhcp*"
  t=$(readf "$d/sysconfig/etc/sysconfig/network-scripts/ifcfg-$i")
  want "$c sysconfig" "$t" "*BOOTPROTO=dhcp*HWADDR=$mac*"
  for g in cloudinit-netplan network-config; do
    t=$(readf "$d/$g/run/systemd/network/10-netplan-$i.network")
    want "$c netplan generate ($g)" "$t" "*MACAddress=$mac*DHCP=ipv4*"
  done
}

for c in static_gw static_nogw two_nics; do
  # 22.4 also prints a (non-fatal) deprecation notice for chpasswd.list.
  out=$(cloud-init schema --config-file "$files/$c/user-data" 2>&1) \
    || die "$c: cloud-init schema failed:"$'\n'"$out"
  want "$c schema" "$out" "*Valid cloud-config: $files/$c/user-data*"

  convert "$c" networkd debian
  convert "$c" eni debian
  # The debian distro has no sysconfig templates (AttributeError in 22.4).
  convert "$c" sysconfig centos
  convert "$c" netplan debian
  netplan_generate "$c" cloudinit-netplan \
    "$TEST_TMPDIR/$c/netplan/etc/netplan/50-cloud-init.yaml"
  # network-config is netplan's `network:` mapping without that key; netplan
  # itself wants the key, as cloud-init's netplan renderer writes it.
  { echo "network:"; sed 's/^/  /' "$files/$c/network-config"; } \
    >"$TEST_TMPDIR/$c/wrapped.yaml" || die "wrap $c"
  netplan_generate "$c" network-config "$TEST_TMPDIR/$c/wrapped.yaml"
done

check_static static_gw id0 02:00:0a:58:00:05 10.88.0.5 16 255.255.0.0 10.88.0.1
check_static static_nogw id0 02:00:c0:a8:32:0a 192.168.50.10 24 255.255.255.0 ""
check_static two_nics id0 02:00:0a:58:00:05 10.88.0.5 16 255.255.0.0 10.88.0.1
check_dhcp two_nics id1 02:00:0a:59:00:07
echo PASS
