#!/usr/bin/env python3
"""Tiny client for the simulator's tests: the REST API over a unix socket and
the guest console over a PTY path or a serial unix socket.

  sim_client.py api SOCK METHOD ENDPOINT [BODY]   -> prints "<status> <body>"
  sim_client.py raw SOCK REQUEST_BYTES             -> prints the raw response
  sim_client.py console TARGET CMD...              -> prints each command's
      output (prompt stripped, the guest's "\r\n" line ends printed as
      "\n"); TARGET is /dev/pts/N or a socket path.
"""
import os
import select
import socket
import sys
import time


def api(sock_path, method, endpoint, body=None):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(sock_path)
    req = "%s /api/v1/%s HTTP/1.1\r\nHost: localhost\r\n" % (method, endpoint)
    data = body.encode() if body is not None else b""
    if body is not None:
        req += "Content-Type: application/json\r\nContent-Length: %d\r\n" % len(data)
    s.sendall(req.encode() + b"\r\n" + data)
    return read_response(s)


def read_response(s):
    buf = b""
    while b"\r\n\r\n" not in buf:
        chunk = s.recv(65536)
        if not chunk:
            return buf.decode(errors="replace")
        buf += chunk
    head, rest = buf.split(b"\r\n\r\n", 1)
    length = 0
    for line in head.split(b"\r\n")[1:]:
        k, _, v = line.partition(b":")
        if k.strip().lower() == b"content-length":
            length = int(v.strip())
    while len(rest) < length:
        chunk = s.recv(65536)
        if not chunk:
            break
        rest += chunk
    status = head.split(b"\r\n")[0].split(b" ")[1].decode()
    return "%s %s" % (status, rest.decode(errors="replace"))


def raw(sock_path, request):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(sock_path)
    s.sendall(request.encode().decode("unicode_escape").encode("latin-1"))
    s.settimeout(2)
    out = b""
    try:
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            out += chunk
            if b"\r\n\r\n" in out:
                head, _, rest = out.partition(b"\r\n\r\n")
                n = 0
                for line in head.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        n = int(line.split(b":")[1])
                if len(rest) >= n:
                    break
    except socket.timeout:
        pass
    return out.decode(errors="replace")


class Console:
    def __init__(self, target):
        if target.startswith("/dev/"):
            self.fd = os.open(target, os.O_RDWR | os.O_NOCTTY)
            self.sock = None
        else:
            self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            self.sock.connect(target)
            self.fd = self.sock.fileno()

    def read_until_prompt(self, timeout=5.0):
        buf = b""
        end = time.time() + timeout
        while time.time() < end:
            r, _, _ = select.select([self.fd], [], [], 0.05)
            if r:
                chunk = os.read(self.fd, 65536)
                if not chunk:
                    break
                buf += chunk
                if buf.endswith(b":~# "):
                    return buf.decode(errors="replace"), True
        return buf.decode(errors="replace"), False

    def sync(self):
        """Sends an empty line and drains output until it stays quiet after a
        prompt (boot messages may or may not still be queued)."""
        os.write(self.fd, b"\n")
        buf, ok = self.read_until_prompt()
        while ok:
            r, _, _ = select.select([self.fd], [], [], 0.3)
            if not r:
                return
            more, ok = self.read_until_prompt()

    def run(self, cmd):
        os.write(self.fd, (cmd + "\n").encode())
        out, ok = self.read_until_prompt()
        if not ok:
            return out
        # Drop the trailing prompt line; a real guest ends lines in "\r\n"
        # (README "Guest console protocol"), the callers compare "\n" lines.
        return out[: out.rfind("root@")].replace("\r\n", "\n")


def main():
    if sys.argv[1] == "api":
        body = sys.argv[5] if len(sys.argv) > 5 else None
        print(api(sys.argv[2], sys.argv[3], sys.argv[4], body))
    elif sys.argv[1] == "raw":
        sys.stdout.write(raw(sys.argv[2], sys.argv[3]))
    elif sys.argv[1] == "console":
        c = Console(sys.argv[2])
        c.sync()
        for cmd in sys.argv[3:]:
            sys.stdout.write(c.run(cmd))
    else:
        sys.exit("unknown mode " + sys.argv[1])


if __name__ == "__main__":
    main()
