"""Project monitoring: county projects, their PMCs, progress reports and resident feedback.

Services that take a database session (no Flask here):
- `projects`: project codes, finding a project, projects of a ward;
- `members`: PMC seats, the projects a phone sits on;
- `reports`: recording a progress report (idempotent on the source message), references, the
  latest report per project;
- `milestones`: the chair's "works verified" and a second member's confirmation;
- `feedback`: `REPORT <code> <text>` from residents, until complaint tickets exist;
- `imports`: the projects CSV, and applying project records from any source;
- `ocds`: Open Contracting files (OCDS release/record packages, OC4IDS project packages) read
  into project records (pure: values in, values out);
- `member_import`: the PMC members CSV.
"""
