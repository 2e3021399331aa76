"""Run untrusted (model-generated) programs so that they cannot touch the host.

Every run is a separate process tree started through a small bootstrap
(``_BOOT``, run with ``python -I -S``) that, depending on what the machine allows:

* ``root`` mode (we are root): unshares mount, network and PID namespaces, mounts
  a size-limited private tmpfs on ``/tmp`` (the run's only writable place,
  ``/tmp/work``), masks the other world-writable directories with empty read-only
  tmpfs, mounts a fresh ``/proc``, then runs the program under a never-used uid
  (so RLIMIT_NPROC counts only this run's processes, files of the host are read-only
  to it, and it cannot signal host processes).
* ``userns`` mode (unprivileged user namespaces allowed): the same namespaces, but the
  program keeps the caller's uid (no per-run process count; files the caller can
  write stay writable outside the mount masks).
* ``socket`` mode (neither): plain rlimited child; the network is blocked only at
  the Python socket level (bypassable by native code), files are not masked. As root
  it still runs the program under a never-used uid (host files read-only to it, and
  it can signal none of the host's processes).

One box serves many runs of the same program (``run_python_tests``): the namespaces
and mounts are set up once, then its init forks the program once per test case with
fresh limits, a fresh ``/tmp`` tmpfs, and everything the previous case left running
killed first; test inputs and outputs travel as file descriptors, never through the
box's memory. That keeps the isolation of one box per run at a fraction of its cost
(Python start-up, ctypes, namespace set-up are paid once per program, not per test).

Limits in every mode: CPU time (RLIMIT_CPU), wall time (killed by the caller; the
deadline is extended while the program keeps using CPU on a loaded machine, so CPU
time, not machine load, decides time limits),
address space (RLIMIT_AS), file size (RLIMIT_FSIZE, also caps stdout/stderr, which
go to anonymous files, never to the caller's memory), no core dumps, and a scrubbed
environment. When the program's first process exits, init kills everything else in
the box (PID namespace) or the program's process group (socket mode).
"""

from __future__ import annotations

import marshal
import os
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from typing import Callable, Sequence

MODES = ("root", "userns", "socket")
# Verdicts a run can end with; everything but "ok" means the output is not judged.
VERDICTS = ("ok", "runtime_error", "time_limit", "wall_time_limit", "memory_limit",
            "output_limit", "sandbox_error")
_UID_BASE = 0x10000000  # per-run uids: never in /etc/passwd, below 2**31


@dataclass(frozen=True)
class Limits:
    """Resource limits of one run (a Codeforces-like default: 10 s CPU, 512 MiB)."""

    cpu_s: float = 10.0
    wall_s: float = 20.0
    memory_mb: int = 512
    nproc: int = 16          # tasks (processes + threads) of the run's uid
    fsize_mb: int = 16       # any file the run writes, stdout/stderr included
    tmpfs_mb: int = 32       # size of the private /tmp (root/userns modes)


@dataclass
class RunResult:
    verdict: str
    exit_code: int | None
    signal: int | None
    stdout: str
    stderr: str
    cpu_s: float
    wall_s: float
    max_rss_mb: float = 0.0
    mode: str = ""
    detail: dict = field(default_factory=dict)

    def as_dict(self) -> dict:
        d = asdict(self)
        d["stdout"], d["stderr"] = d["stdout"][:200], d["stderr"][-500:]
        return d


# The bootstrap runs as the child of the caller with a scrubbed environment. It reads
# its config from fd argv[1] (marshal: built in, importing json would cost tens of ms),
# sets the box up once (namespaces, mounts), and then, as the box's init, runs one test
# case per request on the control socket fd argv[2]: each request carries the case's
# stdin/stdout/stderr as file descriptors (SCM_RIGHTS), so test data never passes
# through the box's memory (a forked program could read it there); init forks the
# program with fresh limits, waits, kills whatever it left behind, resets /tmp and
# replies with the status. EOF on the socket ends the box.
_BOOT = r"""
import marshal, os, resource, signal, sys
import _socket
cfg_fd, ctl_fd = int(sys.argv[1]), int(sys.argv[2])
with os.fdopen(cfg_fd, "rb") as f:
    cfg = marshal.loads(f.read())
mode = cfg["mode"]
if mode != "socket":
    import ctypes
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG: the caller dies -> this run dies
    if os.getppid() != cfg["parent"]:
        os._exit(3)
def check(rc, what):
    if rc != 0:
        e = ctypes.get_errno()
        raise OSError(e, what + ": " + os.strerror(e))
def mount(src, dst, fstype, flags, data):
    check(libc.mount(src.encode(), dst.encode(), fstype.encode() if fstype else None,
                     ctypes.c_ulong(flags), data.encode() if data else None), "mount " + dst)
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC, MS_REC, MS_PRIVATE = 1, 2, 4, 8, 16384, 1 << 18
NEWNS, NEWUSER, NEWPID, NEWNET = 0x20000, 0x10000000, 0x20000000, 0x40000000
work = cfg.get("workdir") or "/tmp/work"
ctl = _socket.socket(fileno=ctl_fd)
def run_child(cfg, work, fds):
    try:
        signal.signal(signal.SIGINT, signal.default_int_handler)
        os.close(ctl_fd)
        for i, fd in enumerate(fds):
            os.dup2(fd, i)
        os.closerange(3, 1 << 16)
        lim = cfg["limits"]
        cpu = max(1, int(-(-lim["cpu_s"] // 1)))
        for res, val in ((resource.RLIMIT_CPU, (cpu, cpu + 1)),
                         (resource.RLIMIT_AS, (lim["memory_mb"] << 20,) * 2),
                         (resource.RLIMIT_FSIZE, (lim["fsize_mb"] << 20,) * 2),
                         (resource.RLIMIT_CORE, (0, 0)),
                         (resource.RLIMIT_NOFILE, (256, 256))):
            resource.setrlimit(res, val)
        if mode == "socket":
            os.setpgid(0, 0)  # init kills this group when the program ends
        if cfg["uid"] is not None:
            resource.setrlimit(resource.RLIMIT_NPROC, (lim["nproc"],) * 2)
            os.setgroups([])
            os.setgid(cfg["uid"])
            os.setuid(cfg["uid"])
        os.chdir(work)
        os.umask(0o077)
        os.environ.clear()
        os.environ.update(cfg["env"])
        if mode == "socket":  # any use of _socket (import socket too) fails
            stub = type(sys)("_socket")
            def _blocked(name):
                raise PermissionError(1, "network disabled by sandbox")
            stub.__getattr__ = _blocked
            sys.modules["_socket"] = stub
        if cfg["inline"] is None:
            os.execve(cfg["argv"][0], cfg["argv"], cfg["env"])
        sys.argv = [cfg["inline"]]
        sys.path[:0] = [work]
        with open(cfg["inline"]) as f:
            code = compile(f.read(), cfg["inline"], "exec")
    except BaseException as exc:
        os.write(2, ("sandbox setup failed: %s\n" % exc).encode())
        os._exit(125)
    g = {"__name__": "__main__", "__file__": sys.argv[0], "__builtins__": __builtins__}
    rc = 0
    try:
        exec(code, g)
    except SystemExit as e:
        if e.code is None or isinstance(e.code, int):
            rc = e.code or 0
        else:
            print(e.code, file=sys.stderr)
            rc = 1
    except BaseException as exc:
        g.clear()
        rc = 1
        try:
            import traceback
            traceback.print_exc()
        except BaseException:
            os.write(2, ("\n%s\n" % type(exc).__name__).encode())
    th = sys.modules.get("threading")
    if th is not None:
        th._shutdown()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except BaseException:
            rc = rc or 120
    os._exit(rc)
def site_builtins():  # -S skips site, which gives programs exit() and quit(): add them
    import builtins
    class Quitter:
        def __init__(self, name):
            self.name = name
        def __repr__(self):
            return "Use %s() or Ctrl-D (i.e. EOF) to exit" % self.name
        def __call__(self, code=None):
            try:
                sys.stdin.close()
            except BaseException:
                pass
            raise SystemExit(code)
    for name in ("exit", "quit"):
        if not hasattr(builtins, name):
            setattr(builtins, name, Quitter(name))
site_builtins()
def fresh_workdir(first):
    if mode == "socket":
        if first and cfg["uid"] is not None:
            os.chown(work, cfg["uid"], cfg["uid"])
        if not first:
            for root, dirs, files in os.walk(work, topdown=False):  # never follows links
                for n in files + dirs:
                    path = os.path.join(root, n)
                    if os.path.isdir(path) and not os.path.islink(path):
                        os.rmdir(path)
                    else:
                        os.unlink(path)
    else:  # a new tmpfs per test case: nothing carries over, the size cap starts afresh
        if not first:
            check(libc.umount2(b"/tmp", 2), "umount /tmp")  # MNT_DETACH
        mount("tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, "size=%dm,mode=755" % cfg["tmpfs_mb"])
        os.mkdir(work, 0o700)
        if cfg["uid"] is not None:
            os.chown(work, cfg["uid"], cfg["uid"])
    for name, text in cfg["files"].items():
        with open(os.path.join(work, name), "w") as f:
            f.write(text)
        if cfg["uid"] is not None:
            os.chown(os.path.join(work, name), cfg["uid"], cfg["uid"])
def recv_fds():
    msg, anc, _, _ = ctl.recvmsg(16, _socket.CMSG_SPACE(3 * 4))
    fds = []
    for level, kind, data in anc:
        if level == _socket.SOL_SOCKET and kind == _socket.SCM_RIGHTS:
            fds += [int.from_bytes(data[i:i + 4], sys.byteorder, signed=True)
                    for i in range(0, len(data) - len(data) % 4, 4)]
    return msg, fds
def kill_leftovers(child):
    try:
        if mode == "socket":
            os.killpg(child, signal.SIGKILL)
            if cfg["uid"] is not None and cfg["uid"] > 0:  # also any that left the group
                killer = os.fork()
                if killer == 0:
                    try:
                        os.setuid(cfg["uid"])
                        if os.getuid() == cfg["uid"] and os.geteuid() == cfg["uid"]:
                            os.kill(-1, signal.SIGKILL)  # as the run's uid: only its processes
                    finally:
                        os._exit(0)
                os.waitpid(killer, 0)
        elif os.getpid() == 1:  # as the PID namespace's init: every other process in the box
            os.kill(-1, signal.SIGKILL)
    except OSError:
        pass
    while True:
        try:
            os.waitpid(-1, 0)
        except ChildProcessError:
            return
def serve():
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # signals from the box must not end init
    first = True
    while True:
        msg, fds = recv_fds()
        if not msg:
            return
        status = {"exit": None, "signal": None, "cpu": 0.0, "rss_kb": 0, "error": None}
        try:
            if len(fds) != 3:
                raise OSError("expected 3 descriptors, got %d" % len(fds))
            fresh_workdir(first)
            first = False
            child = os.fork()
            if child == 0:
                try:
                    run_child(cfg, work, fds)
                finally:
                    os._exit(126)
            while True:  # as init, reap everything; stop when the program's first process ends
                pid, st, ru = os.wait4(-1, 0)
                if pid == child:
                    break
            kill_leftovers(child)
            status["cpu"] = ru.ru_utime + ru.ru_stime
            status["rss_kb"] = ru.ru_maxrss
            if os.WIFSIGNALED(st):
                status["signal"] = os.WTERMSIG(st)
            else:
                status["exit"] = os.WEXITSTATUS(st)
        except BaseException as exc:
            status["error"] = "%s: %s" % (type(exc).__name__, exc)
        for fd in fds:
            os.close(fd)
        ctl.send(marshal.dumps(status))
try:
    if mode in ("root", "userns"):
        uid, gid = os.getuid(), os.getgid()
        check(libc.unshare(NEWNS | NEWNET | NEWPID | (NEWUSER if mode == "userns" else 0)),
              "unshare")
        if mode == "userns":
            with open("/proc/self/setgroups", "w") as f: f.write("deny")
            with open("/proc/self/uid_map", "w") as f: f.write("0 %d 1" % uid)
            with open("/proc/self/gid_map", "w") as f: f.write("0 %d 1" % gid)
        init = os.fork()
        if init:  # outside the PID namespace: relay init's fate to the caller
            ctl.close()
            _, st = os.waitpid(init, 0)
            os._exit(0 if os.WIFEXITED(st) and os.WEXITSTATUS(st) == 0 else 3)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG: caller kills boot -> init dies
        if os.getppid() == 1:
            os._exit(3)
        mount("none", "/", None, MS_REC | MS_PRIVATE, None)
        for d in cfg["mask"]:
            mount("tmpfs", d, "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, "size=4k,mode=755")
        mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, None)
    serve()
except BaseException as exc:
    try:
        ctl.send(marshal.dumps({"error": "%s: %s" % (type(exc).__name__, exc)}))
    except OSError:
        pass
os._exit(0)
"""

_MASK_CANDIDATES = ("/var/tmp", "/dev/shm", "/run/lock", "/var/lock", "/dev/mqueue",
                    "/var/crash", "/var/mail")
_counter = iter(range(1, 1 << 62))
_counter_lock = threading.Lock()


def _mask_dirs() -> list[str]:
    """World-writable directories outside /tmp that the run must not write to."""
    out = []
    for d in _MASK_CANDIDATES:
        try:
            if os.path.isdir(d) and not os.path.islink(d) and os.stat(d).st_mode & 0o002:
                out.append(d)
        except OSError:
            pass
    return out


def _next_uid() -> int:
    with _counter_lock:
        n = next(_counter)
    return _UID_BASE + ((os.getpid() & 0xFFFF) << 12) + (n & 0xFFF)


class Sandbox:
    """Runs programs in the strongest isolation mode the machine allows.

    ``mode`` None picks automatically (root > userns > socket); ``python`` is the
    interpreter used for Python programs (the current one by default).
    """

    def __init__(self, limits: Limits | None = None, *, mode: str | None = None,
                 python: str | None = None, workers: int | None = None) -> None:
        self.limits = limits or Limits()
        self.mode = mode or detect_mode()
        if self.mode not in MODES:
            raise ValueError(f"unknown sandbox mode {self.mode!r}")
        self.python = python or default_python(self.mode)
        self.workers = workers or os.cpu_count() or 1

    # -- runs ------------------------------------------------------------------
    def run_python(self, source: str, stdin: str = "", limits: Limits | None = None) -> RunResult:
        """Run Python source (executed in the sandboxed interpreter, as ``main.py``)."""
        return self.run_python_tests(source, [stdin], limits)[0]

    def run_python_tests(self, source: str, stdins: Sequence[str], limits: Limits | None = None,
                         keep_going: Callable[[int, RunResult], bool] | None = None,
                         ) -> list[RunResult | None]:
        """Run one program on several inputs, one after the other, in one box.

        The box is set up once; each input gets a fresh fork of its init with fresh
        limits, a fresh /tmp and none of the other runs' processes (the same isolation as
        one box per run, at a fraction of the cost). ``keep_going(index, result)``
        returning False skips the remaining inputs (their results are None).
        """
        return self._batch(files={"main.py": source}, argv=None, inline="main.py",
                           stdins=list(stdins), limits=limits or self.limits,
                           keep_going=keep_going)

    def run(self, argv: Sequence[str], stdin: str = "", files: dict[str, str] | None = None,
            limits: Limits | None = None) -> RunResult:
        """Execute ``argv`` (absolute program path first) inside the sandbox."""
        return self._batch(files=files or {}, argv=list(argv), inline=None, stdins=[stdin],
                           limits=limits or self.limits, keep_going=None)[0]

    def run_python_many(self, jobs: Sequence[tuple[str, str]],
                        limits: Limits | None = None) -> list[RunResult]:
        """(source, stdin) pairs, run in parallel up to ``workers`` at a time."""
        with ThreadPoolExecutor(self.workers) as pool:
            return list(pool.map(lambda j: self.run_python(j[0], j[1], limits), jobs))

    def _batch(self, *, files, argv, inline, stdins: list[str], limits: Limits,
               keep_going) -> list[RunResult | None]:
        results: list[RunResult | None] = [None] * len(stdins)
        t = 0
        while t < len(stdins):  # a box that dies (wall limit, crash) is replaced for the rest
            box = _Box(self, files, argv, inline, limits)
            try:
                while t < len(stdins):
                    res = box.run(stdins[t])
                    results[t] = res
                    t += 1
                    if keep_going is not None and not keep_going(t - 1, res):
                        return results
                    if box.dead:
                        break
            finally:
                box.close()
        return results


class _Box:
    """One started bootstrap: namespaces and mounts set up, serving test cases."""

    def __init__(self, sb: Sandbox, files, argv, inline, limits: Limits) -> None:
        self.mode, self.limits, self.dead = sb.mode, limits, False
        # a never-used uid wherever we may switch to one (root, even without namespaces)
        uid = _next_uid() if sb.mode != "userns" and os.geteuid() == 0 else None
        self.workdir = tempfile.mkdtemp(prefix="genrank-sbx-") if sb.mode == "socket" else None
        env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8",
               "HOME": self.workdir or "/tmp/work", "TMPDIR": self.workdir or "/tmp/work",
               "PYTHONIOENCODING": "utf-8", "PYTHONHASHSEED": "0", "PYTHONDONTWRITEBYTECODE": "1"}
        cfg = {"mode": sb.mode, "uid": uid, "parent": os.getpid(), "workdir": self.workdir,
               "files": files, "argv": argv, "inline": inline, "env": env, "mask": _mask_dirs(),
               "tmpfs_mb": limits.tmpfs_mb, "limits": asdict(limits)}
        cfg_r, cfg_w = os.pipe()
        self.ctl, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.proc: subprocess.Popen | None = None
        self.error = ""
        try:
            self.proc = subprocess.Popen(
                [sb.python, "-I", "-S", "-c", _BOOT, str(cfg_r), str(theirs.fileno())],
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                pass_fds=(cfg_r, theirs.fileno()), env=env, cwd="/", start_new_session=True)
        except OSError as exc:
            self.error, self.dead = str(exc), True
        finally:
            os.close(cfg_r)
            theirs.close()
        try:
            if self.proc is not None:
                _write_all(cfg_w, marshal.dumps(cfg))
        except BrokenPipeError:  # the bootstrap died early: its status says why
            pass
        finally:
            os.close(cfg_w)

    def run(self, stdin: str) -> RunResult:
        """One test case: hand the box its stdin/stdout/stderr, wait for the status."""
        if self.dead:
            return RunResult("sandbox_error", None, None, "", self.error or "box is gone", 0.0,
                             0.0, mode=self.mode)
        lim = self.limits
        with tempfile.TemporaryFile() as fin, tempfile.TemporaryFile() as fout, \
                tempfile.TemporaryFile() as ferr:
            fin.write(stdin.encode("utf-8", "replace"))
            fin.seek(0)
            t0 = time.perf_counter()
            try:
                socket.send_fds(self.ctl, [b"r"], [fin.fileno(), fout.fileno(), ferr.fileno()])
                raw, timed_out = self._reply(t0 + lim.wall_s, lim.wall_s)
            except OSError as exc:
                raw, timed_out = b"", False
                self.error = str(exc)
            wall = time.perf_counter() - t0
            if timed_out or not raw:
                self.dead = True
                self.close()  # the wall limit (or a crash): the whole box goes
            cap = lim.fsize_mb << 20
            out, err = _read(fout, cap), _read(ferr, cap)
        try:
            status = marshal.loads(raw) if raw else {"error": self.error or "sandbox ended"}
        except (EOFError, ValueError, TypeError):
            status = {"error": "unreadable status from sandbox"}
        return _verdict(status, out, err, wall, timed_out, lim, self.mode)

    def _reply(self, deadline: float, wall_s: float) -> tuple[bytes, bool]:
        """The status message, or (b"", True) at the wall deadline. A deadline is
        extended while the box keeps burning CPU (it is starved by a loaded machine,
        not sleeping: RLIMIT_CPU will decide), up to 4x the wall limit, unless the box has
        used more CPU in all than one process may (several processes: a fork bomb)."""
        hard, cpu_seen = deadline + 3 * wall_s, 0.0  # (boot start-up: a few ms of CPU)
        while True:
            left = deadline - time.perf_counter()
            if left > 0 and select.select([self.ctl], [], [], left)[0]:
                return self.ctl.recv(1 << 16), False
            if left > 0:
                continue
            cpu = _tree_cpu(self.proc.pid)
            step = min(wall_s / 2, hard - time.perf_counter())
            if (step <= 0 or cpu is None or cpu_seen is None or cpu - cpu_seen < 0.1 * wall_s
                    or cpu > self.limits.cpu_s + 1):
                return b"", True
            cpu_seen, deadline = cpu, time.perf_counter() + step

    def close(self) -> None:
        """End the box: EOF on the control socket lets init exit (the kernel then
        kills anything left in its PID namespace); a box that does not, is killed."""
        self.ctl.close()
        if self.proc is None:
            return
        proc, self.proc = self.proc, None
        if self.dead:
            if self.mode == "socket":  # no namespace to end: the program has its own group
                for p in _tree(proc.pid)[1:]:
                    _killpg(p, only_own_group=True)
            _killpg(proc.pid)
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            _killpg(proc.pid)
            proc.wait()
        if self.mode == "socket":  # namespaced modes: the kernel killed the PID namespace
            _killpg(proc.pid)
        if self.workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def _tree(pid: int) -> list[int]:
    """``pid`` and all its descendants that can be seen now."""
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        try:
            for task in os.listdir(f"/proc/{p}/task"):
                with open(f"/proc/{p}/task/{task}/children") as f:
                    todo.extend(int(c) for c in f.read().split())
        except (OSError, ValueError):
            pass
    return out


def _tree_cpu(pid: int) -> float | None:
    """CPU seconds used so far by ``pid`` and all its descendants (None if unreadable)."""
    total = 0
    for p in _tree(pid):
        try:
            with open(f"/proc/{p}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
        except (OSError, ValueError, IndexError):
            if p == pid:
                return None
    return total / os.sysconf("SC_CLK_TCK")


def _killpg(pid: int, only_own_group: bool = False) -> None:
    """SIGKILL the process group led by ``pid`` (with ``only_own_group``: only if ``pid``
    leads one, else just ``pid``)."""
    try:
        if only_own_group and os.getpgid(pid) != pid:
            os.kill(pid, signal.SIGKILL)
        else:
            os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def _read(fh, cap: int) -> str:
    fh.seek(0)
    return fh.read(cap).decode("utf-8", "replace")


def _verdict(status: dict, out: str, err: str, wall: float, timed_out: bool, limits: Limits,
             mode: str) -> RunResult:
    cpu = float(status.get("cpu") or 0.0)
    rss = float(status.get("rss_kb") or 0) / 1024
    sig, code = status.get("signal"), status.get("exit")
    tail = err[-2000:]
    if timed_out:
        verdict = "wall_time_limit"
    elif status.get("error") or not status:
        verdict, tail = "sandbox_error", (status.get("error") or "no status from sandbox") + "\n" + tail
    elif code == 125 and "sandbox setup failed" in tail:
        verdict = "sandbox_error"
    elif sig == signal.SIGXCPU or (sig == signal.SIGKILL and cpu >= limits.cpu_s):
        verdict = "time_limit"
    elif sig == signal.SIGXFSZ or "File too large" in tail or len(out) >= limits.fsize_mb << 20:
        verdict = "output_limit"
    elif "MemoryError" in tail or (sig in (signal.SIGSEGV, signal.SIGKILL, signal.SIGABRT)
                                   and rss >= 0.8 * limits.memory_mb):
        verdict = "memory_limit"
    elif sig is not None or code != 0:
        verdict = "runtime_error"
    else:
        verdict = "ok"
    return RunResult(verdict, code, sig, out, tail, cpu, wall, rss, mode)


def _others_can_reach(path: str) -> bool:
    """True if a uid with no privileges can traverse to ``path`` and read it."""
    p = os.path.realpath(path)
    while True:
        try:
            mode = os.stat(p).st_mode
        except OSError:
            return False
        if not mode & 0o001 and not (os.path.isfile(p) and mode & 0o004):
            return False
        parent = os.path.dirname(p)
        if parent == p:
            return True
        p = parent


@lru_cache(maxsize=4)
def default_python(mode: str) -> str:
    """The interpreter for sandboxed Python: ours, unless the per-run uid (root, in
    root or socket mode) cannot reach its standard library (e.g. a pyenv under a 0700
    /root); then the system's python3."""
    if mode == "userns" or os.geteuid() != 0:
        return sys.executable
    stdlib = os.path.dirname(os.__file__)
    if _others_can_reach(sys.executable) and _others_can_reach(stdlib):
        return sys.executable
    for cand in ("/usr/bin/python3", "/usr/local/bin/python3", shutil.which("python3") or ""):
        if cand and os.path.exists(cand) and _others_can_reach(cand):
            return os.path.realpath(cand)
    return sys.executable


@lru_cache(maxsize=1)
def detect_mode() -> str:
    """The strongest mode that works here; override with GENRANK_SANDBOX_MODE."""
    forced = os.environ.get("GENRANK_SANDBOX_MODE")
    if forced:
        return forced
    candidates = (["root"] if os.geteuid() == 0 else []) + ["userns"]
    for mode in candidates:
        res = Sandbox(Limits(cpu_s=5, wall_s=10), mode=mode).run_python("print('ok')")
        if res.verdict == "ok" and res.stdout.strip() == "ok":
            return mode
    return "socket"


def isolation_report(mode: str | None = None) -> dict[str, str]:
    """What the sandbox isolates on this machine, in words (for logs and reports)."""
    mode = mode or detect_mode()
    ns = mode in ("root", "userns")
    own_uid = mode != "userns" and os.geteuid() == 0  # the run gets a never-used uid
    if ns:
        files = ("private tmpfs /tmp per test case (only writable place), world-writable "
                 "dirs masked, " + ("runs as an unused uid: host files read-only" if own_uid
                                    else "caller's uid: caller-writable files stay writable"))
        procs = "PID namespace (leftovers killed after each case), fresh /proc, " + (
            "RLIMIT_NPROC on a per-run uid" if own_uid else "no per-run process limit")
    else:
        files = "fresh temp dir as cwd (emptied between cases); " + (
            "runs as an unused uid: only world-writable host files are writable" if own_uid
            else "host files writable by the caller stay writable")
        procs = ("process group killed after each case; " + (
            "then every process of the run's uid, RLIMIT_NPROC on it" if own_uid
            else "no per-run process limit"))
    return {
        "mode": mode,
        "network": "network namespace (no interfaces up)" if ns
        else "blocked at the Python socket level only (native code can bypass it)",
        "filesystem": files,
        "processes": procs,
        "limits": "RLIMIT_CPU, RLIMIT_AS, RLIMIT_FSIZE (stdout/stderr too), no core, wall-time "
                  "kill (extended while the program keeps using CPU)",
        "environment": "scrubbed (PATH, LANG, HOME, TMPDIR only)",
    }
