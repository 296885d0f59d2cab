# A real SMTP server for the notify email tests (aiosmtpd, Debian python3-aiosmtpd).
# Usage: MODE(plain|starttls|tls) OUTDIR CERT KEY; prints "PORT n" when listening.
# AUTH is required: user "alerts", password "s3cret". Each message is saved as
# OUTDIR/N.eml with X-Peer-Auth / X-Peer-TLS / X-Peer-Rcpt lines first.
import os, socket, ssl, sys, time
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult

mode, outdir, cert, key = sys.argv[1:5]

def authenticator(server, session, envelope, mechanism, auth_data):
    ok = auth_data.login == b"alerts" and auth_data.password == b"s3cret"
    return AuthResult(success=ok, handled=False, auth_data=auth_data)

class Handler:
    async def handle_DATA(self, server, session, envelope):
        n = len(os.listdir(outdir))
        tls = server.transport.get_extra_info("ssl_object") is not None
        login = session.auth_data.login.decode() if session.authenticated else "-"
        tmp = os.path.join(outdir, f".{n}.tmp")
        with open(tmp, "wb") as f:
            f.write(f"X-Peer-Auth: {login}\r\nX-Peer-TLS: {tls}\r\nX-Peer-Rcpt: {','.join(envelope.rcpt_tos)}\r\n".encode())
            f.write(envelope.original_content)
        os.rename(tmp, os.path.join(outdir, f"{n}.eml"))
        return "250 OK"

s = socket.socket(); s.bind(("127.0.0.1", 0)); port = s.getsockname()[1]; s.close()
ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
ctx.load_cert_chain(cert, key)
kw = dict(authenticator=authenticator, auth_required=True)
if mode == "plain":
    c = Controller(Handler(), hostname="127.0.0.1", port=port, auth_require_tls=False, **kw)
elif mode == "starttls":
    c = Controller(Handler(), hostname="127.0.0.1", port=port, tls_context=ctx, require_starttls=True, **kw)
else:
    # Implicit TLS: the whole session is encrypted, so AUTH needs no STARTTLS.
    c = Controller(Handler(), hostname="127.0.0.1", port=port, ssl_context=ctx, auth_require_tls=False, **kw)
c.start()
print(f"PORT {port}", flush=True)
while True:
    time.sleep(3600)
