#!/usr/bin/env python3
"""A stand-in for the council's office system (docs/office.md), for tests and for trying Hearth.

Two ways to use it, matching hearth-server's two ways of delivering to the office:

  serve  receives the repeater's posts (hearth-server config "office_endpoint") over HTTPS:
           office-stub.py serve --cert server.crt --key server.key --port 9443 [--port-file F]
                                [--token T] [--fail-first N] [--record items.jsonl]
         Every POST is one outbox item (JSON). It is kept once per Idempotency-Key: a repeat
         is answered 200 with the same office_ref and counted as a duplicate. It answers
         {"office_ref": "STUB-<n>"}, which hearth-server stores as the record's office id.
         Control and inspection (same port):
           POST /_control {"fail": N}   the next N posts are answered 503, then it recovers
           GET  /_received              {"items": [...], "posts", "duplicates", "failed"}
  pull   reads the pull feed once, from a cursor, and acknowledges what it read:
           office-stub.py pull --url https://127.0.0.1:8443 --ca ca.crt --token T [--after N]
                               [--limit M] [--no-ack] [--json]
         prints each item (packages first) and the next cursor.

Only Python's standard library (http.server, ssl, urllib).
"""
import argparse
import json
import ssl
import sys
import threading
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

MAX_BODY = 16 << 20


class State:
    def __init__(self, fail_first, token, record):
        self.lock = threading.Lock()
        self.fail = fail_first
        self.token = token
        self.record = record
        self.items = []           # unique items, in arrival order
        self.refs = {}            # idempotency key -> office_ref
        self.posts = 0
        self.duplicates = 0
        self.failed = 0


def make_handler(state):
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, fmt, *args):  # quiet: tests read /_received
            pass

        def reply(self, status, obj):
            body = json.dumps(obj).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self):
            if self.path != "/_received":
                return self.reply(404, {"error": "no such path"})
            with state.lock:
                return self.reply(200, {"items": state.items, "posts": state.posts,
                                        "duplicates": state.duplicates, "failed": state.failed})

        def do_POST(self):
            length = int(self.headers.get("Content-Length") or 0)
            if length > MAX_BODY:
                return self.reply(413, {"error": "too large"})
            raw = self.rfile.read(length)
            try:
                body = json.loads(raw or b"{}")
            except ValueError:
                return self.reply(400, {"error": "not JSON"})
            if self.path == "/_control":
                with state.lock:
                    state.fail = int(body.get("fail", 0))
                return self.reply(200, {"fail": state.fail})
            if state.token and self.headers.get("Authorization") != "Bearer " + state.token:
                return self.reply(401, {"error": "wrong or missing token"})
            key = self.headers.get("Idempotency-Key") or body.get("key")
            if not key:
                return self.reply(400, {"error": "no Idempotency-Key"})
            with state.lock:
                state.posts += 1
                if state.fail > 0:
                    state.fail -= 1
                    state.failed += 1
                    return self.reply(503, {"error": "the office is down (stub told to fail)"})
                if key in state.refs:
                    state.duplicates += 1
                    return self.reply(200, {"office_ref": state.refs[key], "duplicate": True})
                ref = "STUB-%d" % (len(state.items) + 1)
                state.refs[key] = ref
                state.items.append(body)
                if state.record:
                    with open(state.record, "a") as f:
                        f.write(json.dumps(body) + "\n")
            sys.stdout.write("received %s %s %s\n" % (body.get("kind"), body.get("type"), key))
            sys.stdout.flush()
            return self.reply(200, {"office_ref": ref})

    return Handler


def serve(args):
    state = State(args.fail_first, args.token, args.record)
    server = ThreadingHTTPServer((args.host, args.port), make_handler(state))
    if args.cert:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        ctx.load_cert_chain(args.cert, args.key)
        server.socket = ctx.wrap_socket(server.socket, server_side=True)
    port = server.server_address[1]
    if args.port_file:
        with open(args.port_file + ".tmp", "w") as f:
            f.write("%d\n" % port)
        import os
        os.replace(args.port_file + ".tmp", args.port_file)
    sys.stdout.write("office stub listening on %s://%s:%d\n" % ("https" if args.cert else "http", args.host, port))
    sys.stdout.flush()
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


def post(url, ca, token, obj):
    req = urllib.request.Request(url, data=json.dumps(obj).encode(), method="POST",
                                 headers={"Content-Type": "application/json", "Authorization": "Bearer " + token})
    ctx = ssl.create_default_context(cafile=ca) if ca else None
    with urllib.request.urlopen(req, context=ctx, timeout=30) as r:
        return json.loads(r.read())


def pull(args):
    page = post(args.url.rstrip("/") + "/v1/office/feed", args.ca, args.token, {"after": args.after, "limit": args.limit})
    acks = [{"key": item["key"], "office_ref": "STUB-" + item["record"]} for item in page["priority"] + page["items"]]
    acked = None
    if acks and not args.no_ack:
        acked = post(args.url.rstrip("/") + "/v1/office/feed/ack", args.ca, args.token, {"acks": acks})
    if args.json:
        print(json.dumps({"page": page, "acks": acked}))
        return
    for item in page["priority"] + page["items"]:
        print("%s #%d %s %s %s" % ("PACKAGE" if item["kind"] == "package" else "record", item["seq"],
                                   item["type"], item["record"], item["key"]))
    print("next cursor: %d%s" % (page["next_cursor"], " (more waiting)" if page["more"] else ""))


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="command", required=True)
    s = sub.add_parser("serve", help="receive the repeater's posts")
    s.add_argument("--host", default="127.0.0.1")
    s.add_argument("--port", type=int, default=0)
    s.add_argument("--port-file")
    s.add_argument("--cert", help="PEM certificate (without it: plain HTTP, loopback only)")
    s.add_argument("--key")
    s.add_argument("--token", help="require Authorization: Bearer TOKEN")
    s.add_argument("--fail-first", type=int, default=0, help="answer 503 to the first N posts")
    s.add_argument("--record", help="append each new item to this file (JSON lines)")
    q = sub.add_parser("pull", help="read the pull feed once and acknowledge it")
    q.add_argument("--url", required=True)
    q.add_argument("--ca")
    q.add_argument("--token", required=True)
    q.add_argument("--after", type=int, default=0)
    q.add_argument("--limit", type=int, default=100)
    q.add_argument("--no-ack", action="store_true")
    q.add_argument("--json", action="store_true", help="print the page (and the acknowledgements' answer) as JSON")
    args = p.parse_args()
    serve(args) if args.command == "serve" else pull(args)


if __name__ == "__main__":
    main()
