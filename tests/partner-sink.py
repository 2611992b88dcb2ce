#!/usr/bin/env python3
"""Loopback partner servers for the delivery tests (tests/unit/test-deliver-*.c).

    partner-sink.py http | https CERT KEY | tcp | udp

Listens on 127.0.0.1 (random port), prints "PORT <n>", then reads commands on stdin, one per
line, and answers each with exactly one line on stdout:

  all modes
    ids                 accepted records' ids in arrival order, space-separated
                        (http: the X-Kizuna-Alert-Id header of 2xx-answered requests;
                        tcp/udp: the last word of each message)
    count               number of accepted records
    wait N SECONDS      wait until N records were accepted (or the time is up); answers count
    dump                accepted records as one JSON array
    quit                exit (answers nothing)
  http (https: the same over TLS with the given PEM certificate and key)
    script A A ...      answers for the next requests, in order: a status code (200, 500,
                        400 ...), "hang" (read the request, never answer) or "close" (close
                        the connection without answering); then the default applies
    default A           answer once the script is used up (initially 200)
    release             let hanging requests go (their connections are closed unanswered)
    requests            number of requests received, answered or not
    last                the last request as JSON {id, action, headers, body}
  tcp (RFC 6587 octet counting: "LEN SP MSG")
    down                close the listening socket and hang up every connection
    up                  listen again on the same port
    kick                hang up every connection (FIN; what still arrives is read), keep
                        listening
    errors              number of framing errors seen (a bad frame closes its connection)
"""
import http.server
import json
import socket
import ssl
import sys
import threading

lock = threading.Condition()
records = []  # accepted: dicts with at least "id"
state = {"script": [], "default": "200", "requests": [], "errors": 0,
         "release": threading.Event()}


def accept(rec):
    with lock:
        records.append(rec)
        lock.notify_all()


def last_word(msg):
    words = msg.split()
    return words[-1] if words else ""


class HttpHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True

    def log_message(self, fmt, *args):
        pass

    def do_POST(self):
        n = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(n).decode("utf-8", "replace")
        with lock:
            action = state["script"].pop(0) if state["script"] else state["default"]
            req = {"id": self.headers.get("X-Kizuna-Alert-Id"), "action": action,
                   "headers": {k.lower(): v for k, v in self.headers.items()}, "body": body,
                   "path": self.path}
            state["requests"].append(req)
            release = state["release"]
        if action == "hang":
            release.wait(120)
            self.close_connection = True
            return
        if action == "close":
            self.close_connection = True
            return
        status = int(action)
        if 200 <= status < 300:
            accept({"id": req["id"], "body": body})
        payload = b'{"status":"ok"}' if status < 300 else b'{"error":"test sink says no"}'
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)


class HttpServer(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


class TcpSink:
    def __init__(self):
        self.port = 0
        self.lsock = None
        self.conns = set()
        self.listen()

    def listen(self):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", self.port))
        s.listen(16)
        self.port = s.getsockname()[1]
        self.lsock = s
        threading.Thread(target=self.accept_loop, args=(s,), daemon=True).start()

    def accept_loop(self, s):
        while True:
            try:
                c, _ = s.accept()
            except OSError:
                return
            with lock:
                self.conns.add(c)
            threading.Thread(target=self.serve, args=(c,), daemon=True).start()

    def serve(self, c):
        buf = b""
        try:
            while True:
                data = c.recv(65536)
                if not data:
                    break
                buf += data
                while True:
                    sp = buf.find(b" ")
                    if sp < 0:
                        if len(buf) > 10 or (buf and not buf.isdigit()):
                            raise ValueError("bad frame length")
                        break
                    if sp == 0 or sp > 10 or not buf[:sp].isdigit() or buf[:1] == b"0":
                        raise ValueError("bad frame length %r" % buf[:sp])
                    n = int(buf[:sp])
                    if len(buf) < sp + 1 + n:
                        break
                    msg = buf[sp + 1:sp + 1 + n].decode("utf-8", "replace")
                    buf = buf[sp + 1 + n:]
                    accept({"id": last_word(msg), "msg": msg})
        except ValueError:
            with lock:
                state["errors"] += 1
        except OSError:
            pass
        finally:
            with lock:
                self.conns.discard(c)
            c.close()

    def kick(self):
        """Hang up politely: send FIN, but read what the sender still writes until it
        closes (a receiver that drains before going away loses nothing)."""
        with lock:
            conns = list(self.conns)
        for c in conns:
            try:
                c.shutdown(socket.SHUT_WR)
            except OSError:
                pass

    def down(self):
        try:
            self.lsock.shutdown(socket.SHUT_RDWR)  # wakes the accept()ing thread (Linux)
        except OSError:
            pass
        self.lsock.close()
        self.kick()


def udp_loop(s):
    while True:
        try:
            data, _ = s.recvfrom(70000)
        except OSError:
            return
        msg = data.decode("utf-8", "replace")
        accept({"id": last_word(msg), "msg": msg, "size": len(data)})


def main():
    mode = sys.argv[1] if len(sys.argv) > 1 else "http"
    tcp = None
    if mode in ("http", "https"):
        srv = HttpServer(("127.0.0.1", 0), HttpHandler)
        if mode == "https":
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(sys.argv[2], sys.argv[3])
            srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
        threading.Thread(target=srv.serve_forever, daemon=True).start()
        port = srv.server_address[1]
    elif mode == "tcp":
        tcp = TcpSink()
        port = tcp.port
    elif mode == "udp":
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        threading.Thread(target=udp_loop, args=(s,), daemon=True).start()
    else:
        sys.exit("unknown mode " + mode)
    print("PORT %d" % port, flush=True)
    for line in sys.stdin:
        words = line.split()
        if not words:
            continue
        cmd, args = words[0], words[1:]
        out = "OK"
        if cmd == "quit":
            break
        elif cmd == "ids":
            with lock:
                out = " ".join(r["id"] or "-" for r in records)
        elif cmd == "count":
            with lock:
                out = str(len(records))
        elif cmd == "wait":
            n, secs = int(args[0]), float(args[1])
            with lock:
                lock.wait_for(lambda: len(records) >= n, secs)
                out = str(len(records))
        elif cmd == "dump":
            with lock:
                out = json.dumps(records)
        elif cmd == "script":
            with lock:
                state["script"].extend(args)
        elif cmd == "default":
            with lock:
                state["default"] = args[0]
        elif cmd == "release":
            with lock:
                state["release"].set()
                state["release"] = threading.Event()
        elif cmd == "requests":
            with lock:
                out = str(len(state["requests"]))
        elif cmd == "last":
            with lock:
                out = json.dumps(state["requests"][-1] if state["requests"] else None)
        elif cmd == "down" and tcp:
            tcp.down()
        elif cmd == "up" and tcp:
            tcp.listen()
        elif cmd == "kick" and tcp:
            tcp.kick()
        elif cmd == "errors":
            with lock:
                out = str(state["errors"])
        else:
            out = "ERR unknown command"
        print(out, flush=True)


if __name__ == "__main__":
    main()
