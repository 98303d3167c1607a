#!/usr/bin/env bash
# Instruction counts (valgrind --tool=callgrind), so a regression shows without wall-clock noise:
# the same binary, input and environment give the same count whatever else the machine does.
#   - one `enact hook claude-code` call, whole process: a Bash call allowed and one denied, and a
#     Read allowed (needs the hook: prints "n/a" until `enact hook` exists);
#   - evaluating the whole built-in library once at action level, and one decision of the
#     20-policy scenario by Enact and by Cedar (benches/compare/), each as the difference between
#     running K+1 and 1 evaluations after loading, divided by K: loading is left out;
#   - the whole process that parses, checks and binds the library and evaluates it once.
# Counts are user-space instructions (no kernel time, no fsync wait). Needs valgrind.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
compare=$repo/benches/compare
command -v valgrind >/dev/null || { echo "callgrind.sh needs valgrind (apt-get install valgrind)" >&2; exit 2; }
cd "$repo"
cargo build --release --quiet --bin enact
CARGO_TARGET_DIR=$compare/target cargo build --release --quiet --manifest-path "$compare/Cargo.toml"
BIN=$repo/target/release/enact
COMPARE=$compare/target/release/enact-compare
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# count COMMAND... < stdin: the total instructions callgrind saw in the whole process tree's
# main process. The command must exit with EXPECT_STATUS (default 0; a hook denial exits 2).
count() {
  local status=0
  valgrind --tool=callgrind --callgrind-out-file="$work/callgrind.out" "$@" >/dev/null 2>"$work/valgrind.log" \
    || status=$?
  if [ "$status" -ne "${EXPECT_STATUS:-0}" ]; then
    cat "$work/valgrind.log" >&2
    echo "exit status $status, expected ${EXPECT_STATUS:-0}: $*" >&2
    return 1
  fi
  awk '/^(summary|totals):/ { print $2; exit }' "$work/callgrind.out"
}

# per_decision WHAT K: (count(K+1 evaluations) - count(1 evaluation)) / K.
per_decision() {
  local what=$1 k=$2 one many
  one=$(count "$COMPARE" once "$what" 1)
  many=$(count "$COMPARE" once "$what" $((k + 1)))
  echo $(( (many - one) / k ))
}

rows=()
row() { rows+=("$(printf '%-70s %15s' "$1" "$2")"); }

export ENACT_SECRET=bench-secret-0123456789abcdef0123456789
cd "$work"
if "$BIN" hook --help >/dev/null 2>&1; then
  echo 'receipts: ./receipts' > enact.yaml
  event() {
    printf '{"session_id": "bench", "transcript_path": "%s/t.jsonl", "cwd": "%s", "hook_event_name": "PreToolUse", "tool_name": "Bash", "tool_input": {"command": "%s"}}\n' \
      "$work" "$work" "$1"
  }
  event 'cargo test --workspace -q' > allow.json
  event 'terraform destroy -auto-approve' > deny.json
  printf '{"session_id": "bench", "transcript_path": "%s/t.jsonl", "cwd": "%s", "hook_event_name": "PreToolUse", "tool_name": "Read", "tool_input": {"file_path": "%s/src/main.rs"}}\n' \
    "$work" "$work" "$work" > read.json
  "$BIN" hook claude-code < allow.json >/dev/null # the store exists before the counted calls
  row "enact hook claude-code, allow Bash (whole process)" "$(count "$BIN" hook claude-code < allow.json)"
  row "enact hook claude-code, deny Bash (whole process)" "$(EXPECT_STATUS=2 count "$BIN" hook claude-code < deny.json)"
  row "enact hook claude-code, allow Read (whole process)" "$(count "$BIN" hook claude-code < read.json)"
else
  for what in "allow Bash" "deny Bash" "allow Read"; do
    row "enact hook claude-code, $what (whole process)" "n/a (enact hook not available)"
  done
fi
row "built-in library, one evaluation (all policies, action level)" "$(per_decision library 20)"
row "built-in library, parsed, checked, bound and evaluated once (process)" "$(count "$COMPARE" once library 1)"
row "scenario, one Enact decision (20 policies, request pre-parsed)" "$(per_decision enact 340)"
row "scenario, one Enact decision from raw JSON" "$(per_decision enact-json 340)"
row "scenario, one Enact decision parsing the SQL text" "$(per_decision enact-sql-text 340)"
row "scenario, one Cedar decision (20 policies, request pre-parsed)" "$(per_decision cedar 340)"
row "scenario, one Cedar decision from raw JSON" "$(per_decision cedar-json 340)"

echo
printf '%-70s %15s\n' "callgrind, $(date -u +%Y-%m-%d)" "instructions"
printf '%s\n' "${rows[@]}"
