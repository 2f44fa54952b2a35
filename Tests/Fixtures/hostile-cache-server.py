#!/usr/bin/env python3
"""A Bazel HTTP remote cache that misbehaves on purpose, for kbuild's resource-bound tests.

usage: hostile-cache-server.py MODE OUTPUT_PATH DECLARED_SIZE STATS_FILE

Every GET /ac/<key> answers one action record naming OUTPUT_PATH with DECLARED_SIZE bytes (or a
hostile path, per MODE); GET /cas/<hash> misbehaves per MODE:
  endless    200, no length, zeros until the client goes away
  announce   200, Content-Length 10^15, zeros until the client goes away
  short      200, Content-Length DECLARED_SIZE, half of it, then the connection closes
  trickle    200, Content-Length DECLARED_SIZE, one byte every 2 s
  redirect   302 to another port of 127.0.0.1
  escape     the record names ../../escaped (and /etc/escaped)
  huge       the record declares 10^15 bytes
The body bytes the server managed to send are written to STATS_FILE as each response ends.
The first line on stdout is the port it listens on (127.0.0.1).
"""
import json
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

MODE, OUTPUT, SIZE, STATS = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
HASH = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
CHUNK = b"\0" * (1 << 20)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0"

    def log_message(self, *args):
        pass

    def do_GET(self):
        if self.path.startswith("/ac/"):
            return self.record()
        if not self.path.startswith("/cas/"):
            return self.send_error(404)
        sent = 0
        try:
            if MODE == "redirect":
                self.send_response(302)
                self.send_header("Location", "http://127.0.0.1:9/cas/" + HASH)
                self.end_headers()
                return
            self.send_response(200)
            if MODE == "announce":
                self.send_header("Content-Length", str(10**15))
            elif MODE in ("short", "trickle"):
                self.send_header("Content-Length", str(SIZE))
            self.end_headers()
            if MODE == "short":
                half = SIZE // 2
                while sent < half:
                    piece = CHUNK[: min(len(CHUNK), half - sent)]
                    self.wfile.write(piece)
                    sent += len(piece)
            elif MODE == "trickle":
                while sent < SIZE:
                    self.wfile.write(b"\0")
                    self.wfile.flush()
                    sent += 1
                    time.sleep(2)
            else:
                while True:
                    self.wfile.write(CHUNK)
                    sent += len(CHUNK)
        except (BrokenPipeError, ConnectionResetError):
            pass
        finally:
            with open(STATS, "w") as stats:
                stats.write(str(sent))

    def record(self):
        files = [{"path": OUTPUT, "digest": {"hash": HASH, "sizeBytes": str(SIZE)}, "isExecutable": True}]
        if MODE == "escape":
            files = [
                {"path": "../../escaped", "digest": {"hash": HASH, "sizeBytes": "1"}},
                {"path": "/etc/escaped", "digest": {"hash": HASH, "sizeBytes": "1"}},
            ]
        elif MODE == "huge":
            files[0]["digest"]["sizeBytes"] = str(10**15)
        body = json.dumps({"outputFiles": files}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
server.daemon_threads = True
print(server.server_address[1], flush=True)
server.serve_forever()
