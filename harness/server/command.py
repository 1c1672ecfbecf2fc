"""Turn what the user typed into the server's argv, or say clearly why not.

- `SERVER.py [ARGS]` runs under the harness's own interpreter, unbuffered.
- Any other SERVER must be an executable file.
- `-- COMMAND [ARGS]` runs any command line found on PATH (e.g. `node server.js {port}`).
- `reference_servers/NAME.py` falls back to the copy installed with the
  harness, so the README's commands work from any directory.
- A command line given as one list (an assignment's `command`, pytest's
  `--server`): a bare first word ("node", "python3") is a command on PATH,
  anything else is the SERVER file.

Resolved once: `harness run` hands the argv to the plugin (and its xdist
workers) with `--harness-resolved`, and `server_argv` runs it as it is.
"""

from __future__ import annotations

import os
import shlex
import shutil
import sys
from pathlib import Path

from harness.errors import ConfigError
from harness.system.safe_files import read_capped


def server_file(command: list[str]) -> str | None:
    """The file a submission must contain, from an assignment's command: `server.py` of
    ["python3", "server.py", "{port}"]; None when the command names no file (["make", "run"])."""
    for argument in command:
        if "{" in argument or argument.startswith("-"):
            continue
        if "/" in argument or Path(argument).suffix:
            return argument
    return None


def reference_server(name: str) -> Path:
    """Path of a bundled reference server, e.g. reference_server("tcp_echo")."""
    import harness.reference_servers

    return Path(harness.reference_servers.__file__).parent / f"{name}.py"


def is_bare_command(word: str) -> bool:
    """A bare name ("node", "python3") is a command on PATH; anything else is a file."""
    return os.sep not in word and not os.path.splitext(word)[1]


def typed_argv(server: str | None, server_args: list[str], command: list[str] | None) -> list[str]:
    """`harness run SERVER [ARGS...]` or `harness run -- COMMAND [ARGS...]` (`command`)."""
    if command is None and not server:
        raise ConfigError("no server given: harness run [OPTIONS] SERVER [ARGS...]  or  harness run -- COMMAND")
    if command is not None and server:
        together = " ".join([server, *server_args, *command])
        raise ConfigError(f"both a SERVER ({server}) and a command after -- ({' '.join(command)}) were given: give "
                          f"one, e.g. harness run [OPTIONS] {together}  or  harness run [OPTIONS] -- {together}")
    if command is not None:
        if not command:
            raise ConfigError("no command after --")
        return resolve(command[0], command[1:], dashdash=True)
    assert server is not None
    return resolve(server, list(server_args))


def server_argv(text: str, resolved: bool = False) -> list[str]:
    """pytest's `--server "COMMAND LINE"`; `resolved`: the argv `harness run` resolved (`--harness-resolved`)."""
    parts = shlex.split(text)
    if resolved:
        return parts
    if not parts:
        raise ConfigError("no server given: --server COMMAND")
    return resolve(parts[0], parts[1:], dashdash=is_bare_command(parts[0]))


def resolve(server: str, args: list[str], dashdash: bool = False) -> list[str]:
    """The argv to execute, with {port}/{host} left for the launcher to fill in."""
    if dashdash:
        if not server:
            raise ConfigError("no command after --")
        if os.sep in server:
            return _resolve_path(Path(server), args, run_python=False)
        found = shutil.which(server)
        if not found:
            raise ConfigError(f"command not found: {server!r} (not on PATH)")
        return [server, *args]
    return _resolve_path(Path(server), args, run_python=True)


def _resolve_path(path: Path, args: list[str], run_python: bool) -> list[str]:
    if not path.exists() and path.parent.name == "reference_servers":
        packaged = reference_server(path.stem)
        if packaged.exists():
            path = packaged
    if not path.exists():
        raise ConfigError(f"server not found: {str(path)!r} (no such file)")
    if path.is_dir():
        found = entry_points(path)
        listed = f" (there: {', '.join(found)})" if found else ""
        raise ConfigError(f"server {str(path)!r} is a directory; give the server's file{listed}")
    if run_python and path.suffix == ".py":
        return [sys.executable, "-u", str(path), *args]
    source = SOURCES.get(path.suffix.lower())
    if source:
        program = path.with_suffix("")
        raise ConfigError(f"server {str(path)!r} is {source[0]} source code, not a program: compile it first "
                          f"({source[1].format(source=path, program=program)}), then: harness run [OPTIONS] "
                          f"{program if os.sep in str(program) else f'./{program}'} {{port}}")
    if not os.access(path, os.X_OK):
        interpreter = INTERPRETERS.get(path.suffix.lower())
        if interpreter:
            command = shlex.join([*interpreter.split(), str(path), *args])
            hint = f"run it with its interpreter: harness run [OPTIONS] -- {command}"
        else:
            hint = f"chmod +x {path}, or run it as: harness run -- INTERPRETER {path}"
        raise ConfigError(f"server {str(path)!r} is not executable ({hint})")
    check_shebang(path)
    return [str(path) if os.sep in str(path) else f".{os.sep}{path}", *args]


def check_shebang(path: Path) -> None:
    """Raise ConfigError if the script's `#!` line names an interpreter this machine cannot run: the server
    would die at once with exit 127 and "No such file or directory", which names neither the line nor the
    interpreter. A `#!` line ending in \r (saved with Windows line endings) asks for 'python3\r'."""
    try:  # the submission's file: never through a link, never blocking on a FIFO (blind 14: a hang)
        head = read_capped(path, 256)
    except OSError:
        return
    if not head.startswith(b"#!"):
        return
    line = head[2:].split(b"\n")[0]
    shown = "#!" + line.decode("utf-8", "replace").strip()
    if line.endswith(b"\r"):
        raise ConfigError(f"server {str(path)!r} has Windows line endings (\\r\\n): its first line {shown!r} asks for "
                          "an interpreter whose name ends in \\r, which no system has; save it with \\n line endings "
                          f"(dos2unix {path})")
    words = line.decode("utf-8", "replace").split()
    if not words:
        return
    interpreter = words[0]
    if os.path.basename(interpreter) == "env":
        named = next((word for word in words[1:] if not word.startswith("-") and "=" not in word), None)
        found = named is None or shutil.which(named) is not None
        interpreter = named or interpreter
    else:
        found = os.access(interpreter, os.X_OK)
    if not found:
        raise ConfigError(f"server {str(path)!r} starts with {shown!r}, but this machine has no {interpreter!r}: fix "
                          "that first line (e.g. #!/usr/bin/env python3), or run it with its interpreter: "
                          f"harness run [OPTIONS] -- INTERPRETER {path}")


#: Source files that must be compiled before they can run: (language, how), by file suffix.
SOURCES = {
    ".c": ("C", "gcc -O2 -pthread -o {program} {source}"),
    ".cc": ("C++", "g++ -O2 -pthread -o {program} {source}"),
    ".cpp": ("C++", "g++ -O2 -pthread -o {program} {source}"),
    ".cxx": ("C++", "g++ -O2 -pthread -o {program} {source}"),
    ".rs": ("Rust", "rustc -O -o {program} {source}"),
    ".go": ("Go", "go build -o {program} {source}"),
}

#: How a script that is not executable is usually run, by file suffix.
INTERPRETERS = {
    ".js": "node", ".mjs": "node", ".cjs": "node", ".sh": "sh", ".bash": "bash", ".rb": "ruby", ".pl": "perl",
    ".php": "php", ".jar": "java -jar", ".java": "java",
}


def entry_points(folder: Path, limit: int = 5) -> list[str]:
    """Files in `folder` that look like a server to run, for the error message."""
    try:
        names = sorted(entry.name for entry in folder.iterdir() if entry.is_file())
    except OSError:
        return []
    wanted = [n for n in names if Path(n).suffix in (".py", *INTERPRETERS)]
    return [str(folder / n) for n in wanted[:limit]]
