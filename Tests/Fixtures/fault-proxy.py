#!/usr/bin/env python3
"""A reverse proxy that injects faults between kbuild and a real server, for kbuild's publish tests.

usage: fault-proxy.py [--keep-alive] UPSTREAM_PORT LOG_FILE [RULE_JSON...]

Forwards every request to 127.0.0.1:UPSTREAM_PORT (Host header kept, so a registry's Location URLs
point back at the proxy) and answers with what the server said, unless a rule matches first. A rule
is a JSON object:
  {"method": "PUT", "path": "<regex searched in the path>", "skip": S, "count": N, "action": ...}
`skip` (default 0) lets the first S requests it matches through; `count` (default 0 = every time)
limits the rule to the next N; the first rule that matches and still has a count left acts:
  "status"  answer "status" (with "body" and "headers", defaults a Distribution JSON error) without
            forwarding; the request body is read first so the client sees the answer, not a reset
  "reset"   forward the headers and half the body, then reset the client's connection (RST) and drop
            the server's: a cable pulled in the middle of an upload; with "at": "answer", forward the
            whole request and let the server answer, then reset the client's connection instead of
            passing the answer on (the server did the work, the client never hears of it)
  "digest"  forward, then replace the answer's Docker-Content-Digest with "digest" (default a
            digest of nothing kbuild sent)
One line per request goes to LOG_FILE: `METHOD PATH ACTION STATUS` (ACTION is forward, status,
reset, reset-answered or digest; STATUS is what the client got, - for a reset). Every answer closes
its connection, so a client never reuses one (FoundationNetworking stalls until its timeout when a
reused connection is reset; see docs/publishing.md), unless --keep-alive is given. The first line on stdout is the port
the proxy listens on (127.0.0.1).
"""
import http.client
import json
import re
import socket
import struct
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

KEEP_ALIVE = sys.argv[1] == "--keep-alive"
ARGS = sys.argv[2:] if KEEP_ALIVE else sys.argv[1:]
UPSTREAM = int(ARGS[0])
LOG = open(ARGS[1], "a", buffering=1)
RULES = [json.loads(text) for text in ARGS[2:]]
LOCK = threading.Lock()
HOP = {"connection", "keep-alive", "transfer-encoding", "expect", "proxy-connection", "te", "upgrade"}
WRONG = "sha256:" + "0" * 64
PIECE = 1 << 20


def matching(method, path):
    """The rule that acts on this request (its count spent by one), or None."""
    with LOCK:
        for rule in RULES:
            if rule.get("method", method) != method or not re.search(rule.get("path", ""), path):
                continue
            if rule.setdefault("skipped", 0) < rule.get("skip", 0):
                rule["skipped"] += 1
                continue
            if rule.get("count", 0) == 0:
                return rule
            if rule.setdefault("used", 0) < rule["count"]:
                rule["used"] += 1
                return rule
    return None


def log(*words):
    with LOCK:
        LOG.write(" ".join(str(word) for word in words) + "\n")


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def do_GET(self):
        self.proxy()

    do_HEAD = do_PUT = do_POST = do_PATCH = do_DELETE = do_GET

    def body_pieces(self, limit=None):
        """The request body in pieces (Content-Length or chunked), at most `limit` bytes of it."""
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            data = b""
            while True:
                size = int(self.rfile.readline().split(b";")[0], 16)
                if size == 0:
                    self.rfile.readline()
                    break
                data += self.rfile.read(size)
                self.rfile.readline()
            yield data[:limit] if limit is not None else data
            return
        left = int(self.headers.get("Content-Length", "0"))
        if limit is not None:
            left = min(left, limit)
        while left > 0:
            piece = self.rfile.read(min(PIECE, left))
            if not piece:
                return
            left -= len(piece)
            yield piece

    def proxy(self):
        rule = matching(self.command, self.path)
        action = rule["action"] if rule else "forward"
        if action == "status":
            return self.answer_status(rule)
        length = self.headers.get("Content-Length")
        upstream = http.client.HTTPConnection("127.0.0.1", UPSTREAM, timeout=120)
        upstream.putrequest(self.command, self.path, skip_host=True, skip_accept_encoding=True)
        for name, value in self.headers.items():
            if name.lower() not in HOP and name.lower() != "content-length":
                upstream.putheader(name, value)
        chunked = length is None and self.headers.get("Transfer-Encoding", "").lower() == "chunked"
        body = b"".join(self.body_pieces()) if chunked else None
        size = len(body) if chunked else int(length or "0")
        if size or self.command in ("PUT", "POST", "PATCH"):
            upstream.putheader("Content-Length", str(size))
        upstream.endheaders()
        if action == "reset" and rule.get("at") != "answer":
            return self.reset(upstream, body, size)
        if body is not None:
            upstream.send(body)
        else:
            for piece in self.body_pieces():
                upstream.send(piece)
        answer = upstream.getresponse()
        data = answer.read()
        if action == "reset":
            log(self.command, self.path, "reset-answered", "-")
            return self.rst(upstream)
        self.send_response(answer.status)
        for name, value in answer.getheaders():
            if name.lower() in HOP:
                continue
            if action == "digest" and name.lower() == "docker-content-digest":
                value = rule.get("digest", WRONG)
            self.send_header(name, value)
        if answer.getheader("Content-Length") is None:
            self.send_header("Content-Length", str(len(data)))
        self.close_after()
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)
        upstream.close()
        log(self.command, self.path, action, answer.status)

    def close_after(self):
        """One connection per request: a client never sends on a connection the proxy reset before."""
        if KEEP_ALIVE:
            return
        self.send_header("Connection", "close")
        self.close_connection = True

    def answer_status(self, rule):
        for _ in self.body_pieces():
            pass
        status = rule.get("status", 503)
        default = {"errors": [{"code": "UNAVAILABLE", "message": "injected by fault-proxy.py"}]}
        body = rule.get("body", json.dumps(default)).encode()
        self.send_response(status)
        headers = {"Content-Type": "application/json"}
        headers.update(rule.get("headers", {}))
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.close_after()
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)
        log(self.command, self.path, "status", status)

    def reset(self, upstream, body, size):
        """Half the body to the server, then an RST to the client and the server's connection closed."""
        half = size // 2
        if body is not None:
            upstream.send(body[:half])
        else:
            for piece in self.body_pieces(limit=half):
                upstream.send(piece)
        log(self.command, self.path, "reset", "-")
        upstream.sock.shutdown(socket.SHUT_RDWR)
        self.rst(upstream)

    def rst(self, upstream):
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.connection.close()
        upstream.close()
        self.close_connection = True

    def finish(self):
        try:
            super().finish()
        except OSError:
            pass


class Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        pass


server = Server(("127.0.0.1", 0), Handler)
print(server.server_address[1], flush=True)
server.serve_forever()
