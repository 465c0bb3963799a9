"""Lianxin's benchmark suite: each figure printed beside the machine's own ceiling.

`python -m bench --store sqlite,postgresql [--quick]` runs every benchmark (end-to-end
durable handoffs per second, intake → agency latency at fixed offered loads, backlog
drain, audit verification, and a Celery + Redis peer built without Lianxin) and prints
one table. `python -m bench soak --minutes N --rate R` is the long steady run. Every
process runs on 127.0.0.1; see docs/performance.md for the figures and how they were
measured.
"""
