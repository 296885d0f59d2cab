# A real HTTP server for the notify webhook tests (Python's http.server).
# Usage: OUTDIR FAILURES STATUS; prints "PORT n" when listening.
# The first FAILURES POSTs are answered with STATUS; later ones with 204.
# Every POST is saved as OUTDIR/N.json (body) and OUTDIR/N.hdr (headers).
import http.server, os, sys

outdir, failures, status = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
count = 0

class Handler(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        global count
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        n = count
        count += 1
        with open(os.path.join(outdir, f"{n}.hdr"), "w") as f:
            f.write(f"{self.command} {self.path}\n{self.headers}")
        tmp = os.path.join(outdir, f".{n}.tmp")
        with open(tmp, "wb") as f:
            f.write(body)
        os.rename(tmp, os.path.join(outdir, f"{n}.json"))
        code = status if n < failures else 204
        self.send_response(code)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass

server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
print(f"PORT {server.server_address[1]}", flush=True)
server.serve_forever()
