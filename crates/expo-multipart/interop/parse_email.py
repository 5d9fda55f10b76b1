"""Parses multipart bodies with Python's standard `email` package.

stdin:  JSON [{"contentType": str, "body": base64}]
stdout: JSON [{"ok": true, "defects": [str], "parts": [{"headers": [[name, value_b64]], "body": base64}]}
              | {"ok": false, "error": str}]

The body is wrapped in a message whose only header is the given
content-type, the way an HTTP client would hand it over.
"""

import base64
import json
import sys
from email import policy
from email.parser import BytesParser


def raw(value):
    # compat32 keeps undecodable header bytes as surrogate escapes.
    return str(value).encode("ascii", "surrogateescape")


def parse(content_type, body):
    message = BytesParser(policy=policy.compat32).parsebytes(
        b"Content-Type: " + content_type.encode("ascii") + b"\r\n\r\n" + body
    )
    if not message.is_multipart():
        return {"ok": False, "error": "not multipart"}
    parts = []
    for part in message.get_payload():
        payload = part.get_payload(decode=True)
        if payload is None:
            payload = b""
        parts.append(
            {
                "headers": [
                    [name, base64.b64encode(raw(value)).decode("ascii")]
                    for name, value in part.raw_items()
                ],
                "body": base64.b64encode(payload).decode("ascii"),
            }
        )
    return {
        "ok": True,
        "defects": [type(d).__name__ for d in message.defects],
        "parts": parts,
    }


def main():
    cases = json.load(sys.stdin)
    results = []
    for case in cases:
        try:
            results.append(parse(case["contentType"], base64.b64decode(case["body"])))
        except Exception as error:  # report, don't crash: the test decides
            results.append({"ok": False, "error": repr(error)})
    json.dump(results, sys.stdout)


if __name__ == "__main__":
    main()
