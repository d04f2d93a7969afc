#!/usr/bin/env python3
"""A hostile Cloud Hypervisor for the hostile-input tests.

Run in CH's place (--ch-binary): it serves the --api-socket of its command
line, so the tools find it as the VM's CH (it listens on the socket and its
argv names it). How it answers is read from the file named by
$FAKE_CH_MODE_FILE before every request:

  ok         a Running VM: vm.info {"state":"Running",...}, 204 to PUTs
  garbage    bytes that are not HTTP, then close
  close      close the connection without a byte
  hang       never answer (the connection stays open)
  notjson    200 with a body that is not JSON
  wrongtype  200 with JSON of the wrong types ({"state": 5, ...})
  array      200 with a JSON array
  huge       200 with a 100 MiB body
  badlength  200 whose Content-Length is larger than the body, then close
  hostpty    a Running VM whose console PTY is $FAKE_CH_VICTIM (a host file)
"""
import os
import signal
import socket
import sys
import threading
import time


def mode():
    try:
        with open(os.environ["FAKE_CH_MODE_FILE"]) as f:
            return f.read().strip() or "ok"
    except OSError:
        return "ok"


def response(status, body=b"", ctype=b"application/json"):
    head = b"HTTP/1.1 %d \r\nServer: Cloud Hypervisor API\r\nConnection: keep-alive\r\n" % status
    if status == 204:
        return head + b"\r\n"
    return head + b"Content-Type: " + ctype + b"\r\nContent-Length: %d\r\n\r\n" % len(body) + body


def read_request(conn):
    buf = b""
    while b"\r\n\r\n" not in buf:
        chunk = conn.recv(65536)
        if not chunk:
            return None
        buf += chunk
    head, _, body = buf.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        k, _, v = line.partition(b":")
        if k.strip().lower() == b"content-length":
            length = int(v.strip())
    while len(body) < length:
        chunk = conn.recv(65536)
        if not chunk:
            break
        body += chunk
    return head.split(b"\r\n")[0].decode("latin-1")


def info(console_file):
    f = "null" if console_file is None else '"%s"' % console_file
    return ('{"config":{"cpus":{"boot_vcpus":1,"max_vcpus":1},'
            '"memory":{"size":536870912},"console":{"mode":"Pty","file":%s},'
            '"serial":{"mode":"Null","file":null}},"state":"Running",'
            '"memory_actual_size":536870912,"device_tree":{}}' % f).encode()


def serve(conn):
    with conn:
        while True:
            line = read_request(conn)
            if line is None:
                return
            m = mode()
            if m == "garbage":
                conn.sendall(b"\x00\xff\xfeSSH-2.0-not-http\r\n\x1b[31m\r\n\r\n")
                return
            if m == "close":
                return
            if m == "hang":
                while True:
                    time.sleep(3600)
            if m == "notjson":
                conn.sendall(response(200, b"<html>not json</html>", b"text/html"))
                continue
            if m == "wrongtype":
                conn.sendall(response(200, b'{"state":5,"config":{"console":{"mode":7,"file":9}},"pid":"x"}'))
                continue
            if m == "array":
                conn.sendall(response(200, b"[1,2,3]"))
                continue
            if m == "huge":
                conn.sendall(response(200, b"[" + b" " * (100 << 20) + b"]"))
                continue
            if m == "badlength":
                conn.sendall(b"HTTP/1.1 200 \r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{}")
                return
            # ok / hostpty: a Running VM.
            endpoint = line.split(" ")[1] if " " in line else ""
            if endpoint.endswith("/vm.info"):
                pty = os.environ.get("FAKE_CH_VICTIM") if m == "hostpty" else None
                conn.sendall(response(200, info(pty)))
            elif endpoint.endswith("/vmm.ping"):
                conn.sendall(response(200, b'{"build_version":"v51.0","version":"51.0.0","pid":%d,"features":[]}' % os.getpid()))
            else:
                conn.sendall(response(204))


def main():
    args = sys.argv[1:]
    sock = args[args.index("--api-socket") + 1]
    if sock.startswith("path="):
        sock = sock[5:]
    signal.signal(signal.SIGTERM, lambda *_: (os.unlink(sock), os._exit(0)))
    s = socket.socket(socket.AF_UNIX)
    s.bind(sock)
    s.listen(16)
    while True:
        conn, _ = s.accept()
        threading.Thread(target=serve, args=(conn,), daemon=True).start()


main()
