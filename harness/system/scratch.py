"""The server's scratch working directory: a bounded copy of its submission folder.

Rules:
- The submission folder is the folder of the server's file (the first argument
  that names an existing file outside the system's directories) — the current
  directory instead when that file lies below it and it is a project (a project
  file, or a repository's top: `node src/server.js` reads `../config.json`) —,
  or the current directory when no argument names a file but the command uses
  it: a word of its arguments names it (`java -cp . Main`) or something in it,
  maybe without its ending (`java Main`, `python3 -m pkg.main`,
  `-- sh -c 'python3 server.py'`), or it is a project (`package.json` for
  `npm start`, a Makefile). A command that names
  nothing of the current directory (`-- ncat -l {port} -e /bin/cat`, run from
  a big folder) gets an empty scratch folder: nothing is copied.
- The server runs with the copy as its working directory, and arguments that
  name files in the folder are rewritten to their copies, so a server that
  deletes or rewrites files damages only the copy.
- The copy is bounded, so that a server living in a big folder (a home
  directory, a repository) still starts quickly: at most `MAX_FILES` files and
  `MAX_BYTES` bytes in at most `MAX_DIRS` folders, folders breadth-first (the server's own file first, then
  its neighbours, then subfolders), never into version-control, virtualenv or
  cache folders, never a special file. Beyond the bound the copy stops and
  `CopyPlan.truncated` says where; the server still starts.
- Only what belongs to the submission's owner (the owner of the server's file,
  else of the folder) is copied: a server living in a shared folder such as
  /tmp must not receive other users' files (the copy is the server's own).
- Symlinks are copied as symlinks (they resolve with the server's own rights).
- The server's file, when named inside the working folder, must really be
  there: a link on its way that leads out of the folder refuses the start
  (`leaves_folder`; blind 18: a submission holding only `src -> ../bob/src`
  was graded on bob's code, and root copied it, even from a 0700 folder).
- The copy is made in a folder only the harness can reach (0700, its own),
  files opened without following links and created afresh (`O_EXCL`),
  setuid/setgid bits dropped; only then is the tree given to the server's uid
  and its top folder left at 0700. No other instance can reach a file of the
  copy while it is being made (SPEC §5.3).
"""

from __future__ import annotations

import errno
import os
import re
import stat
import sys
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

from harness.errors import HarnessFault
from harness.system.safe_files import remove_tree
from harness.terminal import safe_line

MAX_FILES = 1000
MAX_BYTES = 32 * 1024 * 1024
MAX_DIRS = 200
SKIPPED_DIRS = frozenset({
    ".git", ".hg", ".svn", "__pycache__", "node_modules", ".venv", "venv", ".tox", ".nox",
    ".mypy_cache", ".pytest_cache", ".ruff_cache", ".cache", ".idea", ".vscode",
})
SYSTEM_PREFIXES = ("/usr/", "/bin/", "/sbin/", "/lib", "/etc/", "/opt/", "/proc/", "/sys/", "/dev/", "/nix/", "/snap/")


@dataclass
class CopyPlan:
    """What to copy from `source` (relative paths), decided once and reused per server start."""

    source: Path
    dirs: list[str] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    #: Why the server cannot be started from this folder at all (its own file is over the bound), else "".
    refused: str = ""
    links: list[str] = field(default_factory=list)
    bytes: int = 0
    truncated: str | None = None


def submission_folder(argv: list[str], cwd: Path) -> tuple[Path | None, Path | None]:
    """(folder to copy or None for none, the server's own file in it or None)."""
    for index, arg in enumerate(argv):
        if "{" in arg or arg.startswith("-"):
            continue
        if index == 0 and (os.sep not in arg or os.path.realpath(arg) == os.path.realpath(sys.executable)
                           or is_virtualenv_python(Path(os.path.abspath(Path(cwd, arg))), Path(os.path.abspath(cwd)))):
            continue
        path = Path(cwd, arg)
        try:
            if not path.is_file():
                continue
        except OSError:
            continue
        absolute = Path(os.path.abspath(path))
        if str(absolute).startswith(SYSTEM_PREFIXES):
            continue
        folder = Path(os.path.abspath(cwd))
        if absolute.parent != folder and absolute.is_relative_to(folder) and is_project(folder):
            return folder, absolute  # `node src/server.js` from the project: src/ reads ../config.json (blind 17)
        return absolute.parent, absolute
    folder = Path(os.path.abspath(cwd))
    return (folder if uses_folder(argv, folder) else None), None


def is_project(folder: Path) -> bool:
    """A folder a command runs from as a whole: it has a project file, or it is a repository's top."""
    return any(os.path.lexists(folder / name) for name in (*PROJECT_FILES, ".git"))


#: Files that make a folder a project a command runs from without naming a file (`npm start`, `make run`).
PROJECT_FILES = ("package.json", "Makefile", "makefile", "Cargo.toml", "go.mod", "pom.xml", "build.gradle",
                 "Gemfile", "pyproject.toml", "setup.py", "deno.json")


def leaves_folder(file: Path | None, cwd: Path) -> str:
    """Why the server's `file`, named inside the working folder `cwd`, is not the folder's own (a link on its
    way leads out of it), or "". A file named outside it (an absolute path, `../`) is as the command says."""
    folder = Path(os.path.abspath(cwd))
    if file is None or not file.is_relative_to(folder):
        return ""
    real_folder, real = os.path.realpath(folder), os.path.realpath(file)
    if os.path.commonpath([real, real_folder]) == real_folder:
        return ""
    step = folder
    for name in file.relative_to(folder).parts:
        step = step / name
        if step.is_symlink():
            shown = safe_line(str(step.relative_to(folder)))
            return (f"{shown} is a symbolic link to {safe_line(os.readlink(step))}, outside the submission folder "
                    f"{safe_line(str(folder))}: the server's file must be the submission's own (copy it in instead "
                    "of linking to it)")
    return ""


#: Endings a command may leave out when it names a file: `java EchoServer` (.class), `python3 -m echomod` (.py).
IMPLIED_ENDINGS = ("", ".py", ".class", ".java", ".jar", ".js", ".mjs", ".cjs", ".rb", ".pl", ".php", ".lua", ".tcl")


def uses_folder(argv: list[str], folder: Path) -> bool:
    """Does a command with no file argument use `folder`, its working directory? A word names it (`.` in
    `java -cp . Main`), or something in it, maybe without its ending or as a dotted module (`pkg.main`)."""
    for arg in argv[1:]:
        for word in re.split(r"""[\s'"=;&|<>():]+""", arg):
            if not word or word.startswith("-") or "{" in word or "$" in word:
                continue
            path = Path(os.path.abspath(Path(folder, word)))
            if path == folder:
                return True
            names = [word, word.split(".")[0]] if "." in word.strip(".") else [word]
            for name in names:
                path = Path(os.path.abspath(Path(folder, name)))
                if path != folder and path.is_relative_to(folder) and any(
                        os.path.lexists(f"{path}{ending}") for ending in IMPLIED_ENDINGS):
                    return True
    return is_project(folder)


def plan(source: Path | None, first: Path | None = None, max_files: int = MAX_FILES,
         max_bytes: int = MAX_BYTES) -> CopyPlan:
    """Walk `source` breadth-first within the bounds (None: nothing to copy)."""
    if source is None:
        return CopyPlan(Path(os.devnull))
    result = CopyPlan(source)
    owner = (first or source).stat().st_uid
    first_name = os.path.relpath(first, source) if first is not None else None
    if first is not None:
        size = first.stat().st_size
        if size > max_bytes:  # a sparse file costs nothing on disk and its size in the copy
            result.refused = (f"the server's file {first.name} is {size / (1 << 20):,.0f} MiB, over the copy's bound of "
                              f"{max_bytes // (1 << 20)} MiB: it is not copied and the server is not started")
            return result
        if first.is_symlink():  # to a file of the folder (leaves_folder): copied as the link it is
            result.links.append(first_name)
        else:
            result.files.append(first_name)
            result.bytes += size
    # The server's own folder first (in a project, its subfolder), then the rest breadth-first.
    own = os.path.dirname(first_name) if first_name else ""
    queue: deque[str] = deque(dict.fromkeys([own, ""]))
    seen = set(queue)
    while queue:
        relative = queue.popleft()
        try:
            entries = sorted(os.scandir(source / relative), key=lambda e: e.name)
        except OSError:
            continue
        subdirs = []
        for entry in entries:
            name = os.path.join(relative, entry.name) if relative else entry.name
            if name == first_name:
                continue
            try:
                info = entry.stat(follow_symlinks=False)
            except OSError:
                continue
            if info.st_uid != owner:
                continue
            if stat.S_ISLNK(info.st_mode):
                result.links.append(name)
            elif stat.S_ISDIR(info.st_mode):
                if entry.name not in SKIPPED_DIRS:
                    subdirs.append(name)
            elif stat.S_ISREG(info.st_mode):
                if len(result.files) >= max_files or result.bytes + info.st_size > max_bytes:
                    result.truncated = (
                        f"the copy of {safe_line(str(source))} stopped at {len(result.files)} files / "
                        f"{result.bytes // 1024} KiB (bounds: {max_files} files, {max_bytes // (1024 * 1024)} MiB); "
                        f"first file left out: {safe_line(name)}"
                    )
                    return result
                result.files.append(name)
                result.bytes += info.st_size
        for name in subdirs:
            if len(result.dirs) >= MAX_DIRS:
                result.truncated = (f"the copy of {safe_line(str(source))} stopped at {MAX_DIRS} folders; first "
                                    f"folder left out: {safe_line(name)}")
                return result
            if name in seen:
                continue
            seen.add(name)
            result.dirs.append(name)
            queue.append(name)
    return result


def materialize(copy_plan: CopyPlan, destination: Path, owner: tuple[int, int] | None = None) -> None:
    """Copy the planned files into `destination` (created), owned by `owner` if given."""
    destination.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(destination, 0o700)  # nobody else reaches the copy while it is made
    for name in copy_plan.dirs:
        (destination / name).mkdir(parents=True, exist_ok=True)
    for name in copy_plan.files:
        target = destination / name
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            copy_file(copy_plan.source / name, target)
        except OSError as error:
            if error.errno in NO_ROOM:  # a partial copy would be judged as the student's server
                raise HarnessFault(f"no room left to copy the submission into {destination.parent} "
                                   f"({error.strerror}): free space where TMPDIR points") from None
            continue  # the file changed or vanished since it was planned
    for name in copy_plan.links:
        target = destination / name
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.symlink(os.readlink(copy_plan.source / name), target)
        except OSError:
            continue
    if owner is not None:
        _chown_tree(destination, owner)


#: Errors that say the harness's disk, not the submission, is at fault.
NO_ROOM = (errno.ENOSPC, errno.EDQUOT)

#: Mode bits a copied file keeps: never setuid, setgid or sticky.
KEPT_MODE = 0o777


def copy_file(source: Path, target: Path, max_bytes: int = MAX_BYTES) -> None:
    """Copy a regular file's bytes (at most `max_bytes`: the file may have grown since it was
    planned) and permission bits (less setuid/setgid), never through a link."""
    src = os.open(source, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    try:
        info = os.fstat(src)
        if not stat.S_ISREG(info.st_mode):
            return
        mode = stat.S_IMODE(info.st_mode) & KEPT_MODE
        dst = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
        try:
            with open(src, "rb", closefd=False) as reader, open(dst, "wb", closefd=False) as writer:
                left = max_bytes
                while left > 0 and (chunk := reader.read(min(left, 1 << 20))):
                    writer.write(chunk)
                    left -= len(chunk)
            os.fchmod(dst, mode)
            os.utime(dst, ns=(info.st_atime_ns, info.st_mtime_ns))
        finally:
            os.close(dst)
    finally:
        os.close(src)


def _chown_tree(root: Path, owner: tuple[int, int]) -> None:
    uid, gid = owner
    os.chown(root, uid, gid)
    os.chmod(root, 0o700)
    for directory, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            try:
                os.chown(os.path.join(directory, name), uid, gid, follow_symlinks=False)
            except OSError:
                continue


def rewrite_argv(argv: list[str], cwd: Path, source: Path | None, copy: Path) -> list[str]:
    """Arguments naming files inside `source` point at their copies instead."""
    if source is None:
        return list(argv)
    result = []
    for index, arg in enumerate(argv):
        if index == 0 and os.sep not in arg:
            result.append(arg)
            continue
        if index == 0 and is_virtualenv_python(program := Path(os.path.abspath(Path(cwd, arg))), source):
            result.append(str(program))  # a venv of the submission, not copied: it works only where it was made
            continue
        if "{" not in arg and not arg.startswith("-"):
            absolute = Path(os.path.abspath(Path(cwd, arg)))
            try:
                relative = absolute.relative_to(source)
            except ValueError:
                relative = None
            try:
                copied = relative is not None and str(relative) != "." and (copy / relative).exists()
            except OSError:  # not a file name at all (a 300-character argument: ENAMETOOLONG)
                copied = False
            if copied:
                result.append(str(copy / relative))
                continue
        result.append(arg)
    return result


def is_virtualenv_python(program: Path, folder: Path) -> bool:
    """Whether `program` is FOLDER/VENV/bin/python of a virtualenv that is the folder's own (not copied: blind
    19, `.venv/bin/python server.py` could not start; it is run where it was made): no link on the way
    (blind 22: `.venv -> ../dave/.venv` showed a classmate's venv), and a python that is the system's or the
    harness's own (a link into /usr...: that link decides which folders the sandbox shows, and a student's
    must not name one of the grader's)."""
    try:
        relative = program.relative_to(folder)
    except ValueError:
        return False
    if len(relative.parts) != 3 or relative.parts[0] not in SKIPPED_DIRS or relative.parts[1] != "bin":
        return False
    root, real = folder / relative.parts[0], os.path.realpath(program)
    if root.is_symlink() or (root / "bin").is_symlink() \
            or os.path.realpath(root) != os.path.join(os.path.realpath(folder), relative.parts[0]):
        return False
    trusted = real.startswith(SYSTEM_PREFIXES) or real == os.path.realpath(sys.executable)
    return (root / "pyvenv.cfg").is_file() and trusted and os.access(real, os.X_OK)


def remove(copy: Path) -> None:
    """Delete a scratch copy (after the server's tree is gone)."""
    remove_tree(copy)  # any depth, never through a link
