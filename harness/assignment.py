"""The assignment file (`harness.toml`): what an instructor decides once per assignment.

Rules of this module:
- Every option of `harness run` (the `OPTIONS` table) is a top-level key with
  the same name (`reply-timeout = 2.0`), so an option added by any suite or
  issue is configurable here without touching this file.
- Besides the options: `command` (how the server starts, run in the
  submission's folder), `suites`, `checks`/`exclude` (check-id glob patterns),
  `[points]` (per check or per suite), `[gradescope]` (visibility) and
  `[grade]` (batch limits).
- A bad file is the instructor's input error: `ConfigError` (exit 2) naming
  the file, the key and the problem. Nothing here runs a server.
"""

from __future__ import annotations

import difflib
import fnmatch
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import harness.checks as checks_module
from harness import suitenames
from harness.checks import SUITES, load_catalogue
from harness.errors import ConfigError
from harness.protocolfile.derive import register
from harness.protocolfile.loader import is_protocol_file, load_protocol_file
from harness.settings import OPTION_BY_NAME, OPTIONS, Option, build_settings

FILE_NAME = "harness.toml"
GRADESCOPE_VISIBILITY = ("hidden", "after_due_date", "after_published", "visible")
#: Keys of the file that are not run options.
OWN_KEYS = ("command", "suites", "checks", "exclude", "points", "gradescope", "grade")
GRADESCOPE_KEYS = ("visibility", "stdout_visibility", "test_visibility")
GRADE_KEYS = ("timeout", "jobs")
DEFAULT_POINTS = 1.0


@dataclass
class Assignment:
    """A validated assignment file. Empty (all defaults) when there is no file."""

    path: Path | None = None
    #: Run options by option name ("reply-timeout"), only those the file sets.
    options: dict[str, Any] = field(default_factory=dict)
    command: list[str] | None = None
    suites: list[str] | None = None
    checks: list[str] | None = None
    exclude: list[str] = field(default_factory=list)
    #: [points]: check id, suite name or "default" -> points.
    points: dict[str, float] = field(default_factory=dict)
    gradescope: dict[str, str] = field(default_factory=dict)
    grade_timeout: float | None = None
    grade_jobs: int | None = None
    #: One-line notes for the person running it (e.g. `echo` used as the old name of `conversation`).
    notes: list[str] = field(default_factory=list)

    @property
    def strict(self) -> bool:
        return bool(self.options.get("strict", False))

    def selects(self, check_id: str) -> bool:
        """Whether the file's `checks`/`exclude` patterns keep this check id."""
        base = check_id.partition("[")[0]
        if self.checks is not None and not any(suitenames.matches(base, p) for p in self.checks):
            return False
        return not any(suitenames.matches(base, p) for p in self.exclude)

    def opts_in(self, suite: str, suites: list[str] | None) -> bool:
        """An opt-in suite (e.g. speed) counts only when chosen by name or by a `checks` pattern."""
        if suite not in getattr(checks_module, "OPT_IN_SUITES", ()):
            return True
        return suite in (suites or ()) or any(p.startswith(f"{suite}::") for p in self.checks or ())


def find_assignment(explicit: str | None, cwd: Path | None = None) -> Path | None:
    """`--config FILE` if given, else `harness.toml` in the working directory, else None."""
    if explicit:
        path = Path(explicit)
        if not path.is_file():
            raise ConfigError(f"assignment file not found: {explicit!r} (--config)")
        return path
    candidate = (cwd or Path.cwd()) / FILE_NAME
    return candidate if candidate.is_file() else None


def load_assignment(path: Path | None) -> Assignment:
    """Read and validate an assignment file; `None` gives the empty assignment."""
    if path is None:
        return Assignment()
    where = str(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8-sig"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{where}: not valid TOML: {exc}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{where}: cannot read the assignment file: {exc}") from None
    return _Parser(where).parse(data, path)


class _Parser:
    """Validation with messages of the form `FILE: key 'K': problem`."""

    def __init__(self, where: str) -> None:
        self.where = where

    def fail(self, key: str, problem: str) -> ConfigError:
        return ConfigError(f"{self.where}: key '{key}': {problem}")

    def parse(self, data: dict[str, Any], path: Path) -> Assignment:
        known = [o.name for o in OPTIONS] + list(OWN_KEYS)
        for key in data:
            if key not in known:
                close = difflib.get_close_matches(key.replace("_", "-"), known, n=1) or difflib.get_close_matches(key, known, n=1)
                hint = f" (did you mean '{close[0]}'?)" if close else f"; known keys: {', '.join(known)}"
                raise ConfigError(f"{self.where}: unknown key '{key}'{hint}")
        result = Assignment(path=path)
        for name, value in data.items():
            if name in OPTION_BY_NAME:
                result.options[name] = self.option(OPTION_BY_NAME[name], value)
        protocol = result.options.get("protocol")
        if isinstance(protocol, str) and is_protocol_file(protocol):
            # A protocol file travels with the assignment: its path is relative to this file.
            result.options["protocol"] = str((path.parent / protocol).absolute())
        try:
            build_settings(result.options, self.where)
        except ConfigError as error:
            raise ConfigError(str(error).replace("invalid --", "invalid key ")) from None
        if "command" in data:
            result.command = self.string_list("command", data["command"], allow_empty=False)
        catalogue = load_catalogue()
        if is_protocol_file(result.options.get("protocol", "")):
            # Its derived checks (conversation::NAME, framing::NAME.PLAN) may be named in checks and [points].
            register(load_protocol_file(result.options["protocol"]))
        if "suites" in data:
            result.suites = self.string_list("suites", data["suites"], allow_empty=False)
            for index, suite in enumerate(result.suites):
                if suite not in SUITES:
                    raise self.fail(f"suites[{index}]", f"unknown suite {suite!r}; known suites: {', '.join(SUITES)}")
        for key in ("checks", "exclude"):
            if key in data:
                patterns = self.string_list(key, data[key], allow_empty=(key == "exclude"))
                for index, pattern in enumerate(patterns):
                    if not any(suitenames.matches(check_id, pattern) for check_id in catalogue):
                        raise self.fail(f"{key}[{index}]", f"no check matches {pattern!r} (`harness list` shows the check ids)")
                setattr(result, key, patterns)
        if "points" in data:
            result.points = self.points(data["points"], catalogue)
            chosen = suitenames.selected_suites(result.suites)
            for key in result.points:
                suite = key if key in SUITES else getattr(catalogue.get(key), "suite", None)
                if chosen is not None and suite is not None and suite not in chosen:
                    where = f"points.{key}" if "::" not in key else f'points."{key}"'
                    raise self.fail(where, f"points for suite {suite!r}, which this assignment does not run (suites = "
                                           f"{result.suites}): add it to suites, or leave its points out")
        if "gradescope" in data:
            result.gradescope = self.gradescope(data["gradescope"])
        if "grade" in data:
            self.grade(data["grade"], result)
        if _uses_old_name(result, catalogue):
            result.notes.append(f"{self.where}: " + suitenames.note(result.options.get("protocol")))
        return result

    def option(self, option: Option, value: Any) -> Any:
        key = option.name
        if option.type is bool:
            if not isinstance(value, bool):
                raise self.fail(key, f"expected true or false, got {value!r}")
            return value
        if isinstance(value, bool) or isinstance(value, (dict, list)):
            raise self.fail(key, f"expected {_type_word(option)}, got {value!r}")
        if option.type is int and not isinstance(value, int):
            raise self.fail(key, f"expected {_type_word(option)}, got {value!r}")
        if option.type is float and not isinstance(value, (int, float)):
            raise self.fail(key, f"expected {_type_word(option)}, got {value!r}")
        if option.type is str and not isinstance(value, str):
            raise self.fail(key, f"expected {_type_word(option)}, got {value!r}")
        if option.minimum is not None and value < option.minimum:
            raise self.fail(key, f"must be at least {option.minimum:g}, got {value!r}")
        return value

    def string_list(self, key: str, value: Any, allow_empty: bool) -> list[str]:
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise self.fail(key, f"expected a list of strings, e.g. {key} = [\"...\"], got {value!r}")
        if not value and not allow_empty:
            raise self.fail(key, "must not be empty")
        return list(value)

    def points(self, table: Any, catalogue: dict[str, Any]) -> dict[str, float]:
        if not isinstance(table, dict):
            raise self.fail("points", "expected a table: [points] with `check-id = N`, `suite = N` or `default = N`")
        result: dict[str, float] = {}
        for key, value in table.items():
            where = f"points.{key}" if "::" not in key else f'points."{key}"'
            if key != "default" and key not in SUITES and key not in catalogue and not suitenames.renamed(key, catalogue):
                close = difflib.get_close_matches(key, [*catalogue, *SUITES, "default"], n=1)
                hint = f" (did you mean '{close[0]}'?)" if close else ""
                raise self.fail(where, f"no such check or suite{hint}")
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
                raise self.fail(where, f"expected a number of points (0 or more), got {value!r}")
            result[key] = float(value)
        return result

    def gradescope(self, table: Any) -> dict[str, str]:
        if not isinstance(table, dict):
            raise self.fail("gradescope", "expected a table: [gradescope] with visibility = \"...\"")
        for key, value in table.items():
            if key not in GRADESCOPE_KEYS:
                raise self.fail(f"gradescope.{key}", f"unknown key; known: {', '.join(GRADESCOPE_KEYS)}")
            if value not in GRADESCOPE_VISIBILITY:
                raise self.fail(f"gradescope.{key}", f"expected one of {', '.join(GRADESCOPE_VISIBILITY)}, got {value!r}")
        return dict(table)

    def grade(self, table: Any, result: Assignment) -> None:
        if not isinstance(table, dict):
            raise self.fail("grade", "expected a table: [grade] with timeout = SECONDS, jobs = N")
        for key, value in table.items():
            if key not in GRADE_KEYS:
                raise self.fail(f"grade.{key}", f"unknown key; known: {', '.join(GRADE_KEYS)}")
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
                raise self.fail(f"grade.{key}", f"expected a positive number, got {value!r}")
            if key == "jobs" and not isinstance(value, int):
                raise self.fail("grade.jobs", f"expected a whole number, got {value!r}")
        result.grade_timeout = float(table["timeout"]) if "timeout" in table else None
        result.grade_jobs = table.get("jobs")


def _uses_old_name(assignment: Assignment, catalogue: dict[str, Any]) -> bool:
    """Whether the file says `echo` where its protocol's checks are now `conversation::` (SPEC §6)."""
    protocol = assignment.options.get("protocol", "tcp-echo")
    if is_protocol_file(protocol) or suitenames.correctness_suite(protocol) == suitenames.NEW:
        names = [*(assignment.suites or ()), *(assignment.checks or ()), *assignment.exclude, *assignment.points]
        if any(name == suitenames.OLD or name.startswith(f"{suitenames.OLD}::") for name in names):
            return True
    patterns = [*(assignment.checks or ()), *assignment.exclude]
    return (any(suitenames.renamed(key, catalogue) for key in assignment.points)
            or any(not any(fnmatch.fnmatchcase(c, p) for c in catalogue) for p in patterns))


def _type_word(option: Option) -> str:
    return {int: "a whole number", float: "a number", str: "a string"}.get(option.type, option.type.__name__)
