"""`make bench`: run every benchmark and print its ratios."""

from __future__ import annotations

from bench import add1_jumps, campaign_send, mes, ussd_hops, ussd_load, ussd_replay

if __name__ == "__main__":
    ussd_hops.main()
    mes.main()
    add1_jumps.main()
    ussd_replay.main()
    campaign_send.main()  # BENCH_CAMPAIGN_N=20000 for a quicker run
    ussd_load.main()
