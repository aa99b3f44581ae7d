"""A real SMTP server for the mail tests: aiosmtpd (PyPI) on 127.0.0.1:<port>.

Every accepted message is parsed with the standard library's email package and appended as one
JSON line to <out> (message id, envelope recipients, decoded subject and body, raw headers), so the
Rust tests can check what a mail client would show. `--delay` holds back each 250 reply that
long after the message is recorded (to kill the sender between delivery and acknowledgement).

    python smtp_sink.py --port 2525 --out /tmp/mails.jsonl [--delay 0.02]
        [--tls starttls|tls --cert server.pem --key server-key.pem] [--user U --password P]

With --tls starttls the server refuses mail before STARTTLS; with --user it requires AUTH (only
over TLS) and records the login each message was sent under.
"""

import argparse
import asyncio
import email
import email.policy
import json
import signal
import ssl

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


class Sink:
    def __init__(self, out, delay):
        self.out = out
        self.delay = delay

    async def handle_DATA(self, server, session, envelope):
        raw = envelope.content if isinstance(envelope.content, bytes) else envelope.content.encode()
        msg = email.message_from_bytes(raw, policy=email.policy.default)
        record = {
            "message_id": str(msg["Message-ID"]),
            "mail_from": envelope.mail_from,
            "rcpt_tos": envelope.rcpt_tos,
            "to": str(msg["To"]),
            "subject": str(msg["Subject"]),
            "raw_subject": next(
                (line.decode("ascii", "replace") for line in raw.split(b"\r\n") if line.lower().startswith(b"subject:")),
                "",
            ),
            "content_type": str(msg["Content-Type"]),
            "body": msg.get_content(),
            "tls": session.ssl is not None or server.transport.get_extra_info("ssl_object") is not None,
            "login": session.auth_data.decode() if isinstance(session.auth_data, bytes) else None,
        }
        with open(self.out, "a", encoding="utf-8") as f:
            f.write(json.dumps(record, ensure_ascii=False) + "\n")
            f.flush()
        if self.delay:
            # Recorded but not yet acknowledged: a sender killed now has delivered a mail it
            # does not know about (the at-least-once case).
            await asyncio.sleep(self.delay)
        return "250 Message accepted for delivery"


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--delay", type=float, default=0.0)
    p.add_argument("--tls", choices=["starttls", "tls"])
    p.add_argument("--cert")
    p.add_argument("--key")
    p.add_argument("--user")
    p.add_argument("--password")
    a = p.parse_args()
    kwargs = {}
    if a.tls:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(a.cert, a.key)
        if a.tls == "starttls":
            kwargs.update(tls_context=context, require_starttls=True)
        else:
            kwargs.update(ssl_context=context)
    if a.user:

        def authenticator(server, session, envelope, mechanism, auth_data):
            ok = (
                isinstance(auth_data, LoginPassword)
                and auth_data.login.decode() == a.user
                and auth_data.password.decode() == a.password
            )
            return AuthResult(success=ok, auth_data=auth_data.login if ok else None)

        # aiosmtpd only knows STARTTLS as "TLS" for AUTH; on an implicit-TLS port the whole
        # connection is TLS already, so its check is turned off there.
        kwargs.update(authenticator=authenticator, auth_required=True, auth_require_tls=a.tls != "tls")
    controller = Controller(Sink(a.out, a.delay), hostname="127.0.0.1", port=a.port, **kwargs)
    controller.start()
    print(f"smtp sink listening on 127.0.0.1:{a.port}", flush=True)
    signal.sigwait([signal.SIGTERM, signal.SIGINT])
    controller.stop()


if __name__ == "__main__":
    # Blocked before the server thread starts, so only sigwait() above sees them.
    signal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGTERM, signal.SIGINT])
    main()
