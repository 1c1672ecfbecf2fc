"""`harness bundle gradescope|classroom`: an assignment packed so that it installs and runs elsewhere.

Rules of this module:
- The harness travels as a wheel built from the installed version
  (harness.cli.wheel); the scripts install that file, never a package name.
- The assignment travels with every file it names by a relative path, at the
  same relative place, so its references keep working: `assignment_files` is
  the one place that knows which keys name files.
- A bad or incomplete assignment is the instructor's input error (exit 2),
  found before anything is written; outputs are replaced whole, never half
  written.
"""

from __future__ import annotations

import argparse
import io
import os
import shutil
import sys
import tempfile
import tomllib
import zipfile
from pathlib import Path, PurePosixPath
from typing import Any

from harness.assignment import find_assignment, load_assignment
from harness.cli.bundle_scripts import (
    ASSIGNMENT_NAME,
    CLASSROOM_FOLDER,
    WORKFLOW_PATH,
    classroom_workflow,
    run_autograder,
    setup_sh,
)
from harness.cli.wheel import build_harness_wheel, zip_entry
from harness.errors import ConfigError, ExitCode
from harness.protocolfile import load_protocol_file
from harness.protocols import PROTOCOLS
from harness.server.command import server_file
from harness.system.safe_files import write_atomically

EXECUTABLE, READABLE = 0o755, 0o644


def add_bundle_parser(commands: Any) -> None:
    bundle = commands.add_parser(
        "bundle", help="pack an assignment for Gradescope or GitHub Classroom (the harness included, as a wheel)",
        description="Packs the assignment file (./harness.toml or --config), every file it names, and the "
        "installed harness as a wheel, with the scripts that install and run it.")
    targets = bundle.add_subparsers(dest="target", required=True, metavar="TARGET")
    gradescope = targets.add_parser("gradescope", help="write autograder.zip for Gradescope",
                                    usage="harness bundle gradescope [--config FILE] [-o ZIP]")
    gradescope.add_argument("--config", dest="config_path", metavar="FILE", help="assignment file (default: ./harness.toml)")
    gradescope.add_argument("-o", "--output", dest="output", default="autograder.zip", metavar="ZIP",
                            help="the zip to write (default: autograder.zip)")
    classroom = targets.add_parser("classroom", help="write the workflow and the wheel into a course repository",
                                   usage="harness bundle classroom [--config FILE] [--dir REPOSITORY]")
    classroom.add_argument("--config", dest="config_path", metavar="FILE", help="assignment file (default: ./harness.toml)")
    classroom.add_argument("--dir", dest="directory", default=".", metavar="REPOSITORY",
                           help=f"the course repository (default: .); writes {WORKFLOW_PATH} and {CLASSROOM_FOLDER}/")


def bundle_command(args: argparse.Namespace) -> int:
    try:
        config = find_assignment(args.config_path)
        if config is None:
            raise ConfigError("harness bundle needs an assignment file: ./harness.toml or --config FILE "
                              "(`harness init` writes one)")
        if args.target == "gradescope":
            written = write_gradescope_bundle(config, Path(args.output))
            print(f"wrote {args.output}: {', '.join(written)}")
            print("upload it in Gradescope: Configure Autograder > Zip file upload (base image: Ubuntu 22.04 or later)")
        else:
            written = write_classroom_bundle(config, Path(args.directory))
            print(f"wrote into {args.directory}: {', '.join(written)}")
            note = _reference_note(config)
            if note:
                print(note)
            print("commit them with the starter code; every push runs the checks and reports the score")
    except ConfigError as error:
        print(f"harness: error: {error}", file=sys.stderr)
        return ExitCode.USAGE
    except OSError as error:
        print(f"harness: error: cannot write {error.filename or ''}: {error.strerror}", file=sys.stderr)
        return ExitCode.USAGE
    return ExitCode.OK


def _reference_note(config: Path) -> str:
    needed, files = reference_in_classroom(config)
    names = ", ".join(map(str, files))
    if needed:
        return (f"note: the reference server ({names}) is in the repository, where students can read it: an "
                "@reference step asks it at every run (to keep it private, write those answers into the "
                "protocol file, or grade on Gradescope, whose autograder students do not see)")
    return f"left out: the reference server ({names}), which no step needs" if files else ""


def assignment_files(config: Path, reference: bool = True) -> list[PurePosixPath]:
    """Every file the assignment needs, relative to the assignment's folder, the assignment first.

    Besides the assignment file: a protocol file (`protocol = "kv.toml"`) and,
    with `reference`, the files its `[reference]` server's command names. A new
    key that names a file belongs here."""
    found = [PurePosixPath(config.name)]
    protocol_file = _protocol_file(config)
    if protocol_file is not None:
        found.append(protocol_file)
        if reference:
            found.extend(_reference_files(config, protocol_file))
    return list(dict.fromkeys(found))


def _protocol_file(config: Path) -> PurePosixPath | None:
    protocol = _toml(config).get("protocol")
    if isinstance(protocol, str) and protocol not in PROTOCOLS and (protocol.endswith(".toml") or "/" in protocol):
        return _inside(config.parent, protocol, config, "protocol")
    return None


def _reference_files(config: Path, protocol_file: PurePosixPath) -> list[PurePosixPath]:
    base = config.parent
    reference = _toml(base / protocol_file).get("reference")
    command = reference.get("command") if isinstance(reference, dict) else None
    return [_inside(base, str(protocol_file.parent / argument), base / protocol_file, "reference.command")
            for argument in (command if isinstance(command, list) else [])
            if isinstance(argument, str) and "{" not in argument and (base / protocol_file.parent / argument).is_file()]


def reference_in_classroom(config: Path) -> tuple[bool, list[PurePosixPath]]:
    """Whether a student repository needs the reference server (an `@reference` step asks it at every
    run), and its files. Students read everything in their repository: a reference that no step needs
    stays out of it (blind 20: `bundle classroom` published the model answer)."""
    protocol_file = _protocol_file(config)
    if protocol_file is None:
        return False, []
    files = _reference_files(config, protocol_file)
    return bool(files) and load_protocol_file(config.parent / protocol_file).uses_reference, files


def write_gradescope_bundle(config: Path, output: Path) -> list[str]:
    """Write Gradescope's autograder zip; returns the names of its entries."""
    entry, travelling = _checked(config)
    with tempfile.TemporaryDirectory(prefix="harness-bundle-") as scratch:
        wheel = build_harness_wheel(Path(scratch))
        entries: dict[str, tuple[bytes, int]] = {
            "setup.sh": (setup_sh(wheel.name).encode(), EXECUTABLE),
            "run_autograder": (run_autograder(entry).encode(), EXECUTABLE),
            wheel.name: (wheel.read_bytes(), READABLE),
        }
    entries.update({name: (source.read_bytes(), READABLE) for name, source in travelling.items()})
    archive_bytes = io.BytesIO()
    with zipfile.ZipFile(archive_bytes, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, (data, mode) in entries.items():
            archive.writestr(zip_entry(name, mode), data)
    write_atomically(output, archive_bytes.getvalue())
    return list(entries)


def write_classroom_bundle(config: Path, repository: Path) -> list[str]:
    """Write the workflow, the wheel and the assignment into a course repository; returns what was written."""
    _entry, travelling = _checked(config)
    needed, reference = reference_in_classroom(config)
    if not needed:
        travelling = {name: source for name, source in travelling.items() if PurePosixPath(name) not in reference}
    if not repository.is_dir():
        raise ConfigError(f"repository folder not found: {str(repository)!r} (--dir)")
    folder = repository / CLASSROOM_FOLDER
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("*.whl"):  # an earlier bundle's wheel: the workflow names only the new one
        old.unlink()
    wheel = build_harness_wheel(folder)
    written = [f"{CLASSROOM_FOLDER}/{wheel.name}"]
    for name, source in travelling.items():
        target = folder / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if source.resolve() != target.resolve():  # bundling the repository's own copy again
            shutil.copyfile(source, target)
        written.append(f"{CLASSROOM_FOLDER}/{name}")
    workflow = repository / WORKFLOW_PATH
    workflow.parent.mkdir(parents=True, exist_ok=True)
    workflow.write_text(classroom_workflow(wheel.name), encoding="utf-8")
    written.append(WORKFLOW_PATH)
    return written


def _checked(config: Path) -> tuple[str | None, dict[str, Path]]:
    """The assignment validated as `harness run` would; the submission's server file; and
    what travels with the assignment: name in the bundle -> file (the assignment as ASSIGNMENT_NAME)."""
    assignment = load_assignment(config)
    if not assignment.command:
        raise ConfigError(f"{config}: key 'command' is required in a bundle (how a submission's server starts), "
                          'e.g. command = ["server.py", "{port}"]')
    first, *others = assignment_files(config)
    travelling = {ASSIGNMENT_NAME: config.parent / first}
    travelling.update({str(relative): config.parent / relative for relative in others})
    return server_file(assignment.command), travelling


def _inside(base: Path, name: str, where: Path, key: str) -> PurePosixPath:
    """A file named by the assignment, as a path relative to its folder; it must exist there."""
    path = PurePosixPath(name)
    if path.is_absolute() or not (base / path).resolve().is_relative_to(base.resolve()):
        raise ConfigError(f"{where}: key '{key}': {name!r} is outside the assignment's folder; "
                          "put it next to the assignment file and name it by a relative path, so it travels with the bundle")
    if not (base / path).is_file():
        raise ConfigError(f"{where}: key '{key}': file not found: {str(base / path)!r}")
    return PurePosixPath(os.path.normpath(path))


def _toml(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        raise ConfigError(f"{path}: cannot read: {error}") from None
