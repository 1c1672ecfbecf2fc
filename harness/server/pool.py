"""The server instances a test process uses: one shared instance, restarted
when it dies, plus fresh private instances for checks that end their server.

No pytest here. A start failure is remembered, so one server that cannot start
costs one startup timeout, not one per check.

Spares: a server that takes a while to start, mostly waiting (a sleep, a
slow import, a connection to set up) rather than computing, has up to
`SPARES` further instances started ahead of the checks that will want fresh
ones, each on a port of its own. A 3 s starter then costs about 1 s per
fresh instance instead of 3 s. Not done for a fixed or self-chosen port (two
instances would collide), nor for a CPU-bound start (on two cores the spares
would slow each other and the check under way), nor for a fast one (nothing
to gain). Unused spares are stopped with the rest.

The assigned port is waited for (`readiness.ASSIGNED_PORT_GRACE`) when an
instance listens elsewhere first. Once one instance was discovered on a port
of its own after that wait, later instances are not waited for again: a
hard-coded port costs the grace once per test process, not once per start.
Each instance still gets the assigned port if it listens there when found.
"""

from __future__ import annotations

from typing import Any

from harness.errors import ServerStartError
from harness.server import readiness
from harness.server.launcher import ServerProcess, ServerSpec
from harness.system.run_folders import instance_folder, make_run_folder, remove_run_folder

#: Instances started ahead for a slow, mostly waiting server.
SPARES = 5
#: A start-up slower than this is worth starting ahead ...
SPARE_AFTER_S = 1.0
#: ... if the server used at most this share of one CPU while starting.
SPARE_CPU_SHARE = 0.5


class ServerPool:
    def __init__(self, spec: ServerSpec) -> None:
        self.spec = spec
        self.current: ServerProcess | None = None
        self.startup_error: ServerStartError | None = None
        self.ever_started = False
        self.first_facts: dict[str, Any] | None = None
        self._instances: list[ServerProcess] = []
        self._spares: list[ServerProcess] = []
        self._start_ahead = False
        #: An instance was discovered on a port of its own: do not wait for the assigned port again.
        self._ignores_assigned_port = False
        self._root = make_run_folder()  # and stale ones of killed runs removed

    def _new(self) -> ServerProcess:
        instance = ServerProcess(self.spec, workdir=instance_folder(self._root))
        self._instances.append(instance)
        return instance

    def shared(self) -> ServerProcess:
        """The running shared server; started (or restarted after a death) on demand."""
        if self.current is not None:
            self.current.reap_orphans()  # a forking server's dead children re-parent to us
        if self.current is not None and not self.current.still_listening():
            self.current.stop()
            self.current = None
        if self.current is None:
            if self.startup_error is not None:
                raise self.startup_error
            self.current = self.fresh()
        return self.current

    def fresh(self, port: int | None = None) -> ServerProcess:
        """A new, private server instance (the caller's check may end it).

        With `port`, the instance is assigned that port (a restart on the port
        of a stopped instance); its start failure is then the calling check's
        finding, not remembered as "the server cannot start".
        """
        if self.startup_error is not None:
            raise self.startup_error
        self._make_room()
        try:
            if port is None and self._spares:
                instance = self._spares.pop(0)
            else:
                instance = self._new()
                instance.launch(port)
            instance.wait_until_ready(0.0 if self._ignores_assigned_port else readiness.ASSIGNED_PORT_GRACE)
        except ServerStartError as error:
            instance.stop()
            if port is None:
                self.startup_error = error
                self._drop_spares()
            raise
        self.ever_started = True
        if instance.endpoint is not None and instance.endpoint.port_source == "discovered":
            self._ignores_assigned_port = True
        if self.first_facts is None:
            self.first_facts = self.facts(instance)
            self._start_ahead = self._worth_spares(instance)
        self._top_up_spares()
        return instance

    def _worth_spares(self, first: ServerProcess) -> bool:
        """A slow, mostly waiting start on a port we assign (see the module rules)."""
        endpoint, startup = first.endpoint, first.startup_s or 0.0
        if self.spec.fixed_port or endpoint is None or endpoint.port_source != "assigned" or startup < SPARE_AFTER_S:
            return False
        return first.probe.cpu_seconds(first.pids()) <= SPARE_CPU_SHARE * startup

    def start_ahead(self) -> None:
        """Keep spares from now on: the server was learnt to need a while after its port is bound before it
        answers (a warm-up each fresh instance must wait out), on a port we assign."""
        current = self.current
        endpoint = current.endpoint if current is not None else None
        if self.spec.fixed_port or endpoint is None or endpoint.port_source != "assigned":
            return
        self._start_ahead = True
        self._top_up_spares()

    def _top_up_spares(self) -> None:
        while self._start_ahead and len(self._spares) < SPARES:
            promised = frozenset(i.port for i in self._instances if i.port and i.alive())
            spare = self._new()
            try:
                spare.launch(avoid=promised)
            except ServerStartError:
                spare.stop()
                self._start_ahead = False
                return
            self._spares.append(spare)

    def _drop_spares(self) -> None:
        for spare in self._spares:
            spare.stop(grace=0.0)  # never used: how it takes a signal does not matter
        self._spares.clear()
        self._start_ahead = False

    def _make_room(self) -> None:
        """Stop the shared instance if a second one could not listen beside it:
        a server on a fixed port (`--port`, or one it chose itself and was
        discovered on) binds the same port at every start. `shared()` starts
        it again when a later check needs it."""
        current = self.current
        if current is None or current.endpoint is None:
            return
        if self.spec.fixed_port or current.endpoint.port_source == "discovered":
            current.stop()
            self.current = None

    def facts(self, instance: ServerProcess) -> dict[str, Any]:
        """What the report says of the server (the fields of its `server` object, SPEC §2)."""
        endpoint = instance.endpoint
        return {
            "command": list(self.spec.argv),
            "port": endpoint.port if endpoint else instance.port or None,
            "port_source": endpoint.port_source if endpoint else None,
            "started_port": instance.port or None,
            "started_host": self.spec.host,
            "startup_s": round(instance.startup_s, 4) if instance.startup_s is not None else None,
            "startup_error": None,
            "listening": endpoint.listening if endpoint else None,
        }

    def close(self) -> None:
        """Stop every instance and remove the run's temporary files (the
        report keeps the output tails that matter)."""
        self._drop_spares()
        for instance in self._instances:
            instance.stop()
        self.current = None
        remove_run_folder(self._root)
