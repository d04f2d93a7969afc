#!/usr/bin/env bash
# ch-console: usage errors, a stopped VM, pipe mode, and the interactive mode
# on a real pseudo-terminal (raw mode restored, ^] ? help, ^] . disconnect,
# --escape-char, window size forwarded to the PTY console).
source "$(dirname "$0")/lib.sh"
make_direct_files
"$LAUNCH" create --name con --cpu 1 --memory 512M --kernel "$T/img/vmlinuz" \
  --initrd "$T/img/initrd.img" --layer "$T/img/layer0.erofs" >/dev/null \
  || die "create"
# Without a NIC the direct-boot guest has no cocoon.hostname= (docs/cocoon-lessons.md §4.2).
host=localhost

run "$CONSOLE" --escape-char=^1 con
[[ $rc == 2 && $err == *"--escape-char=^1"* ]] || die "bad escape char"
run "$CONSOLE"
[[ $rc == 2 ]] || die "no ref"
run "$CONSOLE" --timeout=1s con </dev/null
[[ $rc == 1 && -z $out && $err == *'vm "con": console: not running'* ]] || die "stopped VM: $err"
run "$CONSOLE" --timeout=1s nope </dev/null
[[ $rc == 1 && $err == *'vm "nope": not found'* ]] || die "unknown VM"

run "$LAUNCH" start con
[[ $rc == 0 ]] || die "start"

# Pipe mode: stdin to the console until EOF, output until --timeout.
start_ns=$(date +%s%N)
run "$CONSOLE" --timeout=500ms con <<<hostname
ms=$(( ($(date +%s%N) - start_ns) / 1000000 ))
[[ $rc == 0 ]] && has_line "$host" || die "pipe hostname"
(( ms >= 500 && ms < 3000 )) || die "--timeout=500ms took $ms ms"

# Without --timeout: after stdin's EOF the session ends once the console has
# been quiet for --idle (the guest answered).
start_ns=$(date +%s%N)
run timeout 20 "$CONSOLE" --idle=300ms con <<<hostname
ms=$(( ($(date +%s%N) - start_ns) / 1000000 ))
[[ $rc == 0 ]] && has_line "$host" || die "pipe without --timeout (rc=$rc after $ms ms)"
(( ms >= 300 && ms < 5000 )) || die "--idle=300ms ended after $ms ms"
run "$CONSOLE" --idle=0s con </dev/null
[[ $rc == 2 && $err == *"--idle=0s"* ]] || die "bad --idle"

# One session per console: a second ch-console is refused while the first
# is attached, and works again after it.
{ sleep 2; echo hostname; } | "$CONSOLE" --idle=300ms con >"$T/first.out" 2>&1 &
first=$!
sleep 0.5
run "$CONSOLE" --timeout=1s con <<<hostname
[[ $rc == 1 && -z $out && $err == *'vm "con": console: another ch-console session is attached'* ]] \
  || die "second session on one console"
wait "$first" || die "the first session failed: $(<"$T/first.out")"
grep -q "$host" "$T/first.out" || die "the first session lost its answer: $(<"$T/first.out")"
run "$CONSOLE" --timeout=500ms con <<<hostname
[[ $rc == 0 ]] && has_line "$host" || die "a session after the first ended"

# Interactive: drive ch-console on a pty.
chpid=$(cat "$T"/run/cloudhypervisor/*/ch.pid)
run python3 - "$CONSOLE" "$host" "$chpid" <<'PY'
import os, pty, re, select, sys, termios, time, fcntl, struct
console, host, chpid = sys.argv[1], sys.argv[2], sys.argv[3]

def console_pty_size():
    # The PTY CH serves the console on (its /dev/pts/N).
    for f in os.listdir("/proc/%s/fd" % chpid):
        target = os.readlink("/proc/%s/fd/%s" % (chpid, f))
        if target.startswith("/dev/pts/") and target != "/dev/pts/ptmx":
            fd = os.open(target, os.O_RDONLY | os.O_NOCTTY)
            rows, cols, _, _ = struct.unpack("HHHH", fcntl.ioctl(fd, termios.TIOCGWINSZ, b"\0" * 8))
            os.close(fd)
            return rows, cols
    return None

def wait_size(want):
    end = time.time() + 5
    while console_pty_size() != want and time.time() < end:
        time.sleep(0.02)
    return console_pty_size()

def session(args, keys, kill=False):
    pid, fd = pty.fork()
    if pid == 0:
        os.execv(console, [console] + args + ["con"])
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 33, 111, 0, 0))
    before = termios.tcgetattr(fd)
    out = b""
    def read_until(pat, timeout=5):
        # pat: bytes, or a compiled bytes regex.
        nonlocal out
        found = lambda: pat.search(out) if hasattr(pat, "search") else pat in out
        end = time.time() + timeout
        while not found() and time.time() < end:
            r, _, _ = select.select([fd], [], [], 0.1)
            if r:
                try:
                    out += os.read(fd, 4096)
                except OSError:
                    break
        return bool(found())
    assert read_until(b"escape sequence"), out
    raw = termios.tcgetattr(fd)
    assert not (raw[3] & termios.ECHO) and not (raw[3] & termios.ICANON), "not raw"
    got = wait_size((33, 111))
    assert got == (33, 111), ("initial window size", got)
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
    got = wait_size((40, 120))
    assert got == (40, 120), ("SIGWINCH not forwarded", got)
    for k, pat in keys:
        os.write(fd, k)
        if pat:
            assert read_until(pat), (k, pat, out)
    if kill:
        os.kill(pid, 15)
    _, status = os.waitpid(pid, 0)
    read_until(b"Disconnected", 1)
    after = termios.tcgetattr(fd)
    assert after == before, "terminal not restored"
    return os.waitstatus_to_exitcode(status), out

# The guest ends its lines in "\r\n" (like a real one); accept "\n" too.
answer = re.compile(re.escape(host.encode()) + rb"\r?\nroot@")
code, out = session([], [(b"hostname\r", answer),
                         (b"\x1d?", b"disconnect"),
                         (b"\x1d.", None)])
assert code == 0, code
assert b"Disconnected from con." in out, out
code, out = session(["--escape-char=^x"], [(b"\x1d.", None), (b"\x18.", None)])
assert code == 0 and b"escape sequence: ^X." in out, out
# SIGTERM: the terminal is restored too, exit 128+15.
code, out = session([], [], kill=True)
assert code == 143, code
# stdout a pipe nobody reads (ch-console con | head, head gone), SIGPIPE at
# its default as a shell leaves it: the write fails, the terminal is restored
# and the exit is 1, not a death by SIGPIPE in raw mode.
import signal
r, w = os.pipe()
pid, fd = pty.fork()
if pid == 0:
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    os.close(r)
    os.dup2(w, 1)
    os.execv(console, [console, "con"])
os.close(w)
os.close(r)
before = termios.tcgetattr(fd)
out = b""
end = time.time() + 5
while b"escape sequence" not in out and time.time() < end:
    if select.select([fd], [], [], 0.1)[0]:
        out += os.read(fd, 4096)
assert b"escape sequence" in out, out
os.write(fd, b"hostname\r")
_, status = os.waitpid(pid, 0)
assert termios.tcgetattr(fd) == before, "terminal left raw after a closed stdout"
assert os.waitstatus_to_exitcode(status) == 1, os.waitstatus_to_exitcode(status)
print("ok")
PY
[[ $rc == 0 && $out == ok ]] || die "interactive session"

run "$LAUNCH" stop con
[[ $rc == 0 ]] || die "stop"
echo PASS
