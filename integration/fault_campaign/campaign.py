#!/usr/bin/env python3
"""The fault campaign: the whole suite under random SIGKILLs.

Workers run random operations (create, start, stop, snapshot save,
export/import, clone, restore, rm, gc) with the real binaries on one shared
root against the CH simulator, while a killer sends SIGKILL at random moments
to the tools and to CH processes and the simulator's fault knobs fire at
random. Then vm-index fsck --repair, ch-launch rm of interrupted removals and
ch-gc --grace=0s repair, and the invariants are checked:

  - the index loads, and a second fsck finds nothing;
  - every record's claim matches reality: a RUNNING VM has its CH, and its
    guest runs (vm.info says Running, not Paused); no CH runs without a record;
  - every listed snapshot verifies (size and SHA-256 of every file);
  - no operation's temp or staging dir survives gc;
  - nothing was created outside the root, run and log dirs;
  - every operation that reported success is visible (unless something later
    tried to remove it).

Exit 0 when every invariant holds, 1 otherwise (each violation printed).
Usage: campaign.py --tools DIR... (see --help).
"""

import argparse
import hashlib
import json
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

TOOLS = ["vm-index", "ch-launch", "ch-snapshot", "ch-clone", "ch-gc"]


def parse_args():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    for t in TOOLS:
        p.add_argument("--" + t, required=True)
    p.add_argument("--sim", required=True, help="the CH simulator")
    p.add_argument("--ops", type=int, default=300)
    p.add_argument("--min-kills", type=int, default=100,
                   help="fail with fewer SIGKILLs; the campaign runs past --ops "
                   "(up to 3x) until it has sent them: how many land is "
                   "random (a kill needs a tool or CH alive at its moment)")
    p.add_argument("--workers", type=int, default=8)
    p.add_argument("--kill-rate", type=float, default=0.45,
                   help="share of operations during which a SIGKILL is sent")
    p.add_argument("--seed", type=int, default=None)
    p.add_argument("--dir", default="/tmp")
    p.add_argument("--keep", action="store_true", help="keep the dir on failure")
    p.add_argument("--verbose", action="store_true", help="print failed operations")
    return p.parse_args()


class Campaign:
    def __init__(self, a):
        self.a = a
        self.seed = a.seed if a.seed is not None else random.randrange(1 << 30)
        self.rng = random.Random(self.seed)
        self.t = tempfile.mkdtemp(prefix="chf.", dir=a.dir)
        self.bin = {t: os.path.realpath(getattr(a, t.replace("-", "_"))) for t in TOOLS}
        self.sim = os.path.realpath(a.sim)
        self.env = dict(os.environ)
        self.env.update(CHTOOLS_ROOT_DIR=self.t + "/root", CHTOOLS_RUN_DIR=self.t + "/run",
                        CHTOOLS_LOG_DIR=self.t + "/log", CHTOOLS_CH_BINARY=self.sim,
                        CHSIM_SPARSE_MEMORY_RANGES="1")
        self.env.pop("CHTOOLS_CONFIG", None)
        self.env["PATH"] = self.env.get("PATH", "") + ":/usr/sbin:/sbin"
        self.lock = threading.Lock()
        self.counter = 0
        self.ops_done = 0
        self.ops_by_kind = {}
        self.ok_by_kind = {}
        self.kills = {"tool": 0, "ch": 0}
        self.vms = []        # names ever made (refs for operations)
        self.snaps = []      # snapshot names ever made
        self.must_vm = {}    # name -> True when a success is not followed by an rm
        self.must_snap = {}
        self.stop = threading.Event()
        self.errors = {}     # "tool verb" -> failure lines (for the report)
        self.sigsys = []     # tools killed by their own seccomp policy
        self.active = {}     # worker thread -> the pid of the tool it runs
        os.makedirs(self.t + "/img")
        os.makedirs(self.t + "/arch")
        for f in ("vmlinuz", "initrd.img", "layer0.erofs"):
            with open(self.t + "/img/" + f, "wb") as fh:
                fh.truncate(1 << 20)

    # --- running tools -------------------------------------------------
    def run(self, tool, *args, extra_env=None, stdin=None, stdout=None, timeout=300):
        env = self.env if not extra_env else dict(self.env, **extra_env)
        try:
            p = subprocess.Popen([self.bin[tool], *args], env=env, stdin=stdin,
                                 stdout=stdout if stdout is not None else subprocess.PIPE,
                                 stderr=subprocess.PIPE)
            me = threading.get_ident()
            with self.lock:
                self.active[me] = p.pid
            try:
                o, e = p.communicate(timeout=timeout)
            finally:
                with self.lock:
                    self.active.pop(me, None)
            out = o.decode("utf-8", "replace") if stdout is None else ""
            err = e.decode("utf-8", "replace")
            # A tool's confined child (ch-launch's record parser, an archive
            # parser) killed by SIGSYS is reported by the tool on stderr.
            if p.returncode == -signal.SIGSYS or "outside its seccomp policy" in err:
                with self.lock:
                    self.sigsys.append("%s %s" % (tool, " ".join(args)))
            if p.returncode != 0:
                with self.lock:
                    key = "%s %s" % (tool, args[0] if args else "")
                    self.errors.setdefault(key, []).append(
                        "rc %d: %s" % (p.returncode, err.strip()[:240]))
            return p.returncode, out, err
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
            return -1000, "", "timeout"

    def next_name(self, prefix):
        with self.lock:
            self.counter += 1
            return "%s%d" % (prefix, self.counter)

    def pick(self, lst, must=None):
        """A name to operate on: mostly one believed to exist."""
        with self.lock:
            if must is not None and self.rng.random() < 0.85:
                alive = [n for n in lst if must.get(n)]
                if alive:
                    return self.rng.choice(alive)
            return self.rng.choice(lst) if lst else None

    def knobs(self):
        """Simulator fault knobs for the CH processes this operation starts."""
        k = {}
        r = self.rng.random()
        if r < 0.05:
            k["CHSIM_FAIL_RESTORE"] = "1"
        elif r < 0.10:
            k["CHSIM_FAIL_RESUME"] = "1"
        elif r < 0.13:
            k["CHSIM_CRASH_IN_SNAPSHOT"] = "1"
        elif r < 0.20:
            k["CHSIM_RESTORE_DELAY_MS"] = "300"
        return k

    # --- operations ------------------------------------------------------
    def op_create(self):
        name = self.next_name("v")
        img = self.t + "/img/"
        rc, _, _ = self.run("ch-launch", "create", "--name", name, "--cpu", "1",
                            "--memory", "512M", "--kernel", img + "vmlinuz",
                            "--initrd", img + "initrd.img", "--layer", img + "layer0.erofs")
        with self.lock:
            self.vms.append(name)
            if rc == 0:
                self.must_vm[name] = True
        if rc == 0 and self.rng.random() < 0.7:
            rc = self.run("ch-launch", "start", name, extra_env=self.knobs())[0]
        return rc

    def op_start(self):
        v = self.pick(self.vms, self.must_vm)
        if v is None:
            return None
        return self.run("ch-launch", "start", v, extra_env=self.knobs())[0]

    def op_stop(self):
        v = self.pick(self.vms, self.must_vm)
        if v is None:
            return None
        if self.rng.random() < 0.5:
            # The VM named by a record stream: parsed in ch-launch's
            # confined child.
            path = "%s/arch/stop-%s.txtpb" % (self.t, self.next_name("in"))
            with open(path, "w") as fh:
                fh.write('vm { config { name: "%s" } }\n' % v)
            with open(path, "rb") as fh:
                return self.run("ch-launch", "stop", stdin=fh)[0]
        return self.run("ch-launch", "stop", v)[0]

    def op_save(self):
        return self.op_save_of(self.pick(self.vms, self.must_vm))

    def op_save_of(self, v):
        if v is None:
            return None
        name = self.next_name("s")
        rc, _, _ = self.run("ch-snapshot", "save", v, "--name", name)
        with self.lock:
            self.snaps.append(name)
            if rc == 0:
                self.must_snap[name] = True
        return rc

    def op_export_import(self):
        s = self.pick(self.snaps, self.must_snap)
        if s is None:
            return None
        arch = "%s/arch/%s.%d.tar" % (self.t, s, self.rng.randrange(1 << 30))
        rc, _, _ = self.run("ch-snapshot", "export", s, "-o", arch)
        if rc != 0:
            return rc
        with self.lock:
            self.must_snap[s] = False  # removed and imported back
        rc, _, _ = self.run("ch-snapshot", "rm", s)
        if rc != 0:
            return rc
        with open(arch, "rb") as fh:
            rc, _, _ = self.run("ch-snapshot", "import", "-", stdin=fh)
        if rc == 0:
            with self.lock:
                self.must_snap[s] = True
        os.unlink(arch)
        return rc

    def op_clone(self):
        s = self.pick(self.snaps, self.must_snap)
        if s is None:
            return None
        name = self.next_name("c")
        if self.rng.random() < 0.3:
            # A stream clone: export | ch-clone -.
            exp = subprocess.Popen([self.bin["ch-snapshot"], "export", s, "-o", "-"],
                                   env=self.env, stdout=subprocess.PIPE,
                                   stderr=subprocess.DEVNULL)
            rc, _, _ = self.run("ch-clone", "-", "--name", name, stdin=exp.stdout,
                                extra_env=self.knobs())
            exp.stdout.close()
            exp.wait()
        else:
            rc, _, _ = self.run("ch-clone", s, "--name", name, extra_env=self.knobs())
        with self.lock:
            self.vms.append(name)
            if rc == 0:
                self.must_vm[name] = True
        return rc

    def op_restore(self):
        s = self.pick(self.snaps, self.must_snap)
        if s is None:
            return None
        # The snapshot's own VM, found from its record.
        rc, out, _ = self.run("ch-snapshot", "get", s, "--format=textproto")
        m = re.search(r'source_vm_id: "([0-9a-f]{16})"', out)
        if rc != 0 or not m:
            return rc or 1
        return self.run("ch-clone", "--restore", m.group(1), s, extra_env=self.knobs())[0]

    def op_rm(self):
        v = self.pick(self.vms, self.must_vm)
        if v is None:
            return None
        with self.lock:
            self.must_vm[v] = False
        return self.run("ch-launch", "rm", "--force", v)[0]

    def op_snap_rm(self):
        s = self.pick(self.snaps, self.must_snap)
        if s is None:
            return None
        with self.lock:
            self.must_snap[s] = False
        return self.run("ch-snapshot", "rm", s)[0]

    def op_gc(self):
        # The default grace: an in-flight save's temp dir is never a leftover.
        return self.run("ch-gc")[0]

    OPS = [("create", 14), ("start", 14), ("stop", 8), ("save", 12),
           ("export_import", 5), ("clone", 14), ("restore", 8), ("rm", 8),
           ("snap_rm", 4), ("gc", 5)]

    def worker(self):
        kinds = [k for k, _ in self.OPS]
        weights = [w for _, w in self.OPS]
        while True:
            with self.lock:
                kills = self.kills["tool"] + self.kills["ch"]
                if self.ops_done >= self.a.ops and (
                        kills >= self.a.min_kills or self.ops_done >= 3 * self.a.ops):
                    return
                self.ops_done += 1
                kind = self.rng.choices(kinds, weights)[0]
            # A kill at a random moment of about every other operation.
            timer = None
            with self.lock:
                if self.rng.random() < self.a.kill_rate:
                    timer = threading.Timer(self.rng.uniform(0.0, 0.3), self.kill_one,
                                            args=(threading.get_ident(),))
            if timer:
                timer.start()
            rc = getattr(self, "op_" + kind)()
            if timer:
                timer.join()
            with self.lock:
                self.ops_by_kind[kind] = self.ops_by_kind.get(kind, 0) + 1
                if rc == 0:
                    self.ok_by_kind[kind] = self.ok_by_kind.get(kind, 0) + 1

    # --- the killer -------------------------------------------------------
    def ours(self):
        """(pid, kind) of this campaign's tool and CH processes."""
        found = []
        tools = {self.bin[t] for t in TOOLS}
        for d in os.listdir("/proc"):
            if not d.isdigit():
                continue
            try:
                exe = os.readlink("/proc/%s/exe" % d)
                if exe in tools:
                    with open("/proc/%s/environ" % d, "rb") as fh:
                        if (b"CHTOOLS_ROOT_DIR=" + self.t.encode() + b"/root") in fh.read():
                            found.append((int(d), "tool"))
                elif exe == self.sim:
                    with open("/proc/%s/cmdline" % d, "rb") as fh:
                        if (self.t + "/run/").encode() in fh.read():
                            found.append((int(d), "ch"))
            except OSError:
                pass
        return found

    def kill_one(self, worker):
        """SIGKILL the tool `worker` runs now, or (a quarter of the time) a
        random CH of the campaign: a crash at a random moment of one
        operation."""
        if self.stop.is_set():
            return
        with self.lock:
            target_ch = self.rng.random() < 0.25
        victim = None
        if not target_ch:
            with self.lock:
                pid = self.active.get(worker)
            if pid:
                victim = (pid, "tool")
        if victim is None:  # or the operation was over: a VM's CH dies
            chs = [pid for pid, kind in self.ours() if kind == "ch"]
            if chs:
                with self.lock:
                    victim = (self.rng.choice(chs), "ch")
        if victim is None:
            return
        try:
            os.kill(victim[0], signal.SIGKILL)
            with self.lock:
                self.kills[victim[1]] += 1
        except OSError:
            pass

    # --- repair and invariants -------------------------------------------
    def records(self, kind):
        tool = "vm-index" if kind == "vm" else "ch-snapshot"
        rc, out, err = self.run(tool, "ls", "--format=json")
        if rc != 0:
            raise RuntimeError("%s ls failed (rc %d): %s" % (tool, rc, err))
        data = json.loads(out) if out.strip() else {}
        return data.get(kind, [])

    def api_state(self, sock):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(5)
        try:
            s.connect(sock)
            s.sendall(b"GET /api/v1/vm.info HTTP/1.1\r\nHost: localhost\r\nAccept: */*\r\n\r\n")
            buf = b""
            while b"\r\n\r\n" not in buf:
                chunk = s.recv(65536)
                if not chunk:
                    break
                buf += chunk
            head, _, body = buf.partition(b"\r\n\r\n")
            m = re.search(rb"Content-Length: (\d+)", head, re.I)
            n = int(m.group(1)) if m else 0
            while len(body) < n:
                chunk = s.recv(65536)
                if not chunk:
                    break
                body += chunk
            return json.loads(body).get("state", "?")
        except (OSError, ValueError) as e:
            return "unreachable (%s)" % e
        finally:
            s.close()

    def repair(self):
        steps = []
        first = self.run("vm-index", "fsck", "--repair", "--format=textproto")
        steps.append(("vm-index fsck --repair", first))
        # What fsck says a restore cut short needs: ch-launch stop puts the
        # VM's previous disk back (docs: README, ch-clone).
        for m in re.finditer(r'vm_id: "([0-9a-f]{16})"[^}]*restore was interrupted', first[1]):
            steps.append(("ch-launch stop " + m.group(1), self.run("ch-launch", "stop", m.group(1))))
        for v in self.records("vm"):
            if v.get("state") in ("DELETING", "deleting"):
                steps.append(("ch-launch rm " + v["id"], self.run("ch-launch", "rm", "--force", v["id"])))
        steps.append(("ch-gc --grace=0s", self.run("ch-gc", "--grace=0s")))
        steps.append(("vm-index fsck --repair", self.run("vm-index", "fsck", "--repair")))
        return steps

    def check(self):
        bad = []
        rc, out, err = self.run("vm-index", "ls")
        if rc != 0:
            bad.append("the index does not load: " + err)
            return bad
        rc, out, err = self.run("vm-index", "fsck", "--format=textproto")
        if rc != 0 or "finding" in out:
            bad.append("fsck after repair: rc %d: %s %s" % (rc, out, err))
        vms = self.records("vm")
        ids = {v["id"] for v in vms}
        names = {v.get("config", {}).get("name") for v in vms}
        run_parent = self.t + "/run/cloudhypervisor"
        for v in vms:
            sock = "%s/%s/api.sock" % (run_parent, v["id"])
            if v.get("state") in ("RUNNING", "running"):
                st = self.api_state(sock)
                if st != "Running":
                    bad.append("vm %s (%s) is RUNNING but its CH says %s" % (
                        v["id"], v["config"]["name"], st))
            elif v.get("state") not in ("CREATED", "STOPPED", "ERROR", "created", "stopped", "error"):
                bad.append("vm %s left in state %s" % (v["id"], v.get("state")))
        for pid, kind in self.ours():
            if kind == "tool":
                bad.append("a tool still runs: pid %d" % pid)
                continue
            try:
                with open("/proc/%d/cmdline" % pid, "rb") as fh:
                    cmd = fh.read().decode("utf-8", "replace")
            except OSError:
                continue
            m = re.search(r"cloudhypervisor/([0-9a-f]{16})/api\.sock", cmd)
            if not m or m.group(1) not in ids:
                bad.append("a CH runs without a record: pid %d: %s" % (pid, cmd.replace("\0", " ")))
        # Dirs: one per record, no staging, no temp.
        for parent in (run_parent, self.t + "/log/cloudhypervisor"):
            for d in os.listdir(parent) if os.path.isdir(parent) else []:
                if d not in ids:
                    bad.append("left behind: %s/%s" % (parent, d))
                elif os.path.exists("%s/%s/restore-staging" % (parent, d)):
                    bad.append("restore staging left: %s/%s" % (parent, d))
        store = self.t + "/root/cloudhypervisor/snapshots"
        for d in os.listdir(store) if os.path.isdir(store) else []:
            if d.startswith(".tmp-") or d.startswith(".rm-"):
                bad.append("snapshot temp left: " + d)
        snaps = self.records("snapshot")
        snap_names = {s.get("name") for s in snaps}
        for s in snaps:
            for f in s.get("files", []):
                path = "%s/%s/%s" % (store, s["id"], f["name"])
                try:
                    size = os.path.getsize(path)
                    h = hashlib.sha256()
                    with open(path, "rb") as fh:
                        for chunk in iter(lambda: fh.read(1 << 22), b""):
                            h.update(chunk)
                except OSError as e:
                    bad.append("snapshot %s: %s: %s" % (s["id"], f["name"], e))
                    continue
                if size != int(f.get("sizeBytes", f.get("size_bytes", -1))) or \
                        h.hexdigest() != f.get("sha256"):
                    bad.append("snapshot %s: %s does not verify" % (s["id"], f["name"]))
        for n, must in self.must_vm.items():
            if must and n not in names:
                bad.append("vm %s was made (exit 0) but is gone" % n)
        for n, must in self.must_snap.items():
            if must and n not in snap_names:
                bad.append("snapshot %s was saved (exit 0) but is gone" % n)
        # Nothing outside the root, run and log dirs (and the campaign's own).
        extra = set(os.listdir(self.t)) - {"root", "run", "log", "img", "arch"}
        if extra:
            bad.append("created outside root/run/log: %s" % sorted(extra))
        if os.listdir(self.t + "/arch"):
            pass  # archives of export_imports cut short: the campaign's own files
        self.final = (len(vms), len(snaps))
        return bad

    def cleanup(self):
        for pid, _ in self.ours():
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        time.sleep(0.2)
        shutil.rmtree(self.t, ignore_errors=True)

    def main(self):
        print("fault campaign: seed %d, %d operations, %d workers, dir %s" % (
            self.seed, self.a.ops, self.a.workers, self.t), flush=True)
        start = time.time()
        # Warm-up (no kills): a few running VMs with a snapshot each.
        for _ in range(3):
            self.op_create()
        for v in list(self.vms):
            self.run("ch-launch", "start", v)
            self.op_save_of(v)
        workers = [threading.Thread(target=self.worker) for _ in range(self.a.workers)]
        for w in workers:
            w.start()
        for w in workers:
            w.join()
        self.stop.set()
        run_s = time.time() - start
        kills = self.kills["tool"] + self.kills["ch"]
        print("operations: %d (%s)" % (sum(self.ops_by_kind.values()), ", ".join(
            "%s %d/%d ok" % (k, self.ok_by_kind.get(k, 0), n)
            for k, n in sorted(self.ops_by_kind.items()))), flush=True)
        print("kills: %d (%d tools, %d CH) in %.0f s" % (
            kills, self.kills["tool"], self.kills["ch"], run_s), flush=True)
        if self.a.verbose:
            for k, lines in sorted(self.errors.items()):
                print("failures of %s: %d" % (k, len(lines)))
                for l in lines[:4]:
                    print("    " + l)
        for what, (rc, out, err) in self.repair():
            n = out.count("finding {")
            print("repair: %s: rc %d, %d findings%s" % (what, rc, n, (": " + err.strip()[:300]) if rc else ""), flush=True)
        bad = self.check()
        print("after repair: %d VMs, %d snapshots" % self.final)
        for c in self.sigsys:
            bad.append("killed by its seccomp policy (SIGSYS): " + c)
        if kills < self.a.min_kills:
            bad.append("only %d kills (want >= %d)" % (kills, self.a.min_kills))
        for b in bad:
            print("VIOLATION: " + b, flush=True)
        if bad:
            print("FAIL: %d violations (seed %d)" % (len(bad), self.seed))
            if self.a.keep:
                print("kept: " + self.t)
                return 1
        else:
            print("PASS: every invariant holds (seed %d)" % self.seed)
        self.cleanup()
        return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(Campaign(parse_args()).main())
