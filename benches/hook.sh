#!/usr/bin/env bash
# Whole-process latency of one Claude Code hook call (`enact hook claude-code`, one PreToolUse
# event on stdin) with the default policy set, in a project made by `enact hook install`,
# release build:
#   - allow: a Bash call every policy passes, and a Read;
#   - deny: `rm -rf ~` in a shell wrapper, and a Read of .env;
#   - each with its receipt written durably (fsync), and once with fsync disabled (eatmydata)
#     to show how much of a call is the disk;
#   - `enact hook test` of the same allow event (no receipt): the judging alone.
# Needs hyperfine and eatmydata (Debian: apt-get install hyperfine eatmydata).
set -euo pipefail
RUNS=${RUNS:-60}
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
# BIN=path/to/enact measures another build (to compare before and after a change).
if [ -z "${BIN:-}" ]; then
  cargo build --release --quiet --bin enact
  BIN=$repo/target/release/enact
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/project/src"
cd "$work/project"
unset ENACT_SECRET ENACT_FREEZE
export HOME="$work" CLAUDE_PROJECT_DIR="$work/project"
"$BIN" hook install >/dev/null
event() { # TOOL INPUT-JSON
  printf '{"session_id":"bench","transcript_path":"/dev/null","cwd":"%s","permission_mode":"default","hook_event_name":"PreToolUse","tool_name":"%s","tool_input":%s,"tool_use_id":"toolu_bench"}' \
    "$work/project" "$1" "$2"
}
event Bash '{"command":"cargo test --workspace && git push origin agent/fix-42"}' > allow_bash.json
event Read '{"file_path":"src/main.rs"}' > allow_read.json
event Bash '{"command":"FOO=1 sh -c '"'"'rm -rf ~'"'"'"}' > deny_bash.json
event Read '{"file_path":"../project/.env"}' > deny_read.json
# Sanity: the answers are what the names say.
"$BIN" hook claude-code < allow_bash.json | grep -qx '{}'
("$BIN" hook claude-code < deny_bash.json || true) | grep -q '"permissionDecision":"deny"'

hf() { hyperfine --style basic --warmup 5 --runs "$RUNS" -i "$@"; }
hf --export-json allow_bash.json.out -n 'hook, allow (Bash)' "$BIN hook claude-code < allow_bash.json"
hf --export-json allow_read.json.out -n 'hook, allow (Read)' "$BIN hook claude-code < allow_read.json"
hf --export-json deny_bash.json.out -n 'hook, deny (Bash rm -rf ~)' "$BIN hook claude-code < deny_bash.json"
hf --export-json deny_read.json.out -n 'hook, deny (Read .env)' "$BIN hook claude-code < deny_read.json"
hf --export-json nosync.json.out -n 'hook, allow (Bash), fsync disabled' "eatmydata $BIN hook claude-code < allow_bash.json"
hf --export-json judge.json.out -n 'hook test, allow (Bash): judging only, no receipt' "$BIN hook test allow_bash.json"
hf --export-json version.json.out -n 'enact --version (process start-up)' "$BIN --version"

python3 - <<'PY'
import json
rows = []
for name in ["allow_bash", "allow_read", "deny_bash", "deny_read", "nosync", "judge", "version"]:
    r = json.load(open(f"{name}.json.out"))["results"][0]
    rows.append((r["command"], r["median"] * 1000, r["min"] * 1000, r["max"] * 1000))
width = max(len(c) for c, *_ in rows)
print()
print(f"{'command':<{width}}  median ms    min ms    max ms")
for c, med, lo, hi in rows:
    print(f"{c:<{width}}  {med:9.2f} {lo:9.2f} {hi:9.2f}")
PY
"$BIN" verify >/dev/null && echo "receipts of every call verified: $("$BIN" ls --json --limit 100000 | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["receipts"]))')"
