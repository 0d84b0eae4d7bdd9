"""A real Ray cluster on this machine, for the tests and the load bench (issue 30): a head that schedules
nothing (0 CPUs) and worker nodes with the CPUs asked for, so every run lands on a worker node as it would
on a cluster of several machines. Needs Ray (requirements-ray.txt); production clusters are started with
`ray start` instead (docs/hosting.md, "Training on several machines")."""
from __future__ import annotations

import socket
import time
from contextlib import contextmanager
from typing import Iterator


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def local_cluster(worker_cpus: int = 1, workers: int = 1, head_cpus: int = 0, timeout: float = 60) -> Iterator:
    """Start the cluster, wait until its Jobs API answers, yield the cluster (its dashboard URL as `.url`);
    shut down only this cluster on exit."""
    from ray.cluster_utils import Cluster
    from ray.job_submission import JobSubmissionClient

    cluster = Cluster(initialize_head=True, head_node_args={
        "num_cpus": head_cpus, "include_dashboard": True, "dashboard_host": "127.0.0.1",
        "dashboard_port": free_port()})
    try:
        for _ in range(workers):
            cluster.add_node(num_cpus=worker_cpus, resources={"genlab_trainer": 1})
        cluster.wait_for_nodes()
        cluster.url = "http://" + cluster.head_node.address_info["webui_url"]
        deadline = time.monotonic() + timeout
        while True:   # the dashboard's job API answers a moment after the head is up
            try:
                JobSubmissionClient(cluster.url).list_jobs()
                break
            except Exception:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.5)
        yield cluster
    finally:
        cluster.shutdown()


def main(argv=None) -> None:
    """`python -m genlab.training.ray_local [--worker-cpus C] [--workers N]`: a local cluster until Ctrl-C."""
    import argparse

    parser = argparse.ArgumentParser(description="A local Ray cluster for GenLab's runs: a head with 0 CPUs and "
                                                 "worker nodes, until Ctrl-C.")
    parser.add_argument("--worker-cpus", type=int, default=1)
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args(argv)
    with local_cluster(worker_cpus=args.worker_cpus, workers=args.workers) as cluster:
        print(f"export GENLAB_JOB_BACKEND=ray GENLAB_RAY_ADDRESS={cluster.url}", flush=True)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    main()
