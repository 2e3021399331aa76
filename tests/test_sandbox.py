"""The sandbox runs programs with clear verdicts and limits, one box serving many test
cases; it refuses generated code where nothing isolates it. (Hostile programs:
tests/test_sandbox_hostile.py.)"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import pytest

from harness import sandbox
from harness.errors import GenrankError
from harness.sandbox import (LEVELS, IsolationUnavailable, Limits, Sandbox, detect_level,
                             isolation_report)

LEVEL = detect_level()
needs_box = pytest.mark.skipif(
    LEVEL is None, reason="no bubblewrap + seccomp isolation here (apt-get install bubblewrap; "
                          "CI installs it)")
LIMITS = Limits(cpu_s=2, wall_s=6, memory_mb=256, nproc=16, fsize_mb=2, tmpfs_mb=8)


@pytest.fixture(scope="module")
def sb() -> Sandbox:
    if LEVEL is None:
        pytest.skip("no bubblewrap + seccomp isolation here (apt-get install bubblewrap)")
    return Sandbox(LIMITS)


@pytest.fixture
def no_isolation(monkeypatch):
    """A machine where no level works (bwrap missing)."""
    monkeypatch.setattr(sandbox, "detect_level", lambda: None)
    monkeypatch.setattr(sandbox, "_bwrap", lambda: None)
    monkeypatch.delenv(sandbox.UNSAFE_ENV, raising=False)


def _host_pids() -> set[int]:
    return {int(p) for p in os.listdir("/proc") if p.isdigit()}


@needs_box
def test_report_names_the_level_and_the_fallback_order():
    rep = isolation_report()
    assert rep["mode"] == LEVEL in LEVELS
    assert rep["order"].index("bwrap-cgroup") < rep["order"].index("bwrap-rlimit") < \
        rep["order"].index("refuse")
    assert ("cgroup" in rep["memory"]) == (LEVEL == "bwrap-cgroup")


def test_without_isolation_generated_code_is_refused(no_isolation, capsys):
    """One clear error (exit 2, before any model work), naming the way out."""
    from genrank.cli import main
    from suites.easy2hard.code import CodeforcesVerifier

    with pytest.raises(IsolationUnavailable, match="bubblewrap.*--unsafe-code"):
        Sandbox(LIMITS)
    with pytest.raises(GenrankError):
        CodeforcesVerifier(cpu_s=1)
    assert isolation_report()["mode"] == "refused"
    # the model (the default alias) would load after planning: it never gets there
    assert main(["run", "--task", "e2h_codeforces", "--limit", "1", "-o", "/nonexistent"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: no sandbox") and "--unsafe-code" in err[0]


def test_unsafe_code_runs_unisolated_and_is_recorded(no_isolation):
    from suites.easy2hard.code import CodeforcesVerifier

    sandbox.allow_unsafe_code()
    try:
        ver = CodeforcesVerifier(cpu_s=1)
        assert ver.describe()["sandbox"] == {"mode": "unsafe", "unsafe_code": True}
        res = Sandbox(LIMITS).run_python("print(input()[::-1])", "abc")
        assert (res.mode, res.verdict, res.stdout.strip()) == ("unsafe", "ok", "cba")
        assert isolation_report()["mode"] == "unsafe"
    finally:
        sandbox.allow_unsafe_code(False)


def test_cli_flag_sets_unsafe_code(monkeypatch):
    from genrank.cli import build_parser
    from genrank.commands import apply_unsafe_code

    monkeypatch.delenv(sandbox.UNSAFE_ENV, raising=False)
    for argv in (["run", "--unsafe-code"], ["score", "--task", "t", "--predictions", "p",
                                            "--unsafe-code"], ["submit", "x", "--unsafe-code"],
                 ["import-lm-eval", "d", "--unsafe-code"]):
        apply_unsafe_code(build_parser().parse_args(argv))
        assert sandbox.unsafe_allowed()
        monkeypatch.delenv(sandbox.UNSAFE_ENV)
    apply_unsafe_code(build_parser().parse_args(["run"]))
    assert not sandbox.unsafe_allowed()


def test_box_holds_only_the_interpreter(sb):
    """The root has the interpreter's files, a fresh /proc and /dev, and /tmp: nothing of
    the host's /work, /root (beyond the interpreter), /run, /etc, /home or data."""
    res = sb.run_python(
        "import os, sys\nseen = []\n"
        "for root, dirs, files in os.walk('/'):\n"
        "    if root.startswith(('/proc', '/dev')):\n        dirs[:] = []\n"
        "    seen += [os.path.join(root, f) for f in files]\n"
        "print(len(seen))\n"
        "print([p for p in seen if not p.startswith(('/tmp/', '/proc/', '/dev/', '/lib',"
        " os.path.dirname(os.path.dirname(sys.executable))))])\n"
        "print(sorted(os.listdir('/')))")
    assert res.verdict == "ok", res.stderr
    count, strays, top = res.stdout.splitlines()
    assert int(count) > 100 and strays == "[]"
    assert not {"work", "etc", "run", "home", "var", "usr", "srv", "mnt"} & set(eval(top))


def test_plain_program_reads_stdin(sb):
    res = sb.run_python("a, b = map(int, input().split())\nprint(a + b)", "2 3\r\n")
    assert (res.verdict, res.stdout.strip()) == ("ok", "5")


def test_runtime_error_and_exit_code(sb):
    assert sb.run_python("raise ValueError('x')").verdict == "runtime_error"
    assert sb.run_python("import sys; sys.exit(3)").exit_code == 3
    assert sb.run_python("import sys; sys.exit(0)").verdict == "ok"


@needs_box
def test_infinite_loop_hits_cpu_limit():
    # generous wall time: on a busy machine 1 s of CPU can take many seconds of wall time
    res = Sandbox(Limits(cpu_s=1, wall_s=60)).run_python("while True: pass")
    assert res.verdict == "time_limit"
    assert 0.5 <= res.cpu_s < 3.0


@needs_box
def test_sleeping_program_hits_wall_limit():
    marker = f"genrank-sleeper-{os.getpid()}"
    res = Sandbox(Limits(cpu_s=2, wall_s=1.5)).run_python(
        "import subprocess, sys, time\n"
        f"subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)', '{marker}'])\n"
        "time.sleep(30)")
    assert res.verdict == "wall_time_limit"
    assert res.wall_s < 5
    time.sleep(0.3)  # the box went down with everything in it
    for pid in _host_pids():
        try:
            assert marker not in Path(f"/proc/{pid}/cmdline").read_text()
        except OSError:
            pass


def test_children_left_behind_are_killed(sb):
    marker = f"genrank-orphan-{os.getpid()}"
    res = sb.run_python("import subprocess, sys\n"
                        f"subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)', '{marker}'])\n"
                        "print('spawned')")
    assert res.verdict == "ok"
    time.sleep(0.3)
    for pid in _host_pids():
        try:
            assert marker not in Path(f"/proc/{pid}/cmdline").read_text()
        except OSError:
            pass


def test_parallel_runs(sb):
    jobs = [(f"print({i} * 2)", "") for i in range(8)]
    res = sb.run_python_many(jobs)
    assert [r.stdout.strip() for r in res] == [str(i * 2) for i in range(8)]
    assert threading.active_count() >= 1


# --- one box, many test cases -----------------------------------------------------------

def test_batch_runs_are_isolated_from_each_other(sb):
    """Each case of a batch starts from a clean /tmp with no process of the previous one."""
    src = ("import os, subprocess, sys, time\n"
           "case = input().strip()\n"
           "print(case, sorted(os.listdir('.')), os.path.exists('/tmp/left.txt'))\n"
           "open('left.txt', 'w').write(case)\n"
           "subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'])\n"
           "print(len([p for p in os.listdir('/proc') if p.isdigit()]))")
    res = sb.run_python_tests(src, ["a\n", "b\n", "c\n"])
    assert [r.verdict for r in res] == ["ok"] * 3, [r.stderr for r in res]
    lines = [r.stdout.split("\n") for r in res]
    assert [ln[0] for ln in lines] == [f"{c} ['main.py'] False" for c in "abc"]
    # init, the program and its sleeper: the previous sleeper is gone
    assert {ln[1] for ln in lines} == {"3"}


@needs_box
def test_batch_keep_going_and_recovery_after_wall_limit():
    """A case that hits the wall limit takes its box down; the next cases get a new one."""
    box = Sandbox(Limits(cpu_s=2, wall_s=1.5))
    src = "import time\nn = int(input())\nif n == 1: time.sleep(30)\nprint(n * 10)"
    res = box.run_python_tests(src, ["0", "1", "2", "3"])
    assert [r.verdict for r in res] == ["ok", "wall_time_limit", "ok", "ok"]
    assert [r.stdout.strip() for r in res if r.verdict == "ok"] == ["0", "20", "30"]
    seen = []
    res = box.run_python_tests("print(int(input()) // 2)", ["4", "x", "8"],
                               keep_going=lambda i, r: seen.append(i) or r.verdict == "ok")
    assert seen == [0, 1] and res[1].verdict == "runtime_error" and res[2] is None


def test_batch_limits_apply_per_case(sb):
    """Limits are per case: a CPU-heavy case does not eat into the next one's budget."""
    src = ("import time\nt = time.process_time()\n"
           "while time.process_time() - t < 1.2: pass\nprint('done')")
    res = sb.run_python_tests(src, ["", ""])
    assert [r.verdict for r in res] == ["ok", "ok"]  # 2.4 s in all, 2 s per case


def test_site_builtins_exist(sb):
    """Programs may end with exit()/quit() as under a plain ``python3 main.py``."""
    res = sb.run_python_tests("print(1)\nexit()\nprint(2)", [""])[0]
    assert (res.verdict, res.stdout.strip()) == ("ok", "1")
    assert sb.run_python("quit(3)").exit_code == 3


@needs_box
def test_killed_caller_leaves_nothing(tmp_path):
    """SIGKILL the caller mid-run: its box dies with it (--die-with-parent) and its empty
    cgroup is swept by the next sandbox user."""
    import signal
    import subprocess
    import sys

    marker = f"genrank-orphan-box-{os.getpid()}"
    script = ("from harness.sandbox import Sandbox, Limits\n"  # (marker reversed: not ours)
              "Sandbox(Limits(cpu_s=2, wall_s=60)).run_python("
              f"\"import os, sys, time\\nos.execv(sys.executable, [sys.executable, '-c', "
              f"'import time; time.sleep(60)', '{marker[::-1]}'[::-1]])\")\n")
    caller = subprocess.Popen([sys.executable, "-c", script], cwd=Path(__file__).parent.parent)

    def marked():
        out = set()
        for pid in _host_pids():
            try:
                if marker.encode() in Path(f"/proc/{pid}/cmdline").read_bytes():
                    out.add(pid)
            except OSError:
                pass
        return out

    deadline = time.time() + 30
    while not marked() and time.time() < deadline:
        time.sleep(0.1)
    assert marked(), "the box never started"
    caller.send_signal(signal.SIGKILL)
    caller.wait()
    deadline = time.time() + 5
    while marked() and time.time() < deadline:
        time.sleep(0.1)
    assert not marked()
    if LEVEL == "bwrap-cgroup":
        parents = sandbox._own_cgroup_dirs()
        left = [d for p in parents.values() for d in p.glob(f"genrank-sbx-{caller.pid}-*")]
        assert left  # the killed caller could not remove its cgroup...
        sandbox._own_cgroup_dirs.cache_clear()
        sandbox._own_cgroup_dirs()  # ...the next user sweeps it
        assert not any(d.exists() for d in left)
