#!/usr/bin/env bash
# Benchmarks of the `resumable` command against the emulator on loopback,
# each with its baseline measured in the same run:
#   memory: peak RSS uploading a 1 GiB and a 4 GiB file (sparse) in 8 MiB chunks;
#           target <= 64 MiB, and within 10% between the two sizes.
#   many files: 100 x 8 MiB with --jobs 8, against one 800 MiB file.
# Usage: benches/cli.sh            (MEMORY_SIZES="1 4" FILES=100 JOBS=8 to change)
set -euo pipefail
cd "$(dirname "$0")/.."

cargo build --release -q -p resumable-cli
bin="$PWD/target/release/resumable"
work="$(mktemp -d)"
trap 'kill "${emu:-0}" 2>/dev/null || true; rm -rf "$work"' EXIT

export FREDDY_API_KEY=bench-key
"$bin" emulator --addr 127.0.0.1:0 --storage sink --api-key "$FREDDY_API_KEY" --quiet >"$work/emu.out" &
emu=$!
for _ in $(seq 100); do
  [ -s "$work/emu.out" ] && break
  sleep 0.1
done
api="$(grep -o 'http://[0-9.:]*' "$work/emu.out" | head -1)"
[ -n "$api" ] || { echo "the emulator did not start"; exit 1; }
calc() { awk "BEGIN { print $1 }"; }
upload() {
  "$bin" upload "$@" --org bench --api-url "$api" --chunk-size 8MiB \
    --state-dir "$work/state" --quiet --json >/dev/null
}

echo "== memory: peak RSS of 'resumable upload', 8 MiB chunks, sink emulator"
declare -A rss
for gib in ${MEMORY_SIZES:-1 4}; do
  file="$work/sparse-$gib.bin"
  truncate -s "${gib}G" "$file"
  start=$(date +%s.%N)
  /usr/bin/time -f "%M" -o "$work/rss" "$bin" upload "$file" --org bench --api-url "$api" \
    --chunk-size 8MiB --state-dir "$work/state" --quiet --json >/dev/null
  secs=$(calc "$(date +%s.%N) - $start")
  rss[$gib]=$(cat "$work/rss")
  printf '%4s GiB: peak RSS %6.1f MiB, %6.1f MiB/s\n' "$gib" "$(calc "${rss[$gib]}/1024")" \
    "$(calc "$gib*1024/$secs")"
  rm -f "$file"
done
sizes=(${MEMORY_SIZES:-1 4})
if [ "${#sizes[@]}" -ge 2 ]; then
  printf 'ratio %s GiB / %s GiB: %.3f\n' "${sizes[-1]}" "${sizes[0]}" \
    "$(calc "${rss[${sizes[-1]}]}/${rss[${sizes[0]}]}")"
fi

echo "== many files: ${FILES:-100} x 8 MiB with --jobs ${JOBS:-8}, against one file of the same total"
files=${FILES:-100}
mkdir -p "$work/many"
head -c $((8 << 20)) /dev/urandom >"$work/block"
for i in $(seq "$files"); do cp "$work/block" "$work/many/f$i.bin"; done
: >"$work/one.bin"
for i in $(seq "$files"); do cat "$work/block" >>"$work/one.bin"; done
start=$(date +%s.%N)
upload "$work/one.bin"
one=$(calc "$(date +%s.%N) - $start")
start=$(date +%s.%N)
upload "$work"/many/*.bin --jobs "${JOBS:-8}"
many=$(calc "$(date +%s.%N) - $start")
total=$((files * 8))
printf 'one %d MiB file:      %6.2f s  %7.1f MiB/s\n' "$total" "$one" "$(calc "$total/$one")"
printf '%d files, --jobs %d: %6.2f s  %7.1f MiB/s  (%.2fx the single file'"'"'s rate)\n' "$files" "${JOBS:-8}" \
  "$many" "$(calc "$total/$many")" "$(calc "$one/$many")"
