"""Verifies every receipt in a directory with the Python original's own functions
(enact/receipt.py: the Receipt model as load_receipt reads it, then verify_signature, as
EnactClient.rollback does before it trusts a receipt). The original has no command for this and
no chain between receipts: each file is checked on its own.

Usage: python verify_receipts.py DIR   (secret in ENACT_SECRET). Exit 1 if any receipt fails.
"""
import json
import os
import sys

from enact.models import Receipt
from enact.receipt import verify_signature


def main() -> int:
    directory = sys.argv[1]
    secret = os.environ["ENACT_SECRET"]
    checked = bad = 0
    with os.scandir(directory) as entries:
        for entry in entries:
            if not entry.name.endswith(".json"):
                continue
            with open(entry.path) as f:
                receipt = Receipt.model_validate(json.load(f))
            checked += 1
            if not verify_signature(receipt, secret):
                bad += 1
    print(f"{checked} receipts, {bad} invalid")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
