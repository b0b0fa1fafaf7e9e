#!/usr/bin/env python3
"""Generate Kinesis SigV4 vectors with botocore, an independent signer.

For each request it records botocore's canonical request, string to sign and Authorization
header, with the clock fixed by patching botocore.auth.get_current_datetime. The native test
tests/botocore_vectors.rs checks the core signer against every field.

Regenerate (inside its own virtualenv, so the machine's Python packages stay untouched):
    python3 -m venv /tmp/botocore-venv && /tmp/botocore-venv/bin/pip install botocore==1.44.8
    /tmp/botocore-venv/bin/python tests/vectors/gen_botocore_vectors.py > tests/vectors/kinesis-botocore.json
"""
import base64
import datetime
import json

import botocore
import botocore.auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

ACCESS_KEY = "AKIDEXAMPLE"
SECRET_KEY = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
TOKEN = "IQoJb3JpZ2luX2VjEXAMPLETOKEN/with+slash="


def put_records_body(records, stream_name=None, stream_arn=None):
    """The body as kinesis-edge writes it: compact JSON, records first, then the stream fields."""
    body = {"Records": [
        {"Data": base64.b64encode(data).decode(), "PartitionKey": key, **({"ExplicitHashKey": ehk} if ehk else {})}
        for data, key, ehk in records
    ]}
    if stream_name:
        body["StreamName"] = stream_name
    if stream_arn:
        body["StreamARN"] = stream_arn
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()


CASES = [
    dict(name="put-records-name", region="us-east-1", url="https://kinesis.us-east-1.amazonaws.com/",
         when="2026-11-25T17:36:00", token=False,
         body=put_records_body([(b'{"t":21.5}', "device-1", None)], stream_name="readings")),
    dict(name="put-records-token", region="eu-west-1", url="https://kinesis.eu-west-1.amazonaws.com/",
         when="2026-02-28T23:59:59", token=True,
         body=put_records_body([(b"\x00\x01\xff", "k", "340282366920938463463374607431768211455"),
                                (b"", "\u00e9t\u00e9 \"quoted\"", None)], stream_name="readings")),
    dict(name="put-records-arn-local", region="us-west-2", url="http://127.0.0.1:4567/",
         when="2024-02-29T00:00:00", token=False,
         body=put_records_body([(b"x" * 300, "device-%d" % i, None) for i in range(5)],
                               stream_name="s", stream_arn="arn:aws:kinesis:us-west-2:123456789012:stream/s")),
    dict(name="put-records-china", region="cn-north-1", url="https://kinesis.cn-north-1.amazonaws.com.cn/",
         when="2030-01-01T00:00:00", token=True,
         body=put_records_body([(b"hello", "k", None)], stream_name="a.b_c-d")),
    dict(name="list-shards-custom-port", region="ap-southeast-2", url="https://vpce-1.kinesis.example.com:8443/",
         when="2026-06-15T12:00:00", token=False, target="Kinesis_20131202.ListShards",
         body=b'{"StreamName":"readings"}'),
]


def main():
    out = {"botocore": botocore.__version__, "access_key_id": ACCESS_KEY, "secret_access_key": SECRET_KEY,
           "session_token": TOKEN, "cases": []}
    for case in CASES:
        when = datetime.datetime.fromisoformat(case["when"])
        botocore.auth.get_current_datetime = lambda when=when: when
        creds = Credentials(ACCESS_KEY, SECRET_KEY, TOKEN if case["token"] else None)
        headers = {
            "Content-Type": "application/x-amz-json-1.1",
            "X-Amz-Target": case.get("target", "Kinesis_20131202.PutRecords"),
        }
        request = AWSRequest(method="POST", url=case["url"], data=case["body"], headers=headers)
        signer = botocore.auth.SigV4Auth(creds, "kinesis", case["region"])
        signer.add_auth(request)
        authorization = request.headers["Authorization"]
        # Recompute the intermediate strings as add_auth saw them: before its Authorization header.
        del request.headers["Authorization"]
        canonical = signer.canonical_request(request)
        out["cases"].append({
            "name": case["name"],
            "region": case["region"],
            "url": case["url"],
            "time": case["when"] + "Z",
            "session_token": case["token"],
            "headers": [[k.lower(), v] for k, v in headers.items()],
            "body_base64": base64.b64encode(case["body"]).decode(),
            "canonical_request": canonical,
            "string_to_sign": signer.string_to_sign(request, canonical),
            "authorization": authorization,
        })
    print(json.dumps(out, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
