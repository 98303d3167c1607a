"""The Python original (enact-sdk 1.0.0) running the same one-step workflow as `enact run
write_note` in benches/write_note_project.sh: the same ten filesystem policies, one file written into
./workspace, a signed receipt in ./receipts_py. Written from the package's own source
(enact/client.py: EnactClient.run; enact/connectors/filesystem.py: FilesystemConnector), which
has no command line for workflows: a workflow is a Python function registered on a client.

Usage: python run_workflow.py PAYLOAD_JSON   (in the benchmark's project directory)
Exit status as enact's: 0 PASS, 3 BLOCK.
"""
import json
import sys

from enact import EnactClient
from enact.connectors.filesystem import FilesystemConnector
from enact.policies.access import dont_read_sensitive_paths
from enact.policies.filesystem import (
    block_extensions,
    dont_access_home_dir,
    dont_copy_api_keys,
    dont_edit_gitignore,
    dont_read_env,
    dont_touch_ci_cd,
    restrict_paths,
)
from enact.policies.git import dont_commit_api_keys
from enact.policies.prompt_injection import block_prompt_injection


def write_note(context):
    """The workflow: one write through the filesystem connector."""
    files = context.systems["files"]
    return [files.write_file(context.payload["path"], context.payload["content"])]


def main() -> int:
    client = EnactClient(
        systems={"files": FilesystemConnector("workspace", allowed_actions=["write_file"])},
        policies=[
            dont_read_env,
            dont_touch_ci_cd,
            dont_edit_gitignore,
            dont_access_home_dir,
            dont_copy_api_keys,
            block_extensions([".pem", ".key"]),
            restrict_paths(["notes"]),
            dont_read_sensitive_paths(["/etc", "/var/secrets"]),
            dont_commit_api_keys,
            block_prompt_injection,
        ],
        workflows=[write_note],
        receipt_dir="receipts_py",
    )
    result, receipt = client.run(
        workflow="write_note",
        user_email="agent@example.com",
        payload=json.loads(sys.argv[1]),
    )
    print(f"{receipt.decision} {receipt.run_id}")
    return 0 if result.success else 3


if __name__ == "__main__":
    sys.exit(main())
