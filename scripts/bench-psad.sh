#!/usr/bin/env bash
# Netfilter log analysis speed: tripline next to psad on the same input.
#
# Builds a long netfilter log by repeating the real sample
# shared/data/scans/iptables.log (14,931 LOG lines of nmap/hping3 scans) with
# every copy's timestamps shifted past the previous copy's end, so the result
# is one continuous period (about 183 s per copy). Then it runs
#   * `tripline analyze --no-store --quiet` on LINES lines (default 10,000,000),
#   * tripline and psad's offline analysis (`psad -A -m FILE`) on the same
#     smaller files (PSAD_LINES, default "100000 1000000"),
# and prints lines/s and peak RSS (/usr/bin/time -f %M) of every run.
#
# Needs: a release build (`cargo build --release -p tripline`, found through
# TRIPLINE or $CARGO_TARGET_DIR/release/tripline or target/release/tripline),
# python3, /usr/bin/time, and for psad root plus Debian's package:
#   apt-get install -y psad
# (psad is only for this comparison, so scripts/setup.sh does not install it.)
# psad runs in a new network namespace (`unshare -n`: no whois, DNS or mail can
# leave the machine) with a private copy of /etc/psad/psad.conf: HOSTNAME gw,
# ALERTING_METHODS noemail, whois and reverse DNS off, and its state directory
# (PSAD_DIR) under the work directory, so /var/log/psad is not touched. The
# daemon is never started.
#
# Everything generated goes to target/bench-psad/ (WORK=DIR to change);
# nothing is written under shared/. PSAD_TIMEOUT (seconds, default 1800)
# bounds each psad run; a run that hits it is reported as such.
#
# Usage: scripts/bench-psad.sh            (all runs)
#        LINES=1000000 PSAD_LINES=100000 scripts/bench-psad.sh   (quicker)
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
sample="$here/../shared/data/scans/iptables.log"
work=${WORK:-$here/target/bench-psad}
lines=${LINES:-10000000}
psad_lines=${PSAD_LINES:-"100000 1000000"}
psad_timeout=${PSAD_TIMEOUT:-1800}
year=2026

tripline=${TRIPLINE:-}
if [ -z "$tripline" ]; then
  for c in "${CARGO_TARGET_DIR:-/nonexistent}/release/tripline" "$here/target/release/tripline"; do
    [ -x "$c" ] && { tripline=$c; break; }
  done
fi
[ -n "$tripline" ] && [ -x "$tripline" ] || {
  echo "bench-psad: no release tripline binary; run cargo build --release -p tripline or set TRIPLINE" >&2
  exit 1
}
[ -f "$sample" ] || { echo "bench-psad: sample log not found: $sample" >&2; exit 1; }
mkdir -p "$work"

# make_log N FILE: the first N lines of the endless shifted repetition.
make_log() {
  local n=$1 out=$2
  if [ -f "$out" ] && [ "$(wc -l <"$out")" -eq "$n" ]; then return; fi
  python3 - "$sample" "$n" "$out" "$year" <<'PY'
import sys, datetime
sample, n, out, year = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
rows = []
for line in open(sample, encoding="utf-8", errors="replace"):
    # "Nov 22 12:15:36 gw kernel: ..." -> (time, rest from the host name on)
    t = datetime.datetime.strptime(f"{year} {line[:15]}", "%Y %b %d %H:%M:%S")
    rows.append((t, line[15:]))
first, last = rows[0][0], rows[-1][0]
period = (last - first) + datetime.timedelta(seconds=1)
written = 0
copy = 0
cache = {}
with open(out, "w", encoding="utf-8") as f:
    while written < n:
        shift = period * copy
        for t, rest in rows:
            if written == n:
                break
            s = t + shift
            stamp = cache.get(s)
            if stamp is None:
                if len(cache) > 100000:
                    cache.clear()
                stamp = f"{s:%b} {s.day:2d} {s:%H:%M:%S}"
                cache[s] = stamp
            f.write(stamp)
            f.write(rest)
            written += 1
        copy += 1
PY
}

# timed LABEL LINES CMD...: runs CMD, prints seconds, lines/s and peak RSS.
timed() {
  local label=$1 n=$2
  shift 2
  local tf="$work/time.$$"
  local rc=0
  /usr/bin/time -o "$tf" -f "%e %M" "$@" >"$work/$label.out" 2>"$work/$label.err" || rc=$?
  local secs kb
  read -r secs kb < <(tail -1 "$tf")
  rm -f "$tf"
  if [ "$rc" -eq 124 ]; then
    printf '%-28s %10d lines  timed out after %ss\n' "$label" "$n" "$psad_timeout"
    return
  fi
  [ "$rc" -eq 0 ] || echo "bench-psad: $label exited with status $rc (see $work/$label.err)" >&2
  python3 - "$label" "$n" "$secs" "$kb" <<'PY'
import sys
label, n, secs, kb = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4])
rate = n / secs if secs > 0 else float("inf")
print(f"{label:<28} {n:>10} lines {secs:>9.2f} s {rate:>12,.0f} lines/s  peak RSS {kb / 1024:>7.1f} MiB")
PY
}

run_tripline() {
  local n=$1 file=$2
  # The lab's home networks, so direction-dependent detectors (tripwire,
  # connwatch) work as they would on this router.
  timed "tripline-$n" "$n" "$tripline" analyze --no-store --quiet --year "$year" \
    --home-net 10.99.1.0/24 --home-net fd99:1::/64 "$file"
}

psad_conf() {
  local dir="$work/psad"
  mkdir -p "$dir/state"
  sed -e 's/^HOSTNAME .*/HOSTNAME                    gw;/' \
      -e 's/^ALERTING_METHODS .*/ALERTING_METHODS            noemail;/' \
      -e 's/^ENABLE_WHOIS_LOOKUPS .*/ENABLE_WHOIS_LOOKUPS        N;/' \
      -e 's/^ENABLE_RDNS_LOOKUPS .*/ENABLE_RDNS_LOOKUPS         N;/' \
      -e "s|^PSAD_DIR .*|PSAD_DIR                    $dir/state;|" \
      /etc/psad/psad.conf >"$dir/psad.conf"
  echo "$dir/psad.conf"
}

run_psad() {
  local n=$1 file=$2 conf=$3
  timed "psad-$n" "$n" timeout "$psad_timeout" unshare -n \
    psad -c "$conf" --no-whois --no-rdns --no-fwcheck --no-netstat -A -m "$file"
}

echo "# $(date -u +%FT%TZ)  $(uname -r)  $(nproc) cores  $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')"
echo "# tripline: $tripline"
for n in $psad_lines; do
  make_log "$n" "$work/iptables-$n.log"
done
make_log "$lines" "$work/iptables-$lines.log"
echo "# input: $sample repeated, shifted to one continuous period ($work/iptables-N.log)"

if command -v psad >/dev/null && [ "$(id -u)" -eq 0 ]; then
  echo "# $(psad -V 2>&1 | head -1)"
  conf=$(psad_conf)
  for n in $psad_lines; do
    run_tripline "$n" "$work/iptables-$n.log"
    run_psad "$n" "$work/iptables-$n.log" "$conf"
  done
else
  echo "# psad skipped: needs root and Debian's psad (apt-get install -y psad)"
fi
run_tripline "$lines" "$work/iptables-$lines.log"
