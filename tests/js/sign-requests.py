# Signs device requests with the Standard Webhooks reference library for Python (PyPI
# `standardwebhooks`, installed by scripts/setup.sh), so the worker is checked against a signer
# it did not write. stdin: a JSON list of {"secret", "id", "timestamp" (epoch s), "body"};
# stdout: a JSON list of the `webhook-signature` header values, in order.
import json
import sys
from datetime import datetime, timezone

from standardwebhooks import Webhook

signers = {}
out = []
for r in json.load(sys.stdin):
    signer = signers.setdefault(r["secret"], Webhook(r["secret"]))
    out.append(signer.sign(r["id"], datetime.fromtimestamp(r["timestamp"], tz=timezone.utc), r["body"]))
json.dump(out, sys.stdout)
