"""`harness doctor`: what this machine gives an untrusted server's run, and what to install.

Reads the same facts the run acts on (`harness.system.bwrap`, `harness.system.isolation`,
`harness.system.sandbox`), so what it says is what a run will do. Exit 0 when every
guarantee of SPEC §5 holds here, 1 when the run would fall back.
"""

from __future__ import annotations

import os
import platform
import resource
import subprocess
import sys
from typing import Any

from harness.errors import ExitCode
from harness.system import bwrap, cpucg, isolation, memcg
from harness.system.sandbox import CAP_SETGID, CAP_SETUID, has_capabilities, pick_uid

#: Guarantee number (SPEC §5) -> its short name.
GUARANTEES = {1: "grade integrity", 2: "confidentiality", 3: "nothing else changed", 4: "containment",
              5: "bounded harness", 6: "honest terminal"}
#: What each mode gives, guarantee by guarantee: "yes", or "partly: why" / "no: why" (the README's table says the same).
FULL = {number: "yes" for number in GUARANTEES}
BY_MODE: dict[str, dict[int, str]] = {
    "sandboxed": FULL,
    "fallback as root": {**FULL, 2: "partly: the server may read what every user may read (and any file if its "
                                    "interpreter is under a private folder such as /root: CAP_DAC_READ_SEARCH)",
                         4: "partly: its files in /tmp, /var/tmp, /dev/shm are removed by uid, but not counted "
                            "in the memory limit"},
    "fallback as root without uid switching": {**FULL, 1: "partly: a server running as root could rewrite reports",
                                               2: "no: the server runs as root",
                                               3: "no: the server runs as root", 4: "partly: by process tree only"},
    "fallback as a normal user": {**FULL, 1: "partly: the server runs as you and could rewrite your files, "
                                             "reports included: grade as root or with bubblewrap",
                                  2: "no: the server runs as you and reads what you may read",
                                  3: "no: the server may change what you may change",
                                  4: "partly: by process tree and parent-death signal; temporaries stay"},
}
INSTALL_BWRAP = "install bubblewrap: apt-get install bubblewrap (Debian/Ubuntu), dnf install bubblewrap (Fedora)"


def add_doctor_parser(commands: Any) -> None:
    commands.add_parser("doctor", help="what this machine gives an untrusted server's run (sandbox, uid, limits) "
                        "and what to install")


def facts() -> dict[str, Any]:
    root = os.geteuid() == 0
    uid_switch = root and has_capabilities(CAP_SETUID, CAP_SETGID) and pick_uid() is not None
    found = bwrap.executable()
    version = ""
    if found:
        try:
            version = subprocess.run([found, "--version"], capture_output=True, text=True, timeout=5).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            version = ""
    return {
        "system": f"{platform.system()} {platform.release()}",
        "python": sys.version.split()[0],
        "root": root,
        "bwrap": found,
        "bwrap_version": version,
        "bwrap_problem": bwrap.unavailable_reason(),
        "max_user_namespaces": isolation.max_user_namespaces(),
        "network_problem": isolation.unavailable_reason(),
        "uid_switch": uid_switch,
        "memcg_problem": memcg.unavailable_reason(),
        "cpucg_problem": cpucg.unavailable_reason(),
    }


def mode(f: dict[str, Any]) -> str:
    if f["bwrap_problem"] is None:
        return "sandboxed"
    if f["root"]:
        return "fallback as root" if f["uid_switch"] else "fallback as root without uid switching"
    return "fallback as a normal user"


def limit_lines() -> list[str]:
    lines = []
    for name, label in (("RLIMIT_DATA", "memory (RLIMIT_DATA, RLIMIT_AS backstop)"), ("RLIMIT_NPROC", "processes"),
                        ("RLIMIT_NOFILE", "open files"), ("RLIMIT_CPU", "CPU time"), ("RLIMIT_FSIZE", "file size")):
        ok = hasattr(resource, name)
        lines.append(f"  {'yes' if ok else 'no '}  {label}")
    return lines


def report(f: dict[str, Any]) -> str:
    chosen = mode(f)
    yes = lambda flag: "yes" if flag else "no "  # noqa: E731
    lines = [
        f"harness doctor · {f['system']} · Python {f['python']} · running as {'root' if f['root'] else 'a normal user'}",
        "",
        "sandbox",
        f"  {yes(f['bwrap'])}  bubblewrap found{': ' + f['bwrap'] + ' (' + f['bwrap_version'] + ')' if f['bwrap'] else ''}",
        f"  {yes(f['bwrap_problem'] is None)}  bubblewrap works here"
        + (f" ({f['bwrap_problem']})" if f["bwrap"] and f["bwrap_problem"] else ""),
        f"  {yes(f['network_problem'] is None)}  private loopback-only network"
        + (f" ({f['network_problem']})" if f["network_problem"] else ""),
        f"  {'   ' if not f['root'] else yes(f['uid_switch'])}  a fresh unprivileged uid per server"
        + ("" if f["root"] else " (only when run as root; as a user the server keeps your uid)"),
        f"       user namespaces allowed: {f['max_user_namespaces']}",
        "",
        "limits (per server process)",
        *limit_lines(),
        f"  {memcg.describe(f.get('memcg_problem'))}",
        f"  {cpucg.describe(f.get('cpucg_problem'))}",
        "",
        f"mode: {chosen}",
    ]
    for number, name in GUARANTEES.items():
        verdict = BY_MODE[chosen][number]
        if number == 4 and chosen == "fallback as root" and f.get("memcg_problem", "") is None:
            verdict = "yes"  # removed by uid, and counted by the instance's memory cgroup
        elif number == 4 and chosen == "sandboxed" and f.get("memcg_problem") is not None:
            verdict = "partly: memfd is not counted in the memory limit (no memory cgroup)"
        word, _, why = verdict.partition(": ")
        lines.append(f"  {word:<6} {number}. {name}" + (f" ({why})" if why else ""))
    advice = []
    if f["bwrap"] is None:
        advice.append(INSTALL_BWRAP)
    elif f["bwrap_problem"] is not None and not f["root"]:
        advice.append("allow unprivileged user namespaces (sysctl kernel.unprivileged_userns_clone=1 or "
                      "user.max_user_namespaces > 0), or run the harness as root")
    elif f["bwrap_problem"] is not None:
        advice.append("bubblewrap cannot create namespaces here (a container without them?): run the container "
                      "with --privileged or a seccomp profile that allows unshare")
    if f["root"] and not f["uid_switch"]:
        advice.append("give the harness CAP_SETUID and CAP_SETGID (and mapped uids) so each server gets its own uid")
    lines.append("")
    lines += [f"to do: {text}" for text in advice] or ["nothing to install: every guarantee holds here"]
    return "\n".join(lines)


def doctor_command() -> int:
    f = facts()
    print(report(f))
    return ExitCode.OK if mode(f) == "sandboxed" else ExitCode.FAILED
