"""Writes N signed receipts of a write_note run with the Python original's own functions
(build_receipt, sign_receipt, write_receipt), the counterpart of examples/fill_store.rs: the
same payload, ten PASS policy results and one write action per receipt.

Usage: python fill_receipts.py DIR N   (secret in ENACT_SECRET)
"""
import os
import sys

from enact.models import ActionResult, PolicyResult
from enact.receipt import build_receipt, sign_receipt, write_receipt

POLICIES = [
    "dont_read_env", "dont_touch_ci_cd", "dont_edit_gitignore", "dont_access_home_dir",
    "dont_copy_api_keys", "block_extensions", "restrict_paths", "dont_read_sensitive_paths",
    "dont_commit_api_keys", "block_prompt_injection",
]


def main() -> int:
    directory, count = sys.argv[1], int(sys.argv[2])
    secret = os.environ["ENACT_SECRET"]
    for i in range(count):
        path = f"notes/note-{i}.md"
        receipt = build_receipt(
            workflow="write_note",
            user_email="agent@example.com",
            payload={"path": path, "content": "A note written by the benchmark.\n"},
            policy_results=[
                PolicyResult(policy=p, passed=True, reason="nothing to object to") for p in POLICIES
            ],
            decision="PASS",
            actions_taken=[
                ActionResult(
                    action="write_file",
                    system="filesystem",
                    success=True,
                    output={"path": path, "already_done": False},
                    rollback_data={"path": path, "previous_content": None},
                )
            ],
        )
        write_receipt(sign_receipt(receipt, secret), directory)
    return 0


if __name__ == "__main__":
    sys.exit(main())
