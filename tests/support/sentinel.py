"""A real Redis Sentinel set on loopback: a primary, its replicas, the sentinels.

Debian's `redis-server` and `redis-sentinel` (the Makefile's `test` target
installs them); `redis-server --sentinel` stands in where only the server is
installed. Every data node keeps an AOF, like the deployment (README,
"Durability"). Used by the failover tests and by `make failover-drill`.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import redis

from tests.support.services import free_port, stop_process, wait_for

MASTER = "music"


def binaries() -> tuple[str, list[str]] | None:
    """(redis-server, the sentinel command) or None where Redis is not installed."""
    server = shutil.which("redis-server")
    if server is None:
        return None
    sentinel = shutil.which("redis-sentinel")
    return server, [sentinel] if sentinel else [server, "--sentinel"]


class Node:
    def __init__(self, args: list[str], port: int, log: Path) -> None:
        self.args, self.port, self.log = args, port, log
        self.proc: subprocess.Popen | None = None

    def start(self) -> Node:
        with open(self.log, "ab") as out:
            self.proc = subprocess.Popen(self.args, stdout=out, stderr=subprocess.STDOUT,
                                         start_new_session=True)
        wait_for(self.answers, timeout=15, what=f"redis on {self.port}")
        return self

    def client(self, **kwargs) -> redis.Redis:
        return redis.Redis(port=self.port, socket_connect_timeout=0.5, socket_timeout=2, **kwargs)

    def answers(self) -> bool:
        if self.proc.poll() is not None:
            raise RuntimeError(self.log.read_text(errors="replace")[-2000:])
        try:
            return self.client().ping()
        except redis.RedisError:
            return False

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def signal(self, sig: int) -> None:
        os.kill(self.proc.pid, sig)

    def stop(self) -> None:
        if self.alive:
            self.signal(signal.SIGCONT)  # a stopped process cannot act on SIGTERM
            stop_process(self.proc)


class SentinelSet:
    """1 primary + `replicas` replicas + `sentinels` sentinels (quorum `quorum`)."""

    def __init__(self, directory: Path, replicas: int = 1, sentinels: int = 1,
                 quorum: int = 1, down_after_ms: int = 1000, failover_timeout_ms: int = 4000,
                 min_replicas_to_write: int = 0) -> None:
        found = binaries()
        if found is None:
            raise FileNotFoundError("redis-server is not installed")
        self.server, self.sentinel_cmd = found
        self.dir = directory
        self.down_after_ms = down_after_ms
        self.failover_timeout_ms = failover_timeout_ms
        self.min_replicas_to_write = min_replicas_to_write
        self.data: list[Node] = []  # data nodes in start order; data[0] began as primary
        self.sentinels: list[Node] = []
        self.n_replicas, self.n_sentinels, self.quorum = replicas, sentinels, quorum

    # --- life cycle ---------------------------------------------------------------
    def start(self) -> SentinelSet:
        primary = self._data_node(0, None).start()
        self.data.append(primary)
        for n in range(self.n_replicas):
            self.data.append(self._data_node(n + 1, primary.port).start())
        wait_for(lambda: self._connected_replicas(primary) >= self.n_replicas, timeout=20,
                 what="replicas in sync")
        # Right after its initial sync a replica may take a moment (its own AOF
        # rewrite) before acknowledging writes: ready once WAIT says so.
        wait_for(lambda: self._acknowledged(primary), timeout=20, what="replicas acknowledging")
        for n in range(self.n_sentinels):
            self.sentinels.append(self._sentinel_node(n, primary.port).start())
        wait_for(lambda: all(self._sees_replicas(s) for s in self.sentinels), timeout=20,
                 what="sentinels to discover the replicas")
        return self

    def _data_node(self, n: int, primary_port: int | None) -> Node:
        port = free_port()
        node_dir = self.dir / f"redis-{n}"
        node_dir.mkdir(parents=True, exist_ok=True)
        args = [self.server, "--port", str(port), "--bind", "127.0.0.1", "--dir", str(node_dir),
                "--save", "", "--appendonly", "yes", "--appendfsync", "everysec",
                "--repl-diskless-sync", "yes", "--repl-diskless-sync-delay", "0"]
        if self.min_replicas_to_write:
            args += ["--min-replicas-to-write", str(self.min_replicas_to_write),
                     "--min-replicas-max-lag", "10"]
        if primary_port is not None:
            args += ["--replicaof", "127.0.0.1", str(primary_port)]
        return Node(args, port, self.dir / f"redis-{n}.log")

    def _sentinel_node(self, n: int, primary_port: int) -> Node:
        port = free_port()
        conf = self.dir / f"sentinel-{n}.conf"
        conf.write_text(
            f"port {port}\nbind 127.0.0.1\ndir {self.dir}\n"
            f"sentinel monitor {MASTER} 127.0.0.1 {primary_port} {self.quorum}\n"
            f"sentinel down-after-milliseconds {MASTER} {self.down_after_ms}\n"
            f"sentinel failover-timeout {MASTER} {self.failover_timeout_ms}\n"
            f"sentinel parallel-syncs {MASTER} 1\n"
        )
        return Node([*self.sentinel_cmd, str(conf)], port, self.dir / f"sentinel-{n}.log")

    def stop(self) -> None:
        for node in [*self.sentinels, *self.data]:
            node.stop()

    # --- what the clients need ----------------------------------------------------
    @property
    def sentinels_setting(self) -> str:
        return ",".join(f"127.0.0.1:{s.port}" for s in self.sentinels)

    def env(self, base_db: int = 0) -> dict[str, str]:
        """The variables that point a process at this set (REDIS_URL: only its DB counts)."""
        return {
            "REDIS_SENTINELS": self.sentinels_setting,
            "REDIS_SENTINEL_MASTER": MASTER,
            "REDIS_URL": f"redis://127.0.0.1:1/{base_db}",
        }

    def settings_fields(self, base_db: int = 0) -> dict:
        return {
            "redis_sentinels": tuple(("127.0.0.1", s.port) for s in self.sentinels),
            "redis_sentinel_master": MASTER,
            "redis_url": f"redis://127.0.0.1:1/{base_db}",
        }

    # --- who is who ---------------------------------------------------------------
    def primary_port(self) -> int | None:
        """The primary's port as the live sentinels report it."""
        for s in self.sentinels:
            if not s.alive:
                continue
            try:
                host, port = s.client().sentinel_get_master_addr_by_name(MASTER)
                return int(port)
            except (redis.RedisError, TypeError):
                continue
        return None

    def node(self, port: int) -> Node:
        return next(n for n in self.data if n.port == port)

    def primary(self) -> Node:
        return self.node(self.primary_port())

    def role(self, node: Node) -> str | None:
        try:
            return node.client().role()[0].decode()
        except redis.RedisError:
            return None

    def wait_promoted(self, old_port: int, timeout: float = 30) -> int:
        """Until the sentinels name another primary that answers as one; its port."""

        def promoted():
            port = self.primary_port()
            if port and port != old_port and self.role(self.node(port)) == "master":
                return port
            return None

        return wait_for(promoted, timeout=timeout, interval=0.1, what="a replica promoted")

    def failover(self) -> int:
        """SENTINEL FAILOVER (the primary stays up and is demoted); the new primary's port."""
        old = self.primary_port()

        def asked() -> bool:
            try:
                self.sentinels[0].client().execute_command("SENTINEL", "FAILOVER", MASTER)
                return True
            except redis.ResponseError as exc:
                # NOGOODSLAVE: right after start the sentinel has not yet had a
                # fresh INFO from the replica; it will shortly.
                if "NOGOODSLAVE" in str(exc):
                    return False
                raise

        wait_for(asked, timeout=20, interval=0.3, what="the sentinel to accept FAILOVER")
        return self.wait_promoted(old)

    def kill_primary(self) -> Node:
        node = self.primary()
        node.signal(signal.SIGKILL)
        node.proc.wait(5)
        return node

    def _connected_replicas(self, node: Node) -> int:
        """Replicas done with their initial sync (state online)."""
        try:
            info = node.client().info("replication")
        except redis.RedisError:
            return 0
        return sum(1 for key, value in info.items()
                   if key.startswith("slave") and isinstance(value, dict)
                   and value.get("state") == "online")

    def _acknowledged(self, node: Node) -> bool:
        client = node.client()
        client.set("sentinel-set:ready", "1")
        return client.execute_command("WAIT", self.n_replicas, 200) >= self.n_replicas

    def _sees_replicas(self, sentinel: Node) -> bool:
        try:
            return len(sentinel.client().sentinel_slaves(MASTER)) >= self.n_replicas
        except redis.RedisError:
            return False

    def wait_rejoined(self, node: Node, timeout: float = 30) -> None:
        """Until `node` (restarted or resumed) is a replica in sync with the primary."""

        def rejoined():
            try:
                info = node.client().info("replication")
            except redis.RedisError:
                return False
            return info.get("role") == "slave" and info.get("master_link_status") == "up"

        wait_for(rejoined, timeout=timeout, interval=0.2, what="old primary back as a replica")

    def restart(self, node: Node) -> Node:
        """Start a killed node again on its port (Sentinel makes it a replica)."""
        node.start()
        return node


def sleep_until(deadline: float) -> None:
    time.sleep(max(0.0, deadline - time.monotonic()))
