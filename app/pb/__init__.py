"""Participatory budgeting.

Pure modules (values in, values out, no I/O): `election` (elections as values), `pabulib` (the
file format), `rules` and `equal_shares` (greedy and the Method of Equal Shares),
`ballot_rules` (what a valid ballot is per ballot type), `voters` (keyed voter tags).
Services that take a database session: `cycles`, `proposals`, `ballots`.
Nothing here imports `pabutools` (GPL-3.0); the tests and `bench/` use it as a reference only.
"""
