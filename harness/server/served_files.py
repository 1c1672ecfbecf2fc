"""The files a tcp-file server serves: one fresh directory per server instance.

Rules (no pytest here):
- Each server instance runs with its working directory set to its own
  `served/` directory, filled with the files below; next to it (outside)
  lies a secret file that must never be served (the path-traversal check).
- Contents are deterministic, and their sizes and hashes are computed when
  written: the checks compare against what the harness wrote, never against
  what is on disk later (the server is untrusted and could change it).
- The 50 MiB file is written once per run and hard-linked into each
  instance's directory (copied if linking fails).
- Everything is removed when the pool closes.
- The served directory may belong to the server (its scratch copy): the
  harness writes there only through an open folder descriptor, replacing any
  entry of the same name without following it, and sets modes on what it
  created only (`harness.system.safe_files`). The secret lies in the instance's own
  folder, which only the harness writes, and is read back capped, never
  through a link, never from the server's current directory.
"""

from __future__ import annotations

import hashlib
import os
import random
import uuid
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from harness.server.launcher import ServerProcess
from harness.server.pool import ServerPool
from harness.system.safe_files import create_new, read_capped, remove_entry, remove_tree

BIG_SIZE = 50 * 1024 * 1024
PARTS = 8
PART_SIZE = 256 * 1024
#: Maps every byte value to a letter, space or newline (random bytes -> random text).
TEXT_TABLE = bytes(b"abcdefghijklmnopqrstuvwxyz \n"[value % 28] for value in range(256))
#: Bodies up to this size are kept in memory so a mismatch can show the first difference.
KEEP_LIMIT = 1 << 20


@dataclass(frozen=True)
class ServedFile:
    name: str
    size: int
    sha256: str
    content: bytes | None  # None for the big file (only its hash is kept)


def _text() -> bytes:
    lines = [f"line {i}: Hello from the harness! 你好, мир.\n" for i in range(60)]
    return "".join(lines).encode("utf-8")


def _binary() -> bytes:
    return bytes(range(256)) * 4 + b"\r\n\r\x00\n" + random.Random(4).randbytes(64 * 1024)


#: A served file whose name holds a space (a request parsed with split() cannot name it).
SPACED_NAME = "my notes.txt"


def small_contents() -> dict[str, bytes]:
    """Every served file but the big one: name -> bytes."""
    files = {
        "hello.txt": _text(),
        "data.bin": _binary(),
        "empty.txt": b"",
        "报告-ü.txt": "非 ASCII 文件名: the name is UTF-8.\n".encode("utf-8"),
        SPACED_NAME: b"A name may hold spaces: NAME is the rest of the request line.\n",
    }
    for index in range(PARTS):  # printable text: only the binary checks test binary safety
        files[f"part-{index}.txt"] = random.Random(1000 + index).randbytes(PART_SIZE).translate(TEXT_TABLE)
    return files


def write_big(path: Path, size: int = BIG_SIZE) -> str:
    """Write `size` deterministic bytes in 1 MiB blocks; return their SHA-256."""
    digest = hashlib.sha256()
    rng = random.Random(50)
    with open(path, "wb") as f:
        for offset in range(0, size, 1 << 20):
            block = rng.randbytes(min(1 << 20, size - offset))
            digest.update(block)
            f.write(block)
    return digest.hexdigest()


class ServedFiles:
    """The run's catalogue of served files, and the factory of served directories."""

    BIG_NAME = "big.bin"
    SECRET_NAME = "outside-secret.txt"

    def __init__(self, root: Path, big_size: int = BIG_SIZE) -> None:
        self.root = root
        self.big_size = big_size
        self.files: dict[str, ServedFile] = {
            name: ServedFile(name, len(data), hashlib.sha256(data).hexdigest(), data)
            for name, data in small_contents().items()
        }
        self._big_path: Path | None = None
        self.directories: list[Path] = []

    def _big(self) -> Path:
        if self._big_path is None:
            path = self.root / "cache" / self.BIG_NAME
            path.parent.mkdir(parents=True, exist_ok=True)
            digest = write_big(path, self.big_size)
            self.files[self.BIG_NAME] = ServedFile(self.BIG_NAME, self.big_size, digest, None)
            self._big_path = path
        return self._big_path

    def prepare(self, instance_dir: Path, served: Path | None = None) -> Path:
        """Fill `served` (default `instance_dir/served`) with every file; put the
        secret in its parent, outside it. Everything is readable by the server,
        which may run as another user: the traversal check needs the secret
        really reachable, so that only the server's own rule keeps it out.
        A scratch copy given as `served` keeps its mode (0700, the server's
        own): opened to all, another student's server could read the source
        in it (blind 14)."""
        own_folder = served is None  # else the server's scratch copy: its owner and 0700 stay (SPEC §5, guarantees 2 and 3)
        served = served or instance_dir / "served"
        served.mkdir(parents=True, exist_ok=True)
        big = self._big()
        folder = os.open(served, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)
        try:
            for name, item in list(self.files.items()):
                if item.content is not None:
                    create_new(folder, name, item.content)
            remove_entry(folder, self.BIG_NAME)
            try:
                os.link(big, self.BIG_NAME, dst_dir_fd=folder, follow_symlinks=False)
            except OSError:
                create_new(folder, self.BIG_NAME, big.read_bytes())
            if own_folder:
                os.fchmod(folder, 0o755)
        finally:
            os.close(folder)
        secret = served.parent / self.SECRET_NAME  # the instance's own folder: the harness's, never the server's
        secret.unlink(missing_ok=True)
        secret.write_text(f"HARNESS-SECRET-{uuid.uuid4().hex}\n")
        secret.chmod(0o644)
        self.directories.append(served)
        return served

    @staticmethod
    def secret_of(served: Path) -> tuple[Path, bytes]:
        """The secret file outside `served`, and the token that must never appear in a reply."""
        path = served.parent / ServedFiles.SECRET_NAME
        return path, read_capped(path, 4096).strip()

    def close(self) -> None:
        for directory in self.directories:
            remove_tree(directory)
        if self._big_path is not None:
            remove_tree(self._big_path.parent)


class ServingSandbox:
    """Wraps the run's sandbox: after it has prepared the server's working
    directory (a scratch copy of the submission), fill that directory with the
    files to serve. Everything else is the wrapped sandbox's business."""

    def __init__(self, inner: Any, served_files: ServedFiles) -> None:
        self.inner = inner
        self.served_files = served_files

    def prepare(self, workdir: Path, argv: list[str], cwd: str | None) -> Any:
        prepared = self.inner.prepare(workdir, argv, cwd)
        if prepared.cwd is None or prepared.cwd == cwd:  # no scratch copy: never fill the user's own folder
            served = self.served_files.prepare(workdir)
            return replace(prepared, cwd=str(served), argv=list(absolute_paths(tuple(prepared.argv))))
        self.served_files.prepare(workdir, Path(prepared.cwd))
        return prepared

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


class ServedFilesPool(ServerPool):
    """A ServerPool whose every instance runs in its own directory of files to serve."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.served_files = ServedFiles(self._root)

    def _new(self) -> ServerProcess:
        instance = super()._new()
        spec = instance.spec
        if getattr(spec, "sandbox", None) is not None:
            instance.spec = replace(spec, sandbox=ServingSandbox(spec.sandbox, self.served_files))
        else:
            served = self.served_files.prepare(instance.workdir)
            instance.spec = replace(spec, cwd=str(served), argv=absolute_paths(spec.argv))
        return instance

    def close(self) -> None:
        super().close()
        self.served_files.close()


def absolute_paths(argv: tuple[str, ...]) -> tuple[str, ...]:
    """The server runs in its served directory, not where the user typed the
    command: arguments naming existing files here (the server's script, its
    `server.js`) become absolute so they still resolve there."""
    return tuple(os.path.abspath(arg) if not os.path.isabs(arg) and os.path.exists(arg) else arg for arg in argv)


def served_directory(instance: ServerProcess) -> Path:
    """Where `instance` serves its files from, as the harness prepared it (never read from the
    server's process: a server can change its current directory, e.g. to a FIFO's folder)."""
    copy = instance.workdir / "submission"
    return copy if copy.is_dir() else instance.workdir / "served"
