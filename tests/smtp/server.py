"""A real SMTP server for the test suite (aiosmtpd).

Usage: server.py PORT DIR
Every accepted message is written to DIR as <n>.eml (the raw message as received, with the
envelope recipients in an X-Envelope-To header first). Recipients whose local part starts
with "bounce" are refused with 550 at RCPT, as a server refuses an unknown mailbox.
Prints "ready" once listening; stops on SIGTERM.
"""
import asyncio
import email
import email.policy
import json
import os
import signal
import sys

from aiosmtpd.controller import Controller


class Keep:
    def __init__(self, directory):
        self.directory = directory
        self.count = 0

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.split("@")[0].startswith("bounce"):
            return "550 5.1.1 No such user here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.count += 1
        name = os.path.join(self.directory, f"{os.getpid()}-{self.count:06d}.eml")
        head = "X-Envelope-To: " + ", ".join(envelope.rcpt_tos) + "\r\n"
        with open(name + ".tmp", "wb") as f:
            f.write(head.encode() + envelope.original_content)
        # The parsed message beside it, decoded (quoted-printable, base64, encoded words), so the
        # tests read what a mail client would show.
        msg = email.message_from_bytes(envelope.original_content, policy=email.policy.default)
        parts = {}
        inline = []
        for part in msg.walk():
            if part.get_content_type() in ("text/plain", "text/html") and not part.is_multipart():
                parts[part.get_content_type()] = part.get_content()
            elif not part.is_multipart():
                inline.append({
                    "content_type": part.get_content_type(),
                    "content_id": str(part["Content-ID"]) if part["Content-ID"] else None,
                    "disposition": part.get_content_disposition(),
                    "size": len(part.get_payload(decode=True) or b""),
                })
        parsed = {
            "to": envelope.rcpt_tos,
            "from": str(msg["From"]),
            "subject": str(msg["Subject"]),
            "message_id": str(msg["Message-ID"]),
            "date": str(msg["Date"]),
            "reply_to": str(msg["Reply-To"]) if msg["Reply-To"] else None,
            "list_unsubscribe": str(msg["List-Unsubscribe"]) if msg["List-Unsubscribe"] else None,
            "list_unsubscribe_post": str(msg["List-Unsubscribe-Post"]) if msg["List-Unsubscribe-Post"] else None,
            "dkim": msg["DKIM-Signature"] is not None,
            "text": parts.get("text/plain"),
            "html": parts.get("text/html"),
            "inline": inline,
            "file": name,
        }
        with open(name + ".json.tmp", "w") as f:
            json.dump(parsed, f)
        os.rename(name + ".tmp", name)
        os.rename(name + ".json.tmp", name + ".json")
        return "250 Message accepted for delivery"


def main():
    port, directory = int(sys.argv[1]), sys.argv[2]
    os.makedirs(directory, exist_ok=True)
    controller = Controller(Keep(directory), hostname="127.0.0.1", port=port)
    controller.start()
    print("ready", flush=True)
    stop = asyncio.Event()
    loop = asyncio.new_event_loop()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    loop.add_signal_handler(signal.SIGINT, stop.set)
    loop.run_until_complete(stop.wait())
    controller.stop()


if __name__ == "__main__":
    main()
