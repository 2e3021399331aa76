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
  the Python socket level (bypassable by native code), files are not masked.

Limits in every mode: CPU time (RLIMIT_CPU), wall time (killed by the caller),
address space (RLIMIT_AS), file size (RLIMIT_FSIZE, also caps stdout/stderr, which
go to anonymous files, never to the caller's memory), no core dumps, and a scrubbed
environment. When the program's first process exits, the namespace's init exits and
the kernel kills everything the program left behind.
"""

from __future__ import annotations

import marshal
import os
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from typing import Sequence

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
# its config from fd argv[1] and writes its status to fd argv[2], both with marshal
# (built in: importing json would cost the run tens of milliseconds).
_BOOT = r'''
import marshal, os, resource, signal, sys
cfg_fd, st_fd = int(sys.argv[1]), int(sys.argv[2])
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
status = {"exit": None, "signal": None, "cpu": 0.0, "rss_kb": 0, "error": None}
work = cfg.get("workdir") or "/tmp/work"
def emit():
    os.write(st_fd, marshal.dumps(status))
def run_child(cfg, work):
    try:
        lim = cfg["limits"]
        cpu = max(1, int(-(-lim["cpu_s"] // 1)))
        for res, val in ((resource.RLIMIT_CPU, (cpu, cpu + 1)),
                         (resource.RLIMIT_AS, (lim["memory_mb"] << 20,) * 2),
                         (resource.RLIMIT_FSIZE, (lim["fsize_mb"] << 20,) * 2),
                         (resource.RLIMIT_CORE, (0, 0)),
                         (resource.RLIMIT_NOFILE, (256, 256))):
            resource.setrlimit(res, val)
        if cfg["uid"] is not None:
            resource.setrlimit(resource.RLIMIT_NPROC, (lim["nproc"],) * 2)
            os.setgroups([])
            os.setgid(cfg["uid"])
            os.setuid(cfg["uid"])
        os.chdir(work)
        os.umask(0o077)
        os.environ.clear()
        os.environ.update(cfg["env"])
        if cfg["mode"] == "socket":  # any use of _socket (import socket too) fails
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
            _, st = os.waitpid(init, 0)
            os._exit(0 if os.WIFEXITED(st) and os.WEXITSTATUS(st) == 0 else 3)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG: caller kills boot -> init dies
        if os.getppid() == 1:
            os._exit(3)
        mount("none", "/", None, MS_REC | MS_PRIVATE, None)
        for d in cfg["mask"]:
            mount("tmpfs", d, "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, "size=4k,mode=755")
        mount("tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV,
              "size=%dm,mode=755" % cfg["tmpfs_mb"])
        mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, None)
        os.mkdir(work, 0o700)
        if cfg["uid"] is not None:
            os.chown(work, cfg["uid"], cfg["uid"])
    for name, text in cfg["files"].items():
        with open(os.path.join(work, name), "w") as f:
            f.write(text)
        if cfg["uid"] is not None:
            os.chown(os.path.join(work, name), cfg["uid"], cfg["uid"])
    child = os.fork()
    if child == 0:
        try:
            os.close(st_fd)
            run_child(cfg, work)
        finally:
            os._exit(126)
    while True:  # as init, reap everything; stop when the program's first process ends
        pid, st, ru = os.wait4(-1, 0)
        if pid == child:
            break
    status["cpu"] = ru.ru_utime + ru.ru_stime
    status["rss_kb"] = ru.ru_maxrss
    if os.WIFSIGNALED(st):
        status["signal"] = os.WTERMSIG(st)
    else:
        status["exit"] = os.WEXITSTATUS(st)
except BaseException as exc:
    status["error"] = "%s: %s" % (type(exc).__name__, exc)
emit()
os._exit(0)
'''

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

    # -- one run ---------------------------------------------------------------
    def run_python(self, source: str, stdin: str = "", limits: Limits | None = None) -> RunResult:
        """Run Python source (executed in the sandboxed interpreter, as ``main.py``)."""
        return self._run(files={"main.py": source}, argv=None, inline="main.py",
                         stdin=stdin, limits=limits or self.limits)

    def run(self, argv: Sequence[str], stdin: str = "", files: dict[str, str] | None = None,
            limits: Limits | None = None) -> RunResult:
        """Execute ``argv`` (absolute program path first) inside the sandbox."""
        return self._run(files=files or {}, argv=list(argv), inline=None, stdin=stdin,
                         limits=limits or self.limits)

    def run_python_many(self, jobs: Sequence[tuple[str, str]],
                        limits: Limits | None = None) -> list[RunResult]:
        """(source, stdin) pairs, run in parallel up to ``workers`` at a time."""
        with ThreadPoolExecutor(self.workers) as pool:
            return list(pool.map(lambda j: self.run_python(j[0], j[1], limits), jobs))

    def _run(self, *, files, argv, inline, stdin, limits: Limits) -> RunResult:
        uid = _next_uid() if self.mode == "root" else None
        workdir = tempfile.mkdtemp(prefix="genrank-sbx-") if self.mode == "socket" else None
        env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8",
               "HOME": workdir or "/tmp/work", "TMPDIR": workdir or "/tmp/work",
               "PYTHONIOENCODING": "utf-8", "PYTHONHASHSEED": "0", "PYTHONDONTWRITEBYTECODE": "1"}
        cfg = {"mode": self.mode, "uid": uid, "parent": os.getpid(), "workdir": workdir, "files": files,
               "argv": argv, "inline": inline, "env": env, "mask": _mask_dirs(),
               "tmpfs_mb": limits.tmpfs_mb, "limits": asdict(limits)}
        cfg_r, cfg_w = os.pipe()
        st_r, st_w = os.pipe()
        fin = tempfile.TemporaryFile()
        fin.write(stdin.encode("utf-8", "replace"))
        fin.seek(0)
        fout, ferr = tempfile.TemporaryFile(), tempfile.TemporaryFile()
        t0 = time.perf_counter()
        try:
            proc = subprocess.Popen([self.python, "-I", "-S", "-c", _BOOT, str(cfg_r), str(st_w)],
                                    stdin=fin, stdout=fout, stderr=ferr, pass_fds=(cfg_r, st_w),
                                    env=env, cwd="/", start_new_session=True)
        except OSError as exc:
            for fd in (cfg_r, cfg_w, st_r, st_w):
                os.close(fd)
            return RunResult("sandbox_error", None, None, "", str(exc), 0.0, 0.0, mode=self.mode)
        os.close(cfg_r)
        os.close(st_w)
        with os.fdopen(cfg_w, "wb") as f:
            try:
                f.write(marshal.dumps(cfg))
            except BrokenPipeError:
                pass
        # Wait on the status pipe (EOF when the run is over), not with Popen.wait(timeout),
        # which polls with sleeps of up to 50 ms.
        raw_bytes, timed_out = _read_until_eof(st_r, t0 + limits.wall_s)
        if timed_out:
            _killpg(proc.pid)
        proc.wait()
        wall = time.perf_counter() - t0
        if self.mode == "socket":  # namespaced modes: the kernel killed the PID namespace
            _killpg(proc.pid)
        if workdir:
            shutil.rmtree(workdir, ignore_errors=True)
        cap = limits.fsize_mb << 20
        out, err = _read(fout, cap), _read(ferr, cap)
        for fh in (fin, fout, ferr):
            fh.close()
        try:
            status = marshal.loads(raw_bytes) if raw_bytes else {}
        except (EOFError, ValueError, TypeError):
            status = {"error": "unreadable status from sandbox"}
        return _verdict(status, out, err, wall, timed_out, limits, self.mode)


def _read_until_eof(fd: int, deadline: float) -> tuple[bytes, bool]:
    """Everything written to ``fd`` until EOF, or (partial, True) at the deadline."""
    chunks = []
    try:
        while True:
            left = deadline - time.perf_counter()
            if left <= 0 or not select.select([fd], [], [], left)[0]:
                return b"".join(chunks), True
            chunk = os.read(fd, 65536)
            if not chunk:
                return b"".join(chunks), False
            chunks.append(chunk)
    finally:
        os.close(fd)


def _killpg(pid: int) -> None:
    try:
        os.killpg(pid, signal.SIGKILL)
    except ProcessLookupError:
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
    """The interpreter for sandboxed Python: ours, unless the per-run uid (root mode)
    cannot reach its standard library (e.g. a pyenv under a 0700 /root); then the
    system's python3."""
    if mode != "root":
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
    return {
        "mode": mode,
        "network": "network namespace (no interfaces up)" if ns
        else "blocked at the Python socket level only (native code can bypass it)",
        "filesystem": ("private tmpfs /tmp (only writable place), world-writable dirs masked, "
                       + ("runs as an unused uid: host files read-only" if mode == "root"
                          else "caller's uid: caller-writable files stay writable")) if ns
        else "fresh temp dir as cwd; host files writable by the caller stay writable",
        "processes": ("PID namespace (leftovers killed at exit), fresh /proc, "
                      + ("RLIMIT_NPROC on a per-run uid" if mode == "root"
                         else "no per-run process limit")) if ns
        else "process group killed at exit; no per-run process limit",
        "limits": "RLIMIT_CPU, RLIMIT_AS, RLIMIT_FSIZE (stdout/stderr too), no core, wall-time kill",
        "environment": "scrubbed (PATH, LANG, HOME, TMPDIR only)",
    }
