"""Reports: a run's check results as JSON, JUnit, Gradescope, Classroom, HTML, points.

Rules:
- Built from `CheckResult`s only; nothing here talks to a server.
- Every file is written atomically and without following links
  (`harness.system.safe_files`), in every case, even after an interrupt.

Modules: `report` (the JSON report, SPEC §2), `report_files` (every file one
run writes), `feedback` (the text a student reads per check), `junit`,
`gradescope`, `classroom`, `leaderboard`, `html_report`, `grading` (points),
`apportion` (shares that add up exactly).
"""
