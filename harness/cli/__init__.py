"""The applications: `harness run`, `list`, `grade`, `doctor`, `bundle`, `init`, `protocol`.

Rules:
- Options are validated once, into `Settings` (`harness.settings`); a run is
  pytest with the harness plugin, and the CLI reads its outcome from the report.
- Every error a user can cause ends in one line and an exit code, never a
  traceback.

Modules: `entry` (the command's first lines: a stop however early), `main`
(argument parsing and `run`), `listing` (`list`), `output_paths` (report
paths checked before a run), `grade` (a class of
submissions: the command) with `grade_plan` (planning), `grade_supervise`
(supervision: one run per submission) and `gradebook` (the CSV), `progress`, `folder_lock`,
`run_deadline`, `doctor`, `bundle`, `bundle_scripts`, `wheel`,
`init_assignment`.
"""
