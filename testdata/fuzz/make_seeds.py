#!/usr/bin/env python3
"""Writes the seed inputs of the fuzz corpora from other test data.

Run from the repository root: python3 testdata/fuzz/make_seeds.py
Seeds are named seed-*; inputs that fuzzing found are added beside them by
hand (crash-*, named for what they found; cov-<sha1>, a campaign's
coverage, lib/testing/fuzz/README.md) and never regenerated. Needs
protoc (setup.sh installs it) for the binary-encoded corpora.
"""
import glob
import json
import os
import re
import shutil
import subprocess

ROOT = os.getcwd()
OUT = os.path.join(ROOT, "testdata/fuzz")
PROTO = "lib/record/records.proto"


def put(target, name, data):
    d = os.path.join(OUT, target)
    os.makedirs(d, exist_ok=True)
    mode = "wb" if isinstance(data, bytes) else "w"
    with open(os.path.join(d, "seed-" + name), mode) as f:
        f.write(data)


def encode(message, text):
    return subprocess.run(["protoc", "--encode=" + message, PROTO],
                          input=text.encode(), capture_output=True,
                          check=True).stdout


def vm_blocks(text):
    """The bodies of the top-level `vm { ... }` blocks of a records file."""
    blocks, depth, cur = [], 0, None
    for line in text.splitlines():
        s = line.strip()
        if depth == 0 and s == "vm {":
            cur, depth = [], 1
            continue
        if cur is not None:
            depth += s.count("{") - s.count("}")
            if depth == 0:
                blocks.append("\n".join(cur))
                cur = None
            else:
                cur.append(line)
    return blocks


records = sorted(glob.glob("testdata/vm-index/*.txtpb") +
                 glob.glob("testdata/ch-launch/*.txtpb"))
for path in records:
    name = os.path.basename(path)
    text = open(path).read()
    put("textproto_fuzzer", name, text)
    try:
        put("validate_fuzzer", name + ".bin", encode("chtools.Records", text))
    except subprocess.CalledProcessError:
        pass  # a deliberately malformed golden input
    for i, block in enumerate(vm_blocks(text)):
        try:
            put("ch_args_fuzzer", "%s.vm%d.bin" % (name, i),
                encode("chtools.Vm", block))
        except subprocess.CalledProcessError:
            pass

for path in sorted(glob.glob("testdata/chapi/*.json")):
    a = json.load(open(path))
    head = "HTTP/1.1 %d \r\nServer: Cloud Hypervisor API\r\n" % a["status"]
    body = a["body"]
    if a["status"] == 204:
        raw = head + "\r\n"
    else:
        raw = (head + "Content-Type: application/json\r\nContent-Length: %d"
               "\r\n\r\n%s" % (len(body.encode()), body))
    put("http_response_fuzzer", os.path.basename(path) + ".http", raw)
put("http_response_fuzzer", "chunked.http",
    "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nTransfer-Encoding: "
    "chunked\r\n\r\n4;ext=1\r\n{\"a\"\r\n3\r\n:1}\r\n0\r\nX-T: 1\r\n\r\n")
put("http_response_fuzzer", "to-eof.http", "HTTP/1.1 200 \r\n\r\n[\"x\"]")

for path in sorted(glob.glob("testdata/archive/sim/*.json")):
    put("ch_config_fuzzer", os.path.basename(path),
        open(path).read())

for path in sorted(glob.glob("testdata/archive/valid/*")):
    put("reader_fuzzer", os.path.basename(path), open(path, "rb").read())
for path in sorted(glob.glob("testdata/archive/hostile/*")):
    if os.path.getsize(path) <= 32 << 10:
        put("reader_fuzzer", "hostile-" + os.path.basename(path),
            open(path, "rb").read())

put("flags_fuzzer", "direct",
    "web\n2\n1G\n10G\nubuntu:24.04\n/img/a.erofs,/img/b.erofs\n/img/vmlinuz\n"
    "/img/initrd.img\n\n\ntap=tap0,mac=02:42:0a:58:00:05,ip=10.88.0.5/16,"
    "gw=10.88.0.1\n")
put("flags_fuzzer", "cloud",
    "db\n4\n4GiB\n20g\n\n\n\n\n/img/base.qcow2\n/img/CLOUDHV.fd\n"
    "tap=tap1,netns=/var/run/netns/x\ntap=tap2\n")
put("flags_fuzzer", "sizes", "1\n1k\n2MiB\n3Gb\n4tib\n5P\n0x10\n-1\n"
    "9223372036854775807\n9223372036854775808\n")
