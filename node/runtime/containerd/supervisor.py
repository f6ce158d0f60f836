"""Start, find again, and stop the containerd that serves one node, as k3s's agent does.

The containerd runs in its own session (``start_new_session``), so it and the pods it
runs survive a ``kill -9`` of the agent; its PID is kept in ``DATA_DIR/containerd.pid``
and a restarted agent adopts it. A PID is trusted only if ``/proc/PID/cmdline`` names
this node's config file (PIDs are reused) and the process is not a zombie.

``start`` returns once CRI ``Status`` reports ``RuntimeReady``, then makes sure the
sandbox (pause) image is imported, building it from /bin/busybox when it is missing.
``stop`` ends containerd by its PID and leaves the pods running (containerd's shims
keep them), which is what an agent restart wants. ``cleanup`` is the node's teardown:
every sandbox is stopped and removed through CRI (which also runs CNI DEL and frees
its address), then containerd is stopped, anything still mounted under the data dir
is unmounted and containerd's directories are removed.

Two guards keep image pulls on this machine: the registry hosts config (see
:mod:`.config`) and a dead proxy in containerd's environment for every address but
loopback, so even a name that slipped past the hosts config cannot reach outside.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

from kctl.images.build import pause_image
from kctl.images.load import import_archive
from node.runtime import errors
from node.runtime.containerd import config as cfg
from node.runtime.containerd.mounts import unmount_under
from node.runtime.cri.client import CriClient, CriTimeouts

log = logging.getLogger(__name__)

CONTAINERD = "containerd"
DEAD_PROXY = "http://" + cfg.BLACKHOLE
NO_PROXY = "127.0.0.1,localhost,::1"
SYSTEM_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


class SupervisorError(RuntimeError):
    pass


def _proc_cmdline(pid: int) -> list[str]:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return []
    return [part.decode(errors="replace") for part in raw.split(b"\0") if part]


def _is_zombie(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    # "PID (comm) STATE ...": comm may hold spaces and parentheses.
    return stat[stat.rfind(")") + 2 :].startswith(("Z", "X"))


def containerd_env() -> dict[str, str]:
    env = dict(os.environ)
    path = env.get("PATH", "")
    for part in SYSTEM_PATH.split(":"):
        if part not in path.split(":"):
            path = f"{path}:{part}" if path else part
    env["PATH"] = path
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"):
        env[name] = DEAD_PROXY
    env["NO_PROXY"] = env["no_proxy"] = NO_PROXY
    return env


class ContainerdSupervisor:
    """One node's containerd: its config, process and teardown."""

    def __init__(self, config: cfg.ContainerdConfig, binary: str | None = None) -> None:
        self.config = config
        self.paths = config.paths
        self.binary = binary or shutil.which(CONTAINERD) or CONTAINERD
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def socket(self) -> str:
        return str(self.paths.socket)

    # ------------------------------------------------------------------ process

    def running_pid(self) -> int | None:
        """The PID of this node's containerd if it runs, else None."""
        if self._proc is not None:
            if self._proc.poll() is None:
                # Our own child: trusted without /proc, whose cmdline is briefly empty
                # right after exec.
                return self._proc.pid
            self._proc = None
        try:
            pid = int(self.paths.pid_file.read_text().strip())
        except (OSError, ValueError):
            return None
        cmdline = _proc_cmdline(pid)
        if str(self.paths.config) not in cmdline or _is_zombie(pid):
            return None
        return pid

    def _spawn(self) -> int:
        cfg.write(self.config)
        self.paths.log.parent.mkdir(parents=True, exist_ok=True)
        with self.paths.log.open("ab") as log_file:
            self._proc = subprocess.Popen(
                [self.binary, "--config", str(self.paths.config)],
                stdin=subprocess.DEVNULL,
                stdout=log_file,
                stderr=subprocess.STDOUT,
                cwd=self.paths.data_dir,
                env=containerd_env(),
                start_new_session=True,
                close_fds=True,
            )
        pid = self._proc.pid
        tmp = self.paths.pid_file.with_suffix(".pid.tmp")
        tmp.write_text(f"{pid}\n")
        tmp.replace(self.paths.pid_file)
        log.info("started containerd pid %d for %s", pid, self.paths.data_dir)
        return pid

    def log_tail(self, lines: int = 20) -> str:
        try:
            text = self.paths.log.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    async def start(self, timeout: float = 60.0, ensure_pause: bool = True) -> int:
        """Adopt the running containerd or start one; wait for RuntimeReady; make sure
        the sandbox image is there. Returns containerd's PID."""
        self.paths.data_dir.mkdir(parents=True, exist_ok=True)
        pid = self.running_pid()
        if pid is not None:
            log.info("adopting containerd pid %d for %s", pid, self.paths.data_dir)
        else:
            pid = self._spawn()
        async with CriClient(self.socket, CriTimeouts(default=2.0)) as cri:
            await self._wait_ready(cri, pid, timeout)
            if ensure_pause:
                await self.ensure_sandbox_image(cri)
        return pid

    async def _wait_ready(self, cri: CriClient, pid: int, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        last = "no answer yet"
        while True:
            if self.running_pid() != pid:
                raise SupervisorError(
                    f"containerd (pid {pid}) exited; last log lines:\n{self.log_tail()}"
                )
            try:
                status = await cri.status()
                if status.runtime_ready:
                    return
                cond = status.condition("RuntimeReady")
                last = f"RuntimeReady false: {cond.reason if cond else 'not reported'}"
            except errors.CriError as exc:
                last = str(exc)
            if time.monotonic() > deadline:
                raise SupervisorError(
                    f"containerd at {self.socket} not ready after {timeout:.0f}s: {last}"
                )
            await asyncio.sleep(0.1)

    async def ensure_sandbox_image(self, cri: CriClient) -> None:
        """Import the sandbox image unless containerd has it already."""
        image = self.config.sandbox_image
        if await cri.image_status(image) is not None:
            return
        archive = self.paths.images_dir / "pause.tar"

        def build_and_import() -> None:
            archive.parent.mkdir(parents=True, exist_ok=True)
            pause_image(archive, ref=image)
            import_archive(self.socket, archive)

        await asyncio.to_thread(build_and_import)
        if await cri.image_status(image) is None:
            raise SupervisorError(f"sandbox image {image} still missing after import")
        log.info("imported sandbox image %s", image)

    def stop(self, timeout: float = 15.0) -> bool:
        """Stop containerd by its PID (TERM, then KILL). Pods keep running. Returns
        whether a containerd was running."""
        pid = self.running_pid()
        if pid is None:
            self.paths.pid_file.unlink(missing_ok=True)
            return False
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
        if not self._wait_gone(pid, timeout):
            log.warning("containerd pid %d ignored SIGTERM for %.0fs; killing it", pid, timeout)
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
            self._wait_gone(pid, 5.0)
        self.paths.pid_file.unlink(missing_ok=True)
        self._proc = None
        log.info("stopped containerd pid %d", pid)
        return True

    def _wait_gone(self, pid: int, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._proc is not None and self._proc.pid == pid:
                with contextlib.suppress(subprocess.TimeoutExpired):
                    self._proc.wait(0.05)
                    return True
            elif not _proc_cmdline(pid) or _is_zombie(pid):
                return True
            else:
                time.sleep(0.05)
        return False

    # ------------------------------------------------------------------ teardown

    async def remove_all_pods(self, cri: CriClient, grace_seconds: int = 0) -> int:
        """Stop and remove every sandbox (and so every container). Returns the count."""
        sandboxes = await cri.list_pod_sandboxes()
        for container in await cri.list_containers():
            with contextlib.suppress(errors.NotFound):
                await cri.stop_container(container.id, grace_seconds)
        for sandbox in sandboxes:
            with contextlib.suppress(errors.NotFound):
                await cri.stop_pod_sandbox(sandbox.id)
            with contextlib.suppress(errors.NotFound):
                await cri.remove_pod_sandbox(sandbox.id)
        return len(sandboxes)

    async def cleanup(self, remove_data: bool = True) -> None:
        """Remove every pod through CRI, stop containerd, unmount what is left under the
        data dir and (``remove_data``) delete containerd's directories."""
        if self.paths.config.exists() or self.running_pid() is not None:
            await self.start(ensure_pause=False)
            async with CriClient(self.socket) as cri:
                count = await self.remove_all_pods(cri)
            log.info("removed %d pod sandboxes of %s", count, self.paths.data_dir)
        self.stop()
        unmount_under(self.paths.data_dir)
        if remove_data:
            shutil.rmtree(self.paths.base, ignore_errors=True)
            self.paths.socket.unlink(missing_ok=True)
