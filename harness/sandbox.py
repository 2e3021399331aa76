"""Run untrusted (model-generated) programs so that they cannot see or touch the host.

Isolation comes from bubblewrap (``bwrap``), not from code of ours. Levels, strongest
first (``isolation_report()`` names them and the active one):

1. ``bwrap-cgroup``: a fresh root holding only the interpreter, its standard library and
   the shared libraries they load (read-only) and a size-capped tmpfs ``/tmp`` (the only
   writable place); new user, PID, network, IPC, UTS and cgroup namespaces; a new session;
   death with the caller; a seccomp filter (built by libseccomp) refusing namespace
   creation, ptrace and cross-process memory access, mounts, keyrings, bpf,
   perf_event_open, io_uring, memfd_create, System V shared memory and message queues;
   and a memory + process-count cgroup per box (needs a writable cgroup v1 ``memory`` and
   ``pids`` hierarchy or cgroup v2 with both controllers, e.g. as root).
2. ``bwrap-rlimit``: the same without the cgroup: memory by RLIMIT_AS per process (the
   filter's memfd/shm refusal closes the ways around it), processes by RLIMIT_NPROC.
3. none: generated code is refused (``IsolationUnavailable``) unless the user passed
   ``--unsafe-code``; then ``unsafe``: a plain rlimited child in a temp dir that sees
   the whole host.

One box serves many runs of the same program (``run_python_tests``): the box is set up
once, then its init (the bootstrap ``_BOOT``, PID 1 of the box) forks the program once
per test case with fresh limits, an emptied ``/tmp`` and everything the previous case
left running killed first; test inputs and outputs travel as file descriptors, never
through the box's memory. Limits: CPU time (RLIMIT_CPU), wall time (killed by the
caller; extended while a single-process program keeps using CPU on a loaded machine, so
CPU time, not machine load, decides; never past twice the limit), memory, file size
(RLIMIT_FSIZE, also capping stdout/stderr, which go to anonymous files), process count,
no core dumps, a scrubbed environment.
"""

from __future__ import annotations

import json
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
from pathlib import Path
from typing import Callable, Sequence

from harness.errors import GenrankError

LEVELS = ("bwrap-cgroup", "bwrap-rlimit")  # isolating levels, strongest first
MODES = LEVELS + ("unsafe",)
UNSAFE_ENV = "GENRANK_UNSAFE_CODE"  # set by --unsafe-code (inherited by shard processes)
# Verdicts a run can end with; everything but "ok" means the output is not judged.
VERDICTS = ("ok", "runtime_error", "time_limit", "wall_time_limit", "memory_limit",
            "output_limit", "sandbox_error")
_BOX_UID = 1000  # the program's uid inside the box (mapped to the caller's outside)
_INIT_MB = 64    # headroom for the box's init in the cgroup memory limit


class IsolationUnavailable(GenrankError):
    """No level that hides the host file system works here, and --unsafe-code is off."""


@dataclass(frozen=True)
class Limits:
    """Resource limits of one run (a Codeforces-like default: 10 s CPU, 512 MiB)."""

    cpu_s: float = 10.0
    wall_s: float = 20.0
    memory_mb: int = 512
    nproc: int = 16          # tasks (processes + threads) of a box
    fsize_mb: int = 16       # any file the run writes, stdout/stderr included
    tmpfs_mb: int = 32       # size of the box's /tmp


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


# The box's init, passed to ``python -I -S -c`` (a file of its own so that it is real,
# linted Python; it never runs in the caller).
_BOOT = (Path(__file__).parent / "sandbox_init.py").read_text()


# --- what the box holds --------------------------------------------------------------

@lru_cache(maxsize=4)
def _interpreter_layout(python: str) -> tuple[str, tuple[str, ...], tuple[str, ...]]:
    """(real executable, its isolated sys.path dirs, the shared libraries they load)."""
    exe = os.path.realpath(python)
    out = subprocess.run([exe, "-I", "-S", "-c",
                          "import sys, json; print(json.dumps(sys.path))"],
                         capture_output=True, text=True, timeout=30, env={}, check=True)
    dirs = tuple(p for p in json.loads(out.stdout) if os.path.isdir(p))
    objects = [exe] + [str(f) for d in dirs for f in Path(d).glob("*.so")]
    ldd = subprocess.run(["ldd", *objects], capture_output=True, text=True, timeout=60,
                         env={"LC_ALL": "C"})
    libs = set()
    for line in ldd.stdout.splitlines():
        part = line.split("=>")[-1].strip().split(" (")[0].strip()
        if part.startswith("/") and os.path.exists(part):
            libs.add(part)
    return exe, dirs, tuple(sorted(libs))


@lru_cache(maxsize=1)
def _bwrap() -> str | None:
    return shutil.which("bwrap")


# Syscalls the box refuses (EPERM): namespaces, tracing and other processes' memory,
# mounts, keyrings, kernel interfaces, and memory that RLIMIT_AS does not count.
_REFUSED = (
    "unshare", "setns", "ptrace", "process_vm_readv", "process_vm_writev", "pidfd_getfd",
    "kcmp", "mount", "umount2", "pivot_root", "chroot", "open_tree", "move_mount", "fsopen",
    "fsconfig", "fsmount", "fspick", "mount_setattr", "keyctl", "add_key", "request_key",
    "bpf", "perf_event_open", "userfaultfd", "io_uring_setup", "io_uring_enter",
    "io_uring_register", "memfd_create", "memfd_secret", "shmget", "shmat", "msgget",
    "mq_open", "kexec_load", "kexec_file_load", "init_module", "finit_module",
    "delete_module", "reboot", "swapon", "swapoff", "acct", "quotactl", "syslog",
    "lookup_dcookie", "vhangup", "name_to_handle_at", "open_by_handle_at", "fanotify_init",
    "sethostname", "setdomainname", "iopl", "ioperm", "settimeofday", "clock_settime",
    "clock_adjtime", "adjtimex", "uselib", "personality")
_NS_FLAGS = (0x00020000, 0x02000000, 0x04000000, 0x08000000, 0x10000000, 0x20000000,
             0x40000000)  # CLONE_NEWNS, NEWCGROUP, NEWUTS, NEWIPC, NEWUSER, NEWPID, NEWNET
_TIOCSTI = 0x5412


@lru_cache(maxsize=1)
def seccomp_program() -> bytes | None:
    """The box's seccomp filter as BPF for ``bwrap --seccomp`` (built by libseccomp through
    pyseccomp), or None when libseccomp is missing. Native architecture only: syscalls
    of any other ABI (i386 ``int 0x80``, x32) kill the process."""
    try:
        import pyseccomp as sc
    except (ImportError, OSError, RuntimeError, AttributeError):  # libseccomp missing
        return None
    eperm = sc.ERRNO(1)
    f = sc.SyscallFilter(sc.ALLOW)
    for name in _REFUSED:
        try:
            f.add_rule(eperm, name)
        except (ValueError, OSError):  # not a syscall of this architecture
            pass
    for flag in _NS_FLAGS:
        f.add_rule(eperm, "clone", sc.Arg(0, sc.MASKED_EQ, flag, flag))
    f.add_rule(sc.ERRNO(38), "clone3")  # ENOSYS: its flags cannot be inspected; libc falls back
    f.add_rule(eperm, "ioctl", sc.Arg(1, sc.MASKED_EQ, 0xFFFFFFFF, _TIOCSTI))
    with tempfile.TemporaryFile() as fh:
        f.export_bpf(fh)
        fh.seek(0)
        return fh.read()


# --- cgroups -------------------------------------------------------------------------

@lru_cache(maxsize=1)
def _own_cgroup_dirs() -> dict[str, Path] | None:
    """Writable ``memory`` and ``pids`` cgroup directories of this process (v1 or v2)."""
    try:
        lines = Path("/proc/self/cgroup").read_text().splitlines()
    except OSError:
        return None
    found: dict[str, Path] = {}
    for line in lines:
        _, ctrls, path = line.split(":", 2)
        for ctrl in ("memory", "pids"):
            if ctrl in ctrls.split(","):
                found[ctrl] = Path("/sys/fs/cgroup", ctrl, path.lstrip("/"))
        if ctrls == "" and not found:
            v2 = Path("/sys/fs/cgroup", path.lstrip("/"))
            try:
                if {"memory", "pids"} <= set(
                        (v2 / "cgroup.subtree_control").read_text().split()):
                    return {"memory": v2, "pids": v2}
            except OSError:
                pass
    if set(found) == {"memory", "pids"} and all(os.access(d, os.W_OK) for d in found.values()):
        _remove_stale(found)
        return found
    return None


def _remove_stale(parents: dict[str, Path]) -> None:
    """Box cgroups left by callers that were killed (named after their pid)."""
    for parent in set(parents.values()):
        for d in parent.glob("genrank-sbx-*-*"):
            pid = d.name.split("-")[2]
            if pid.isdigit() and not os.path.exists(f"/proc/{pid}"):
                try:
                    d.rmdir()
                except OSError:
                    pass


class _Cgroup:
    """One box's memory + pids cgroup (v1: one directory per hierarchy; v2: one)."""

    def __init__(self, parents: dict[str, Path], name: str, limits: Limits) -> None:
        self.dirs = list(dict.fromkeys(parent / name for parent in parents.values()))
        self.memory, v2 = parents["memory"] / name, parents["memory"] == parents["pids"]
        mem = (limits.memory_mb + limits.tmpfs_mb + _INIT_MB) << 20
        for d in self.dirs:
            d.mkdir()
        if v2:
            settings = {"memory.max": mem, "memory.swap.max": 0, "pids.max": limits.nproc + 1}
        else:
            settings = {"memory.limit_in_bytes": mem, "memory.memsw.limit_in_bytes": mem,
                        "pids.max": limits.nproc + 1}
        for key, value in settings.items():
            target = (self.memory if key.startswith("memory") else parents["pids"] / name) / key
            if target.exists():
                target.write_text(str(value))

    def ooms(self) -> int:
        """How many processes of the box the kernel killed for memory so far."""
        for name in ("memory.events", "memory.oom_control"):
            try:
                for line in (self.memory / name).read_text().splitlines():
                    if line.startswith("oom_kill "):
                        return int(line.split()[1])
            except OSError:
                pass
        return 0

    def remove(self) -> None:
        for d in self.dirs:
            for _ in range(50):  # the last processes may still be exiting
                try:
                    d.rmdir()
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    time.sleep(0.02)


# --- levels ----------------------------------------------------------------------------

def unsafe_allowed() -> bool:
    return os.environ.get(UNSAFE_ENV) == "1"


def allow_unsafe_code(allowed: bool = True) -> None:
    """What ``--unsafe-code`` does: without isolation, run generated code anyway."""
    if allowed:
        os.environ[UNSAFE_ENV] = "1"
    else:
        os.environ.pop(UNSAFE_ENV, None)


@lru_cache(maxsize=1)
def detect_level() -> str | None:
    """The strongest isolating level that works here (None: none does); override with
    GENRANK_SANDBOX_MODE (one of LEVELS; ``unsafe`` only comes from --unsafe-code)."""
    forced = os.environ.get("GENRANK_SANDBOX_MODE")
    if forced in LEVELS:
        return forced
    if _bwrap() is None or seccomp_program() is None:
        return None
    for level in LEVELS:
        if level == "bwrap-cgroup" and _own_cgroup_dirs() is None:
            continue
        try:
            res = Sandbox(Limits(cpu_s=5, wall_s=20), mode=level).run_python("print('ok')")
        except (OSError, ValueError, subprocess.SubprocessError):  # e.g. no ldd
            continue
        if res.verdict == "ok" and res.stdout.strip() == "ok":
            return level
    return None


def detect_mode() -> str:
    """The mode generated code runs in: the detected level, else ``unsafe`` if allowed;
    raises IsolationUnavailable otherwise."""
    level = detect_level()
    if level is not None:
        return level
    if unsafe_allowed():
        return "unsafe"
    why = ("bubblewrap is not installed (apt-get install bubblewrap)" if _bwrap() is None
           else "libseccomp (libseccomp2) or pyseccomp is missing" if seccomp_program() is None
           else "bwrap cannot start a box here (unprivileged user namespaces disabled?)")
    raise IsolationUnavailable(
        f"no sandbox that hides the host file system can run generated code: {why}; "
        "pass --unsafe-code to run it without one", field="verifier")


def isolation_report(mode: str | None = None) -> dict[str, str]:
    """What the sandbox isolates on this machine, in words (for logs and run metadata)."""
    level = detect_level()
    mode = mode or (level or ("unsafe" if unsafe_allowed() else "refused"))
    order = ("bwrap-cgroup (bubblewrap + seccomp + memory/pids cgroup) > bwrap-rlimit "
             "(bubblewrap + seccomp + RLIMIT_AS/RLIMIT_NPROC, memfd/shm refused) > refuse "
             "generated code (unless --unsafe-code: unsafe, a plain rlimited child that "
             "sees the host)")
    if mode in LEVELS:
        files = ("fresh root: interpreter, standard library and its shared libraries "
                 "read-only; size-capped tmpfs /tmp (emptied per case) the only writable place")
        memory = ("cgroup memory limit per box (+ RLIMIT_AS per process)"
                  if mode == "bwrap-cgroup"
                  else "RLIMIT_AS per process; memfd_create and System V shm refused")
        return {"mode": mode, "order": order, "filesystem": files, "memory": memory,
                "namespaces": "user, PID, network, IPC, UTS, cgroup (--unshare-all)",
                "seccomp": "refuses namespaces (unshare, setns, clone with CLONE_NEW*), ptrace "
                           "and other processes' memory, mounts, keyrings, bpf, "
                           "perf_event_open, io_uring, memfd_create, System V shm/msg, "
                           "kernel administration; other ABIs killed",
                "processes": ("pids cgroup" if mode == "bwrap-cgroup" else "RLIMIT_NPROC")
                             + "; the box's init kills leftovers after each case",
                "limits": "RLIMIT_CPU, RLIMIT_FSIZE (stdout/stderr too), no core, wall-time kill",
                "environment": "scrubbed (PATH, LANG, HOME, TMPDIR only)"}
    return {"mode": mode, "order": order,
            "filesystem": "the whole host (unsafe)" if mode == "unsafe"
            else "generated code is refused: no level works here",
            "memory": "RLIMIT_AS per process", "namespaces": "none", "seccomp": "none",
            "processes": "process group killed after each case", "limits": "rlimits",
            "environment": "scrubbed"}


# --- running ---------------------------------------------------------------------------

class Sandbox:
    """Runs programs at the strongest isolation level the machine allows.

    ``mode`` None picks automatically (see the module docstring; raises
    IsolationUnavailable when nothing isolates and --unsafe-code is off); ``python`` is
    the interpreter used for Python programs (the current one by default).
    """

    def __init__(self, limits: Limits | None = None, *, mode: str | None = None,
                 python: str | None = None, workers: int | None = None) -> None:
        self.limits = limits or Limits()
        self.mode = mode or detect_mode()
        if self.mode not in MODES:
            raise ValueError(f"unknown sandbox mode {self.mode!r}")
        self.python = python or sys.executable
        self.workers = workers or os.cpu_count() or 1
        self._cgroups = _own_cgroup_dirs() if self.mode == "bwrap-cgroup" else None
        if self.mode == "bwrap-cgroup" and self._cgroups is None:
            raise ValueError("bwrap-cgroup mode needs writable memory and pids cgroups")

    def run_python(self, source: str, stdin: str = "", limits: Limits | None = None) -> RunResult:
        """Run Python source (executed in the sandboxed interpreter, as ``main.py``)."""
        return self.run_python_tests(source, [stdin], limits)[0]

    def run_python_tests(self, source: str, stdins: Sequence[str], limits: Limits | None = None,
                         keep_going: Callable[[int, RunResult], bool] | None = None,
                         ) -> list[RunResult | None]:
        """Run one program on several inputs, one after the other, in one box.

        The box is set up once; each input gets a fresh fork of its init with fresh
        limits, an emptied /tmp and none of the other runs' processes.
        ``keep_going(index, result)`` returning False skips the remaining inputs (their
        results are None).
        """
        return self._batch(files={"main.py": source}, argv=None, inline="main.py",
                           stdins=list(stdins), limits=limits or self.limits,
                           keep_going=keep_going)

    def run(self, argv: Sequence[str], stdin: str = "", files: dict[str, str] | None = None,
            limits: Limits | None = None) -> RunResult:
        """Execute ``argv`` (absolute program path first; it must exist in the box)."""
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


_counter = iter(range(1, 1 << 62))
_counter_lock = threading.Lock()


def _bwrap_argv(python: str, limits: Limits, seccomp_fd: int) -> list[str]:
    exe, dirs, libs = _interpreter_layout(python)
    argv = [_bwrap() or "bwrap", "--unshare-all", "--unshare-user", "--disable-userns",
            "--uid", str(_BOX_UID), "--gid", str(_BOX_UID), "--hostname", "box",
            "--die-with-parent", "--new-session", "--as-pid-1"]
    for path in (exe, *dirs, *libs):
        argv += ["--ro-bind", path, path]
    for d in dirs:  # third-party packages are not the standard library
        if os.path.isdir(os.path.join(d, "site-packages")):
            argv += ["--tmpfs", os.path.join(d, "site-packages"),
                     "--remount-ro", os.path.join(d, "site-packages")]
    argv += ["--proc", "/proc", "--dev", "/dev",
             "--size", str(limits.tmpfs_mb << 20), "--perms", "0700", "--tmpfs", "/tmp",
             "--remount-ro", "/dev", "--remount-ro", "/proc", "--remount-ro", "/",
             "--chdir", "/tmp",
             "--seccomp", str(seccomp_fd), "--", exe]
    return argv


class _Box:
    """One started bootstrap (inside bwrap unless unsafe), serving test cases."""

    def __init__(self, sb: Sandbox, files, argv, inline, limits: Limits) -> None:
        self.mode, self.limits, self.dead = sb.mode, limits, False
        boxed = sb.mode != "unsafe"
        self.workdir = None if boxed else tempfile.mkdtemp(prefix="genrank-sbx-")
        work = self.workdir or "/tmp"
        env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8",
               "HOME": work, "TMPDIR": work, "PYTHONIOENCODING": "utf-8",
               "PYTHONHASHSEED": "0", "PYTHONDONTWRITEBYTECODE": "1"}
        cfg = {"mode": sb.mode, "workdir": work, "files": files, "argv": argv,
               "inline": inline, "env": env, "limits": asdict(limits)}
        self.cgroup: _Cgroup | None = None
        self.proc: subprocess.Popen | None = None
        self.error = ""
        cfg_r, cfg_w = os.pipe()
        self.ctl, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        # detach: the fd is closed below by number; a socket object still owning it would
        # close it again when collected, by then maybe another thread's file (a race)
        keep = [cfg_r, theirs.detach()]
        try:
            if boxed:
                filt_r, filt_w = os.pipe()
                keep.append(filt_r)
                os.write(filt_w, seccomp_program() or b"")  # a few hundred bytes: fits the pipe
                os.close(filt_w)
                cmd = _bwrap_argv(sb.python, limits, filt_r)
                if sb._cgroups is not None:
                    with _counter_lock:
                        name = f"genrank-sbx-{os.getpid()}-{next(_counter)}"
                    self.cgroup = _Cgroup(sb._cgroups, name, limits)
                    procs = " ".join(f"'{d}/cgroup.procs'" for d in self.cgroup.dirs)
                    cmd = ["/bin/sh", "-c", f'for f in {procs}; do echo $$ > "$f" || exit 99; '
                           'done; exec "$@"', "sh", *cmd]
            else:
                cmd = [os.path.realpath(sb.python)]
            self.proc = subprocess.Popen(
                [*cmd, "-I", "-S", "-c", _BOOT, str(cfg_r), str(keep[1])],
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                pass_fds=keep, env=env, cwd="/", start_new_session=True)
        except OSError as exc:
            self.error, self.dead = str(exc), True
        finally:
            for fd in keep:
                os.close(fd)
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
        ooms = self.cgroup.ooms() if self.cgroup else 0
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
            oom = bool(self.cgroup) and self.cgroup.ooms() > ooms
            if timed_out or not raw:
                self.dead = True
                self.close()  # the wall limit (or a crash): the whole box goes
            cap = lim.fsize_mb << 20
            out, err = _read(fout, cap), _read(ferr, cap)
        try:
            status = marshal.loads(raw) if raw else {"error": self.error or "sandbox ended"}
        except (EOFError, ValueError, TypeError):
            status = {"error": "unreadable status from sandbox"}
        return _verdict(status, out, err, wall, timed_out, lim, self.mode, oom)

    def _reply(self, deadline: float, wall_s: float) -> tuple[bytes, bool]:
        """The status message, or (b"", True) at the wall deadline. The deadline is
        extended while the program, a single process, keeps burning CPU (it is starved by a
        loaded machine, not sleeping: RLIMIT_CPU will decide), but never past twice the
        wall limit, nor for a box running several processes (a fork bomb)."""
        hard, cpu_seen = deadline + wall_s, 0.0
        alone = 2 if self.mode == "unsafe" else 3  # (bwrap,) init, program
        while True:
            left = deadline - time.perf_counter()
            if left > 0 and select.select([self.ctl], [], [], left)[0]:
                return self.ctl.recv(1 << 16), False
            if left > 0:
                continue
            tree = _tree(self.proc.pid)
            cpu = _tree_cpu(tree)
            step = min(wall_s / 2, hard - time.perf_counter())
            if (step <= 0 or cpu is None or len(tree) > alone or cpu - cpu_seen < 0.1 * wall_s
                    or cpu > self.limits.cpu_s + 1):
                return b"", True
            cpu_seen, deadline = cpu, time.perf_counter() + step

    def close(self) -> None:
        """End the box: EOF on the control socket lets init exit (the kernel then kills
        everything left in its PID namespace); a box that does not, is killed."""
        self.ctl.close()
        proc, self.proc = self.proc, None
        if proc is not None:
            if self.dead:  # bwrap's child dies with it (--die-with-parent)
                _killpg(proc.pid)
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                _killpg(proc.pid)
                proc.wait()
            if self.mode == "unsafe":  # no namespace to end: kill the program's group too
                _killpg(proc.pid)
        if self.cgroup is not None:
            self.cgroup.remove()
            self.cgroup = None
        if self.workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)
            self.workdir = None


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


def _tree_cpu(tree: list[int]) -> float | None:
    """CPU seconds used so far by the processes of ``tree`` (None if its root is gone)."""
    total = 0
    for p in tree:
        try:
            with open(f"/proc/{p}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
        except (OSError, ValueError, IndexError):
            if p == tree[0]:
                return None
    return total / os.sysconf("SC_CLK_TCK")


def _killpg(pid: int) -> None:
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def _read(fh, cap: int) -> str:
    fh.seek(0)
    return fh.read(cap).decode("utf-8", "replace")


def _verdict(status: dict, out: str, err: str, wall: float, timed_out: bool, limits: Limits,
             mode: str, oom: bool = False) -> RunResult:
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
    elif oom or "MemoryError" in tail or (sig in (signal.SIGSEGV, signal.SIGKILL, signal.SIGABRT)
                                          and rss >= 0.8 * limits.memory_mb):
        verdict = "memory_limit"
    elif sig is not None or code != 0:
        verdict = "runtime_error"
    else:
        verdict = "ok"
    return RunResult(verdict, code, sig, out, tail, cpu, wall, rss, mode)
