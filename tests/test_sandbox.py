"""Hostile programs are contained every time, with a clear verdict, and the host is unaffected."""

from __future__ import annotations

import os
import socket
import threading
import time
from pathlib import Path

import pytest

from harness.sandbox import (_BOOT, _UID_BASE, Limits, Sandbox, default_python, detect_mode,
                             isolation_report)

MODE = detect_mode()
NAMESPACED = MODE in ("root", "userns")
sb_boot_prefix = f"{default_python(MODE)}\0-I\0-S\0-c\0{_BOOT}".encode()
LIMITS = Limits(cpu_s=2, wall_s=6, memory_mb=256, nproc=16, fsize_mb=2, tmpfs_mb=8)


@pytest.fixture(scope="module")
def sb() -> Sandbox:
    return Sandbox(LIMITS)


def _host_pids() -> set[int]:
    return {int(p) for p in os.listdir("/proc") if p.isdigit()}


def _sandbox_pids() -> set[int]:
    """Host processes that belong to a sandbox run: a per-run uid, or a bootstrap."""
    out = set()
    for pid in _host_pids():
        try:
            if os.stat(f"/proc/{pid}").st_uid >= _UID_BASE:
                out.add(pid)
            elif Path(f"/proc/{pid}/cmdline").read_bytes().startswith(
                    sb_boot_prefix) and os.getppid() != pid:
                out.add(pid)
        except OSError:
            pass
    return out


def test_report_names_the_mode():
    rep = isolation_report()
    assert rep["mode"] == MODE
    assert ("namespace" in rep["network"]) == NAMESPACED


def test_plain_program_reads_stdin(sb):
    res = sb.run_python("a, b = map(int, input().split())\nprint(a + b)", "2 3\r\n")
    assert (res.verdict, res.stdout.strip()) == ("ok", "5")


def test_runtime_error_and_exit_code(sb):
    assert sb.run_python("raise ValueError('x')").verdict == "runtime_error"
    assert sb.run_python("import sys; sys.exit(3)").exit_code == 3
    assert sb.run_python("import sys; sys.exit(0)").verdict == "ok"


def test_infinite_loop_hits_cpu_limit():
    # generous wall time: on a busy machine 1 s of CPU can take many seconds of wall time
    res = Sandbox(Limits(cpu_s=1, wall_s=60)).run_python("while True: pass")
    assert res.verdict == "time_limit"
    assert 0.5 <= res.cpu_s < 3.0


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


def test_memory_bomb(sb):
    res = sb.run_python("x = []\nwhile True: x.append(' ' * 10**7)")
    assert res.verdict == "memory_limit", res.stderr


@pytest.mark.skipif(MODE != "root", reason="per-run process limit needs root mode")
def test_fork_bomb_is_contained(sb):
    before = _sandbox_pids()
    res = sb.run_python("import os\nwhile True:\n    try:\n        os.fork()\n"
                        "    except OSError:\n        pass")
    assert res.verdict in ("time_limit", "wall_time_limit", "runtime_error")
    assert res.wall_s < 4 * LIMITS.wall_s
    time.sleep(0.3)
    assert not _sandbox_pids() - before  # nothing left behind on the host


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


def test_no_network(sb):
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(1)
    port = srv.getsockname()[1]
    try:
        res = sb.run_python("import socket\n"
                            f"socket.create_connection(('127.0.0.1', {port}), timeout=2)\n"
                            "print('CONNECTED')")
    finally:
        srv.close()
    assert res.verdict == "runtime_error"
    assert "CONNECTED" not in res.stdout
    assert any(e in res.stderr for e in ("Network is unreachable", "PermissionError",
                                         "Connection refused"))


def test_socket_mode_blocks_python_sockets():
    res = Sandbox(LIMITS, mode="socket").run_python(
        "import socket\nsocket.socket()\nprint('OPENED')")
    assert res.verdict == "runtime_error" and "network disabled" in res.stderr


@pytest.mark.skipif(MODE != "root", reason="host files are read-only to the run in root mode")
def test_cannot_write_outside_temp_dir(sb, tmp_path):
    outside = Path("/tmp") / f"genrank-outside-{os.getpid()}"
    repo_file = Path(__file__).resolve().parent / f"pwned-{os.getpid()}"
    res = sb.run_python(
        "import os\nhits = []\n"
        f"for p in [{str(outside)!r}, {str(repo_file)!r}, '/var/tmp/x', '/root/x', '/etc/x']:\n"
        "    try:\n        open(p, 'w').write('x'); hits.append(p)\n"
        "    except OSError:\n        pass\n"
        "open('inside.txt', 'w').write('ok')\n"
        "print('WROTE', hits, open('inside.txt').read())")
    assert res.verdict == "ok", res.stderr
    assert "WROTE [] ok" in res.stdout
    assert not outside.exists() and not repo_file.exists()


def test_environment_is_scrubbed(sb, monkeypatch):
    monkeypatch.setenv("GENRANK_TEST_SECRET", "s3cr3t-token")
    res = sb.run_python(
        "import os\nprint(dict(os.environ))\n"
        "for p in os.listdir('/proc'):\n"
        "    try:\n        print(open('/proc/%s/environ' % p).read())\n"
        "    except OSError:\n        pass")
    assert res.verdict == "ok"
    assert "s3cr3t-token" not in res.stdout
    assert "GENRANK_TEST_SECRET" not in res.stdout


@pytest.mark.skipif(MODE == "socket" and os.geteuid() != 0,
                    reason="socket mode without root runs as the caller's uid: kill(-1) would "
                           "take the test runner down with it")
def test_cannot_kill_the_parent(sb):
    res = sb.run_python("import os, signal\n"
                        "for pid in (os.getppid(), " + str(os.getpid()) + ", -1):\n"
                        "    try:\n        os.kill(pid, signal.SIGKILL)\n"
                        "    except OSError:\n        pass\n"
                        "print('survived')")
    assert res.verdict in ("ok", "runtime_error")  # kill(-1) may take the run itself down
    assert Path(f"/proc/{os.getpid()}").exists()  # we, the caller, are alive


def test_huge_output_is_capped(sb):
    res = sb.run_python("import sys\nwhile True: sys.stdout.write('x' * 65536)")
    assert res.verdict == "output_limit"
    assert len(res.stdout) <= LIMITS.fsize_mb << 20


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
           "print(case, sorted(os.listdir('.')), os.path.exists('/tmp/work/left.txt'))\n"
           "open('left.txt', 'w').write(case)\n"
           "subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'])\n"
           "print(len([p for p in os.listdir('/proc') if p.isdigit()]) if "
           + repr(NAMESPACED) + " else 0)")
    res = sb.run_python_tests(src, ["a\n", "b\n", "c\n"])
    assert [r.verdict for r in res] == ["ok"] * 3, [r.stderr for r in res]
    lines = [r.stdout.split("\n") for r in res]
    assert [ln[0] for ln in lines] == [f"{c} ['main.py'] False" for c in "abc"]
    if NAMESPACED:  # init, the program and its sleeper: the previous sleeper is gone
        assert {ln[1] for ln in lines} == {"3"}


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
