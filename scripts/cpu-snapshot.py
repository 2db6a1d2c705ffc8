#!/usr/bin/env python3
"""CPU time so far, for bench-compare's breakdown of where a shape's CPU goes.

    cpu-snapshot.py LOAD_PID NAME=PID...   ->  one JSON object on stdout

Clock ticks (user + system) of: the whole machine (`machine`: every CPU's user, nice,
system, irq and softirq time, from /proc/stat), the load tool, each thread of each named
service process by its name (`NAME/thread`, threads of one name summed) and each service
process's total (which keeps the time of its threads that have ended), PostgreSQL's
processes and RabbitMQ's (`beam.smp` and its helpers); and when (`at`, seconds). A process
that has ended counts nothing.
"""
import json
import os
import sys
import time


def ticks(stat_path):
    """(name, user + system ticks) of one /proc/.../stat, or None if it is gone."""
    try:
        text = open(stat_path).read()
    except OSError:
        return None
    name = text[text.index("(") + 1 : text.rindex(")")]
    fields = text[text.rindex(")") + 2 :].split()
    return name, int(fields[11]) + int(fields[12])


# The database servers' processes, by the names they run under.
SERVERS = {
    "postgres": {"postgres"},
    "rabbitmq": {"beam.smp", "erl_child_setup", "inet_gethost", "epmd"},
}


def servers():
    """Ticks of each of SERVERS, summed over its processes: one pass over /proc."""
    totals = dict.fromkeys(SERVERS, 0)
    for pid in filter(str.isdigit, os.listdir("/proc")):
        found = ticks(f"/proc/{pid}/stat")
        for server, names in SERVERS.items():
            if found and found[0] in names:
                totals[server] += found[1]
    return totals


load_pid, services = sys.argv[1], [arg.split("=", 1) for arg in sys.argv[2:]]
cpu = open("/proc/stat").readline().split()
threads = {}
processes = {}
for service, pid in services:
    found = ticks(f"/proc/{pid}/stat")
    processes[service] = found[1] if found else 0
    try:
        tids = os.listdir(f"/proc/{pid}/task")
    except OSError:
        continue
    for tid in tids:
        found = ticks(f"/proc/{pid}/task/{tid}/stat")
        if found:
            key = f"{service}/{found[0]}"
            threads[key] = threads.get(key, 0) + found[1]
load = ticks(f"/proc/{load_pid}/stat")
print(json.dumps({
    "at": time.time(),
    "machine": sum(int(cpu[i]) for i in (1, 2, 3, 6, 7)),
    "load": load[1] if load else 0,
    "processes": processes,
    "threads": threads,
    **servers(),
}))
