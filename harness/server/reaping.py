"""A forking server's ended children must not pile up unreaped (zombies).

Rule: one zombie per connection grows until fork() fails at the process
limit; a server that reaps after each accept() keeps at most one. More than
`ZOMBIE_TOLERANCE` is the bug, told in the server's own language
(`harness.server.serverkind.REAP_CHILDREN`). Both descriptor-leak checks
(built-in and protocol files) ask, during their connections and after them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from harness.errors import CheckFailed
from harness.server.serverkind import REAP_CHILDREN, language_of

if TYPE_CHECKING:
    from harness.server.launcher import ServerProcess

ZOMBIE_TOLERANCE = 10


def require_reaped(instance: ServerProcess, after: str) -> None:
    """Fail if the server's processes have more than ZOMBIE_TOLERANCE ended children not waited for."""
    zombies = instance.unreaped_children()
    if len(zombies) > ZOMBIE_TOLERANCE:
        raise CheckFailed(
            f"the server left {len(zombies)} ended child processes that it never waited for (zombies) after "
            f"{after}: each stays in the process table until its parent reaps it, and once the process limit "
            f"is reached fork() fails — {REAP_CHILDREN[language_of(instance.spec.argv)]}"
        )
