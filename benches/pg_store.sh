#!/usr/bin/env bash
# Throughput of the PostgreSQL receipt store, on this machine: 8 processes each running
# `enact run` 250 times (a one-step filesystem workflow, PASS, journal and receipt in the
# database) into one store, then `enact verify` of the 2,000 receipts.
#
# Starts a throwaway server from the installed binaries the way the tests do
# (tests/common/pg.rs: /usr/lib/postgresql/*/bin, as the `postgres` user when root, a temporary
# directory, a free port on 127.0.0.1, trust authentication), but durable by default: fsync
# and synchronous_commit stay on, as on a real server. FAST=1 turns them off like the tests.
# PROCESSES and RUNS change the load. Needs python3 (to find a free port).
set -euo pipefail
PROCESSES=${PROCESSES:-8}
RUNS=${RUNS:-250}
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
cargo build --release --quiet --bin enact
BIN=$repo/target/release/enact

pg_bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
if [[ -z "$pg_bin" || ! -x "$pg_bin/initdb" ]]; then
  echo "PostgreSQL server binaries not found under /usr/lib/postgresql/*/bin;" \
    "install them (Debian: apt-get install postgresql)" >&2
  exit 2
fi
as_server_user() {
  if [[ $(id -u) == 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi
}
work=$(mktemp -d)
# Its own directory: the server user must be able to reach it.
server=$(mktemp -d)
if [[ $(id -u) == 0 ]]; then chown postgres:postgres "$server"; fi
stop_server() {
  as_server_user "$pg_bin/pg_ctl" -D "$server/data" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$work" "$server"
}
trap stop_server EXIT

as_server_user "$pg_bin/initdb" -D "$server/data" -U postgres --auth=trust -E UTF8 >/dev/null
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
options="-p $port -k $server -c listen_addresses=127.0.0.1 -c max_connections=200"
if [[ ${FAST:-0} == 1 ]]; then
  options="$options -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
  durability="fsync off (FAST=1)"
else
  durability="fsync on"
fi
as_server_user "$pg_bin/pg_ctl" -D "$server/data" -o "$options" -l "$server/server.log" -w start >/dev/null
"$pg_bin/createdb" -h 127.0.0.1 -p "$port" -U postgres enact_bench
url="postgres://postgres@127.0.0.1:$port/enact_bench"

export ENACT_SECRET=bench-secret-0123456789abcdef0123456789
project=$work/project
mkdir -p "$project/workspace" "$project/workflows"
cd "$project"
cat > enact.yaml <<YAML
receipts: $url
systems:
  files: { connector: filesystem, base_dir: ./workspace, allowed_actions: [write_file] }
workflows: [./workflows]
YAML
cat > workflows/note.yaml <<'YAML'
name: note
description: Write a note into the workspace.
inputs:
  name: { type: string, required: true }
policies:
  - use: filesystem.dont_read_env
steps:
  - id: write
    action: files.write_file
    with: { path: "${payload.name}.txt", content: "note" }
YAML
# Creates the tables, outside the measurement.
"$BIN" ls >/dev/null

now() { date +%s.%N; }
total=$((PROCESSES * RUNS))
echo "PostgreSQL $("$pg_bin/postgres" --version | awk '{print $3}') ($durability), $(nproc) cores:" \
  "$PROCESSES processes x $RUNS runs of \`enact run\` into one store"
start=$(now)
pids=()
for p in $(seq 1 "$PROCESSES"); do
  (
    for i in $(seq 1 "$RUNS"); do
      "$BIN" run note --payload "{\"name\": \"p$p-$i\"}" >/dev/null
    done
  ) &
  pids+=($!)
done
for pid in "${pids[@]}"; do wait "$pid"; done
elapsed=$(python3 -c "print(f'{$(now) - $start:.2f}')")

count=$("$pg_bin/psql" -h 127.0.0.1 -p "$port" -U postgres -d enact_bench -Atc \
  "SELECT count(*) || ' receipts, sequences ' || min(sequence) || '..' || max(sequence) FROM enact_receipts")
start=$(now)
verdict=$("$BIN" verify)
verify_elapsed=$(python3 -c "print(f'{$(now) - $start:.2f}')")

python3 - "$total" "$elapsed" "$verify_elapsed" "$count" "$verdict" <<'PY'
import sys
total, elapsed, verify, count, verdict = sys.argv[1:]
total, elapsed, verify = int(total), float(elapsed), float(verify)
print(f"  stored:  {count}")
print(f"  appends: {total} runs in {elapsed:.2f} s = {total / elapsed:.0f} runs/s")
print(f"  verify:  {verify:.2f} s ({verdict.strip()})")
PY
