#!/usr/bin/env python3
"""SigV4 presigned GETs, checked and made by botocore: the independent signer the local
storage host (storage-host.ts) checks every presigned URL with before it serves a byte, and
that test/e2e/delivery.test.ts compares the registry's URLs against.

One JSON object per line on stdin, one answer per line on stdout, in order:
  {"op": "check", "method", "url", "accessKeyId", "secretAccessKey", "region", "now"}
      -> {"ok": true} or {"ok": false, "code": "SignatureDoesNotMatch" | "AccessDenied" | ...,
          "reason": "..."}
  {"op": "sign", "method", "url", "accessKeyId", "secretAccessKey", "region", "expires",
   "timestamp"} -> {"url": botocore's presigned URL}
`url` is the whole URL as the client asked for it (scheme, host with port, path, query).
Debian's python3-botocore (1.29) and later releases both work: only the signer's steps are
called, with the timestamp the URL names instead of the clock's.
"""

import calendar
import hmac
import json
import sys
import time
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from botocore.auth import S3SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

AUTH_PARAMS = {
    "X-Amz-Algorithm",
    "X-Amz-Credential",
    "X-Amz-Date",
    "X-Amz-Expires",
    "X-Amz-SignedHeaders",
    "X-Amz-Signature",
}
# S3 refuses a URL dated more than 15 minutes ahead of its clock.
MAX_CLOCK_SKEW_SECONDS = 15 * 60


class FixedTimeSigner(S3SigV4QueryAuth):
    """botocore's S3 query signer, at a given timestamp rather than now."""

    def __init__(self, credentials, region, expires, timestamp):
        super().__init__(credentials, "s3", region, expires=expires)
        self._timestamp = timestamp

    def add_auth(self, request):
        request.context["timestamp"] = self._timestamp
        self._modify_request_before_signing(request)
        canonical_request = self.canonical_request(request)
        string_to_sign = self.string_to_sign(request, canonical_request)
        self._inject_signature_to_request(request, self.signature(string_to_sign, request))


def botocore_url(method, url, key_id, secret, region, expires, timestamp):
    request = AWSRequest(method=method, url=url)
    FixedTimeSigner(Credentials(key_id, secret), region, expires, timestamp).add_auth(request)
    return request.url


def check(job):
    parts = urlsplit(job["url"])
    pairs = parse_qsl(parts.query, keep_blank_values=True)
    given = dict(pairs)
    if given.get("X-Amz-Algorithm") != "AWS4-HMAC-SHA256" or "X-Amz-Signature" not in given:
        return {"ok": False, "code": "AccessDenied", "reason": "not a SigV4 presigned URL"}
    stamp = given.get("X-Amz-Date", "")
    try:
        signed_at = calendar.timegm(time.strptime(stamp, "%Y%m%dT%H%M%SZ"))
        expires = int(given.get("X-Amz-Expires", ""))
    except ValueError:
        return {"ok": False, "code": "AuthorizationQueryParametersError", "reason": "bad X-Amz-Date or X-Amz-Expires"}
    scope = f"{job['accessKeyId']}/{stamp[:8]}/{job['region']}/s3/aws4_request"
    if given.get("X-Amz-Credential") != scope:
        return {"ok": False, "code": "InvalidAccessKeyId", "reason": f"credential is not {scope}"}
    if given.get("X-Amz-SignedHeaders") != "host":
        return {"ok": False, "code": "AccessDenied", "reason": "signed headers other than host"}
    now = job["now"]
    if signed_at > now + MAX_CLOCK_SKEW_SECONDS:
        return {"ok": False, "code": "AccessDenied", "reason": "dated in the future"}
    if now > signed_at + expires:
        return {"ok": False, "code": "AccessDenied", "reason": "Request has expired"}
    rest = urlencode([(k, v) for k, v in pairs if k not in AUTH_PARAMS])
    unsigned = urlunsplit((parts.scheme, parts.netloc, parts.path, rest, ""))
    expected = botocore_url(
        job["method"], unsigned, job["accessKeyId"], job["secretAccessKey"], job["region"], expires, stamp
    )
    want = dict(parse_qsl(urlsplit(expected).query))["X-Amz-Signature"]
    if not hmac.compare_digest(want, given["X-Amz-Signature"]):
        return {"ok": False, "code": "SignatureDoesNotMatch", "reason": "signature does not match botocore's"}
    return {"ok": True}


def sign(job):
    url = botocore_url(
        job["method"],
        job["url"],
        job["accessKeyId"],
        job["secretAccessKey"],
        job["region"],
        job["expires"],
        job["timestamp"],
    )
    return {"url": url}


def main():
    for line in sys.stdin:
        if not line.strip():
            continue
        try:
            job = json.loads(line)
            answer = sign(job) if job.get("op") == "sign" else check(job)
        except Exception as error:  # a malformed job is answered, never the end of the checker
            answer = {"ok": False, "code": "InternalError", "reason": repr(error)}
        sys.stdout.write(json.dumps(answer) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
