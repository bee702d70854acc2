"""Verifies the DKIM signature of one received message against a given public key record.

Usage: dkim_verify.py MESSAGE.eml "v=DKIM1; k=rsa; p=…"
Exits 0 and prints "pass" when the signature verifies (DNS is answered with the record).
"""
import sys

import dkim


def main():
    raw = open(sys.argv[1], "rb").read()
    # Drop the test server's own first line (X-Envelope-To), added after signing.
    raw = raw.split(b"\r\n", 1)[1] if raw.startswith(b"X-Envelope-To") else raw
    record = sys.argv[2].encode()
    ok = dkim.verify(raw, dnsfunc=lambda name, timeout=5: record)
    print("pass" if ok else "fail")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
