"""A real SMTP server for the alert suite (aiosmtpd): accepts every message, requires AUTH when a user is
given, and prints one JSON line per message on stdout. tests/kit/smtp-server.ts starts it from the venv
that tests/kit/setup.sh makes."""
import argparse
import email
import json
import sys
import threading
from email import policy

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult


class Recorder:
    async def handle_DATA(self, server, session, envelope):
        msg = email.message_from_bytes(envelope.content, policy=policy.default)
        body = msg.get_body(preferencelist=("plain",))
        login = session.auth_data
        print(json.dumps({
            "from": envelope.mail_from,
            "to": envelope.rcpt_tos,
            "subject": str(msg["subject"]),
            "text": body.get_content() if body is not None else "",
            "login": login.decode() if isinstance(login, bytes) else login,
        }), flush=True)
        return "250 Message accepted for delivery"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--user")
    ap.add_argument("--password")
    args = ap.parse_args()

    def authenticator(server, session, envelope, mechanism, auth_data):
        ok = args.user is not None and auth_data.login == args.user.encode() and auth_data.password == args.password.encode()
        return AuthResult(success=ok, handled=False, auth_data=auth_data.login if ok else None)

    extra = {"authenticator": authenticator, "auth_require_tls": False, "auth_required": True} if args.user else {}
    controller = Controller(Recorder(), hostname="127.0.0.1", port=args.port, **extra)
    controller.start()
    print(json.dumps({"ready": True}), flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        controller.stop()


if __name__ == "__main__":
    sys.exit(main())
