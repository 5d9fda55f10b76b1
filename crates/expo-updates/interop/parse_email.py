"""Reads multipart answers with Python's standard `email` package.

stdin:  JSON [{"contentType": str, "body": base64, ...}]
stdout: JSON [{"ok": true, "defects": [str], "parts": [{"name": str | null,
               "headers": [[name, value]], "body": base64}]} | {"ok": false, "error": str}]
"""

import base64
import json
import sys
from email import policy
from email.parser import BytesParser


def parse(content_type, body):
    message = BytesParser(policy=policy.compat32).parsebytes(
        b"Content-Type: " + content_type.encode("ascii") + b"\r\n\r\n" + body
    )
    if not message.is_multipart():
        return {"ok": False, "error": "not multipart"}
    parts = []
    for part in message.get_payload():
        payload = part.get_payload(decode=True) or b""
        parts.append(
            {
                "name": part.get_param("name", header="content-disposition"),
                "headers": [[name, str(value)] for name, value in part.raw_items()],
                "body": base64.b64encode(payload).decode("ascii"),
            }
        )
    defects = [type(d).__name__ for d in message.defects]
    return {"ok": True, "defects": defects, "parts": parts}


def main():
    results = []
    for case in json.load(sys.stdin):
        try:
            results.append(parse(case["contentType"], base64.b64decode(case["body"])))
        except Exception as error:  # reported, the test decides
            results.append({"ok": False, "error": repr(error)})
    json.dump(results, sys.stdout)


if __name__ == "__main__":
    main()
