#!/usr/bin/env bash
# Whole-process timings of the run pipeline, on this machine:
#   - `enact run` of a one-step filesystem workflow under ten filesystem policies (PASS, with
#     every fsync the journal and the receipt need; and BLOCK);
#   - `enact verify` and `enact ls` over a store of 100,000 receipts (N to change it).
# Needs hyperfine and eatmydata (Debian: apt-get install hyperfine eatmydata); eatmydata only
# speeds up *filling* the store, never the measured commands — except the one run labelled so,
# which shows how much of a run is the disk's fsync.
set -euo pipefail
N=${N:-100000}
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
cargo build --release --quiet --bin enact --example fill_store
BIN=$repo/target/release/enact
FILL=$repo/target/release/examples/fill_store
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export ENACT_SECRET=bench-secret-0123456789abcdef0123456789
cd "$work"
source "$repo/benches/write_note_project.sh"
write_note_project .
"$BIN" run write_note --payload "$pass" >/dev/null

hf() { hyperfine --style basic --warmup 3 "$@"; }
hf --runs 40 --prepare 'rm -f workspace/notes/today.md' --export-json run_pass.json \
  -n 'enact run (PASS, one file written)' "$BIN run write_note --payload '$pass'"
hf --runs 40 --prepare 'rm -f workspace/notes/today.md' --export-json run_nosync.json \
  -n 'enact run (PASS, fsync disabled by eatmydata)' "eatmydata $BIN run write_note --payload '$pass'"
hf --runs 40 --export-json run_block.json -i \
  -n 'enact run (BLOCK)' "$BIN run write_note --payload '$block'"

echo "filling a store with $N receipts ..."
start=$(date +%s)
eatmydata "$FILL" big "$N"
echo "  filled in $(( $(date +%s) - start )) s"
cat > big.yaml <<YAML
receipts: ./big
YAML
hf --runs 10 --export-json verify.json -n "enact verify ($N receipts)" "$BIN verify --config big.yaml"
hf --runs 10 --export-json ls.json -n "enact ls ($N receipts, newest 50)" "$BIN ls --config big.yaml"
hf --runs 10 --export-json ls_all.json -n "enact ls --json ($N receipts, all)" "$BIN ls --config big.yaml --limit $N --json"

python3 - <<'PY'
import json
rows = []
for name in ["run_pass", "run_nosync", "run_block", "verify", "ls", "ls_all"]:
    r = json.load(open(f"{name}.json"))["results"][0]
    rows.append((r["command"], r["median"] * 1000, r["min"] * 1000, r["max"] * 1000))
width = max(len(c) for c, *_ in rows)
print()
print(f"{'command':<{width}}  median ms    min ms    max ms")
for c, med, lo, hi in rows:
    print(f"{c:<{width}}  {med:9.1f} {lo:9.1f} {hi:9.1f}")
PY
