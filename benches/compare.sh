#!/usr/bin/env bash
# Every comparison of BENCHMARKS.md, on this machine, in one run, ending in one table:
#   1. in process (benches/compare/): Enact's policy engine and Cedar (cedar-policy 4.x) on the
#      same 20 policies over the same agent requests, per decision, engine only and from raw JSON;
#   2. whole processes (hyperfine): `enact` and the Python original (enact-sdk 1.0.0, installed
#      into a throwaway virtual environment) on the same files: a PASS run with ten filesystem
#      policies and one file write, a BLOCK run, one Claude Code hook call (allow and deny), and
#      verification of 1,000 and 100,000 receipts from disk.
# Needs hyperfine, eatmydata and python3 with venv (Debian: apt-get install hyperfine eatmydata
# python3-venv). Knobs: N_BIG (default 100000 receipts), RUNS (default 30 runs of each command),
# ROUNDS (default 20 rounds of 1,000 decisions in process), LOAD_MAX (default 1.0: how quiet the
# machine should be before timing; waits up to 5 minutes for it).
# eatmydata only speeds up *filling* the receipt stores, and the one pair of rows labelled so.
set -euo pipefail
N_BIG=${N_BIG:-100000}
RUNS=${RUNS:-30}
ROUNDS=${ROUNDS:-20}
LOAD_MAX=${LOAD_MAX:-1.0}
repo=$(cd "$(dirname "$0")/.." && pwd)
compare=$repo/benches/compare
for tool in hyperfine eatmydata python3; do
  command -v "$tool" >/dev/null || { echo "compare.sh needs $tool (apt-get install $tool)" >&2; exit 2; }
done

echo "== building (release): enact, fill_store, enact-compare"
cd "$repo"
cargo build --release --quiet --bin enact --example fill_store
CARGO_TARGET_DIR=$compare/target cargo build --release --quiet --manifest-path "$compare/Cargo.toml"
BIN=$repo/target/release/enact
FILL=$repo/target/release/examples/fill_store
COMPARE=$compare/target/release/enact-compare

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
results=$work/results
mkdir -p "$results"

echo "== the Python original: a throwaway virtual environment in $work"
python3 -m venv "$work/venv"
"$work/venv/bin/pip" install --quiet --disable-pip-version-check enact-sdk==1.0.0
PY_VERSION=$("$work/venv/bin/python" -c 'import sys; print(sys.version.split()[0])')
# Its best invocation: -I (isolated: no user site, no PYTHON* variables) on bytecode compiled
# ahead of time, so no run pays for compiling a module (the drivers, run as scripts, are tiny).
"$work/venv/bin/python" -I -m compileall -q "$work/venv/lib" >/dev/null
PY="$work/venv/bin/python -I"

# Timing waits until nothing else compiles on this machine (other work shares its cores; up to
# 30 minutes), and for up to 5 minutes of that until the 1-minute load average is under LOAD_MAX.
quiet() {
  local compiling=0 loaded=0
  while true; do
    if [ "$(pgrep -c rustc || true)" != 0 ] && [ "$compiling" -lt 1800 ]; then
      [ "$compiling" = 0 ] && echo "   waiting for other compilations to finish before timing ..."
      compiling=$((compiling + 10))
    elif awk -v max="$LOAD_MAX" '{ exit !($1 >= max) }' /proc/loadavg && [ "$loaded" -lt 300 ]; then
      loaded=$((loaded + 10))
    else
      break
    fi
    sleep 10
  done
  [ "$compiling" -lt 1800 ] || echo "   warning: rustc still running after 30 min; measuring anyway" >&2
  echo "   load: $(cut -d' ' -f1-3 /proc/loadavg), rustc processes: $(pgrep -c rustc || true)" \
    | tee -a "$results/load.txt"
}

echo "== in process: Enact and Cedar, 20 policies"
quiet
"$COMPARE" bench --rounds "$ROUNDS" --json "$results/inprocess.json"

echo "== whole processes: the project"
export ENACT_SECRET=bench-secret-0123456789abcdef0123456789
proj=$work/project
source "$repo/benches/write_note_project.sh"
write_note_project "$proj"
cd "$proj"
RUN_PY=$compare/python/run_workflow.py
# Both sides must decide as expected before anything is timed.
"$BIN" run write_note --payload "$pass" >/dev/null
$PY "$RUN_PY" "$pass" | grep -q '^PASS'
if "$BIN" run write_note --payload "$block" >/dev/null; then echo "enact did not block" >&2; exit 1; fi
if $PY "$RUN_PY" "$block" >/dev/null; then echo "the original did not block" >&2; exit 1; fi

# pair KEY ENACT_RUNS PYTHON_RUNS ENACT_COMMAND PYTHON_COMMAND [hyperfine options]: times both
# commands in two alternating halves (enact, original, enact, original), so that a change of
# load on the machine falls on both; each half's JSON is $results/KEY.{enact,python}.N.json.
# An empty ENACT_COMMAND times the original alone.
pair() {
  local key=$1 enact_runs=$2 python_runs=$3 enact_command=$4 python_command=$5 half side runs command warmup
  shift 5
  for half in 1 2; do
    for side in enact python; do
      if [ "$side" = enact ]; then runs=$enact_runs command=$enact_command; else runs=$python_runs command=$python_command; fi
      [ -n "$command" ] || continue
      runs=$(( (runs + 1) / 2 ))
      warmup=$(( runs < 3 ? 1 : 3 ))
      hyperfine --style basic --warmup "$warmup" --runs "$runs" --export-json "$results/$key.$side.$half.json" \
        -n "$side $key ($half/2)" "$@" "$command"
    done
  done
}

quiet
pair pass "$RUNS" "$RUNS" "$BIN run write_note --payload '$pass'" "$PY $RUN_PY '$pass'" \
  --prepare 'rm -f workspace/notes/today.md'
pair block "$RUNS" "$RUNS" "$BIN run write_note --payload '$block'" "$PY $RUN_PY '$block'" -i
pair pass_nosync "$RUNS" "$RUNS" "eatmydata $BIN run write_note --payload '$pass'" \
  "eatmydata $PY $RUN_PY '$pass'" --prepare 'rm -f workspace/notes/today.md'

echo "== the Claude Code hook (PreToolUse), each tool's default hook policies"
hook=$work/hook
mkdir -p "$hook"
cd "$hook"
event() {
  printf '{"session_id": "bench", "transcript_path": "%s/t.jsonl", "cwd": "%s", "hook_event_name": "PreToolUse", "tool_name": "Bash", "tool_input": {"command": "%s"}}\n' \
    "$hook" "$hook" "$1"
}
event 'cargo test --workspace -q' > allow.json
event 'terraform destroy -auto-approve' > deny.json
"$work/venv/bin/enact-code-hook" init 2>/dev/null
# The original's hook is its console script's module, run the same way as its workflows.
HOOK_PY="$PY -m enact.cli.code_hook pre"
[ -z "$($HOOK_PY < allow.json)" ] || { echo "the original did not allow the allow event" >&2; exit 1; }
$HOOK_PY < deny.json | grep -q '"deny"' || { echo "the original did not deny the deny event" >&2; exit 1; }
hook_available=no
if "$BIN" hook --help >/dev/null 2>&1; then
  hook_available=yes
  # Its own store: the original writes its deny receipts into ./receipts.
  echo 'receipts: ./enact_receipts' > enact.yaml
  # A denial exits 2 (Claude Code blocks on it whatever it parses): only the answer is judged.
  if ("$BIN" hook claude-code < allow.json || true) | grep -q '"deny"'; then
    echo "enact hook did not allow the allow event" >&2; exit 1
  fi
  ("$BIN" hook claude-code < deny.json 2>/dev/null || true) | grep -q '"permissionDecision":"deny"' \
    || { echo "enact hook did not deny the deny event" >&2; exit 1; }
fi
enact_allow="" enact_deny=""
if [ "$hook_available" = yes ]; then
  enact_allow="$BIN hook claude-code < allow.json" enact_deny="$BIN hook claude-code < deny.json"
else
  echo "   enact hook: n/a (enact hook not available)"
fi
quiet
pair hook_allow "$RUNS" "$RUNS" "$enact_allow" "$HOOK_PY < allow.json"
pair hook_deny "$RUNS" "$RUNS" "$enact_deny" "$HOOK_PY < deny.json" -i  # a denial exits 2

echo "== verification of receipts from disk"
cd "$work"
FILL_PY=$compare/python/fill_receipts.py
VERIFY_PY=$compare/python/verify_receipts.py
for n in 1000 "$N_BIG"; do
  echo "   filling two stores of $n receipts ..."
  eatmydata "$FILL" "store_$n" "$n"
  eatmydata $PY "$FILL_PY" "py_$n" "$n"
  echo "receipts: ./store_$n" > "verify_$n.yaml"
  echo "   receipt size: enact $(( $(du -sb "store_$n" | cut -f1) / n )) B, original $(( $(du -sb "py_$n" | cut -f1) / n )) B on average (directory included)" \
    | tee -a "$results/load.txt"
done
# The page cache is warm for both: each store was just written, and hyperfine warms up.
quiet
pair verify_1k "$RUNS" 10 "$BIN verify --config verify_1000.yaml" "$PY $VERIFY_PY py_1000"
pair verify_big 10 4 "$BIN verify --config verify_$N_BIG.yaml" "$PY $VERIFY_PY py_$N_BIG"
quiet

echo
echo "== $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, Python $PY_VERSION, hook: $hook_available"
python3 - "$results" "$N_BIG" <<'PY'
import glob, json, os, statistics, sys
results, n_big = sys.argv[1], int(sys.argv[2])

def runs(key, side):
    """Both halves' results of one side of a pair: (wall times, mean CPU time user + system)."""
    times, cpu = [], 0.0
    for path in glob.glob(os.path.join(results, f"{key}.{side}.*.json")):
        result = json.load(open(path))["results"][0]
        times += result["times"]
        cpu += (result["user"] + result["system"]) * len(result["times"])
    return (times, cpu / len(times)) if times else (None, None)

def ms(seconds):
    return "n/a (enact hook not available)" if seconds is None else f"{seconds * 1000:.1f} ms"

def us(ns):
    return f"{ns / 1000:.1f} µs"

rows = []
for row in json.load(open(os.path.join(results, "inprocess.json"))):
    if row["cedar"] is None:
        continue
    e, c = row["enact"]["median_ns"], row["cedar"]["median_ns"]
    rows.append((row["what"], "Cedar", us(e), us(c), f"{c / e:.2f}×", "(one thread)"))
pairs = [
    ("PASS run: ten filesystem policies, one file write", "pass"),
    ("BLOCK run", "block"),
    ("PASS run, fsync disabled for both (eatmydata)", "pass_nosync"),
    ("Claude Code hook call, allow", "hook_allow"),
    ("Claude Code hook call, deny", "hook_deny"),
    ("verify 1,000 receipts from disk", "verify_1k"),
    (f"verify {n_big:,} receipts from disk", "verify_big"),
]
for label, key in pairs:
    (e_times, e_cpu), (p_times, p_cpu) = runs(key, "enact"), runs(key, "python")
    e = statistics.median(e_times) if e_times else None
    p = statistics.median(p_times) if p_times else None
    ratio = "—" if e is None or p is None else f"{p / e:.1f}×"
    cpu_ratio = "—" if e is None or p is None else f"{p_cpu / e_cpu:.1f}×"
    rows.append((label, "Python original", ms(e), ms(p), ratio, cpu_ratio))

headers = ("median of each", "anchor", "Enact", "anchor's", "anchor ÷ Enact", "CPU time ÷")
widths = [max(len(r[i]) for r in rows + [headers]) for i in range(len(headers))]
line = lambda r: "  ".join(c.ljust(w) if i < 2 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths)))
print(line(headers))
print("  ".join("-" * w for w in widths))
for r in rows:
    print(line(r))
print()
print("anchor ÷ Enact: the anchor's median wall time over Enact's; above 1, Enact is that many")
print("times faster. CPU time ÷: the same for mean user + system CPU time, which other work on")
print("the machine disturbs less (enact verify uses every core, so its CPU time exceeds its wall time).")
PY
echo "load during the timings:"
sed 's/^/  /' "$results/load.txt"
