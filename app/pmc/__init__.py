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
- `member_import`: the PMC members CSV;
- `project_files`: a projects file in any of those formats (the command line and the console);
- `seats`, `project_edit`: changing a PMC seat by seat, and a project's fields (the console);
- `progress_chart`, `report_export`, `oc4ids_export`: a project's progress chart laid out for
  SVG, the reports CSV, and the OC4IDS project package with PMC observations;
- `early_warning`: the rules that flag a project quiet, behind or in trouble (pure: dates in,
  flags out); `warnings` reads what they need from the database (flags of every project);
- `reminders`: the weekly reminder SMS to the PMCs of quiet projects (`workers.cron` schedules
  it; `baraza pmc remind` runs it by hand);
- `report_flow`, `info_flow`: what the USSD flows pmc_report and project_info call;
- `sms_pmc`: the SMS keywords PMC, VERIFY, CONFIRM (members), INFO and REPORT (residents).
"""
