"""The init of a sandbox box (see harness/sandbox.py); runs inside the box, never imported.

It is PID 1 of the box (under bwrap). It reads its config from fd argv[1] (marshal: built
in, importing json would cost tens of ms) and then runs one test case per request on the
control socket fd argv[2]: each request carries the case's stdin/stdout/stderr as file
descriptors (SCM_RIGHTS), so test data never passes through the box's memory; init empties
/tmp, forks the program with fresh limits, waits, kills whatever it left behind and
replies with the status. EOF on the socket ends the box.
"""
import marshal
import os
import resource
import signal
import sys

import _socket

if __name__ != "__main__":
    raise ImportError("harness/sandbox_init.py runs inside a sandbox box only")

cfg_fd, ctl_fd = int(sys.argv[1]), int(sys.argv[2])
with os.fdopen(cfg_fd, "rb") as f:
    cfg = marshal.loads(f.read())
boxed = cfg["mode"] != "unsafe"
work = cfg["workdir"]
ctl = _socket.socket(fileno=ctl_fd)


def run_child(fds):
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
        if boxed:  # counted per user namespace: only this box's processes
            resource.setrlimit(resource.RLIMIT_NPROC, (lim["nproc"],) * 2)
        else:
            os.setpgid(0, 0)  # init kills this group when the program ends
        os.chdir(work)
        os.umask(0o077)
        os.environ.clear()
        os.environ.update(cfg["env"])
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


def fresh_workdir():
    for root, dirs, files in os.walk(work, topdown=False):  # never follows links
        for n in files + dirs:
            path = os.path.join(root, n)
            if os.path.isdir(path) and not os.path.islink(path):
                os.rmdir(path)
            else:
                os.unlink(path)
    for name, text in cfg["files"].items():
        with open(os.path.join(work, name), "w") as f:
            f.write(text)


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
        if boxed:
            os.kill(-1, signal.SIGKILL)  # as the PID namespace's init: all but itself
        else:
            os.killpg(child, signal.SIGKILL)
    except OSError:
        pass
    while True:
        try:
            os.waitpid(-1, 0)
        except ChildProcessError:
            return


def serve():
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # signals from the box must not end init
    while True:
        msg, fds = recv_fds()
        if not msg:
            return
        status = {"exit": None, "signal": None, "cpu": 0.0, "rss_kb": 0, "error": None}
        try:
            if len(fds) != 3:
                raise OSError("expected 3 descriptors, got %d" % len(fds))
            fresh_workdir()
            child = os.fork()
            if child == 0:
                try:
                    run_child(fds)
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
    if boxed:  # init must not be readable or traceable by the program (same uid)
        import ctypes
        ctypes.CDLL(None).prctl(4, 0, 0, 0, 0)  # PR_SET_DUMPABLE 0
        if os.getpid() != 1:
            raise OSError("init is not PID 1 of its namespace")
    serve()
except BaseException as exc:
    try:
        ctl.send(marshal.dumps({"error": "%s: %s" % (type(exc).__name__, exc)}))
    except OSError:
        pass
os._exit(0)
