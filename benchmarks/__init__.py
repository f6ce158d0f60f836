"""kctl's benchmarks: reproducible measurements behind the figures in RESULTS.md.

Each ``bench_*`` module runs on its own (``python -m benchmarks.bench_x [--quick]``) and
starts every peer it compares against (etcd, a ``kctl apiserver``) on loopback, with a
fresh data directory, in the same run, so ratios are measured on the same machine at the
same moment. ``python -m benchmarks.run`` runs them all and rewrites RESULTS.md.
"""
