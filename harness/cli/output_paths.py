"""Where reports go, checked before a run starts.

Rule: a report path the harness cannot write is the user's bad input (exit 2),
found before any server starts — not a traceback after every check has run,
with the reports after it lost. A path is writable when it is not a folder and
its folder exists (or can be made) and takes a new file; two reports may not
share one file (the last would silently replace the others).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from harness.errors import ConfigError

#: A file name to suggest for each report option given a folder.
EXAMPLE_NAMES = {"--json": "report.json", "--junit-xml": "junit.xml", "--html": "report.html",
                 "--gradescope": "results.json", "--classroom": "classroom.json", "--gradebook": "gradebook.csv"}


def writable_paths(paths: dict[str, str | None]) -> dict[str, str | None]:
    """The report paths (option -> path) of `paths` that can be written: the others are left out (None)."""
    kept: dict[str, str | None] = {}
    for option, path in paths.items():
        try:
            check_output_paths({**kept, option: path})
        except ConfigError:
            path = None
        kept[option] = path
    return kept


def check_output_paths(paths: dict[str, str | None]) -> None:
    """Raise ConfigError for the first report path (option -> path) that cannot be written."""
    seen: dict[str, str] = {}
    for option, path in paths.items():
        if not path:
            continue
        same = seen.get(os.path.realpath(path))
        if same is not None:
            raise ConfigError(f"{same} and {option} both write {path!r}: give each report a file of its own")
        seen[os.path.realpath(path)] = option
        check_writable_file(option, path)


def check_writable_file(option: str, path: str) -> None:
    """Raise ConfigError unless a new file can be written at `path` (its folder is made if missing)."""
    target = Path(path)
    if target.is_dir():
        example = os.path.join(path, EXAMPLE_NAMES.get(option, "report"))
        raise ConfigError(f"{option} {path!r} is a folder: give a file name, e.g. {example}")
    check_writable_folder(option, target.parent if str(target.parent) else Path("."), f"{option} {path!r}")


def check_writable_folder(option: str, folder: Path, what: str | None = None) -> None:
    """Raise ConfigError unless `folder` is (or can be made) a folder that takes a new file."""
    what = what or f"{option} {str(folder)!r}"
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise ConfigError(f"{what}: {str(folder)!r} is a file, not a folder") from None
    except NotADirectoryError:
        raise ConfigError(f"{what}: a part of {str(folder)!r} is a file, not a folder") from None
    except OSError as error:
        raise ConfigError(f"{what}: its folder {str(folder)!r} cannot be made: {error.strerror or error}") from None
    try:
        fd, probe = tempfile.mkstemp(prefix=".harness-probe-", dir=folder)
        os.close(fd)
        os.unlink(probe)
    except OSError as error:
        raise ConfigError(f"{what}: no file can be written in {str(folder)!r}: {error.strerror or error}") from None
