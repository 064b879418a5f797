"""``ganzoo bench``: throughput, memory and FLOPs of configurations, and the engine against the seed's loop.

- :mod:`ganzoo.bench.timing`: alternating timed rounds, peak memory, machine facts;
- :mod:`ganzoo.bench.flops`: FLOP counting and the measured matmul peak;
- :mod:`ganzoo.bench.measure`: what one bench row measures (also used by ``benchmarks/``);
- :mod:`ganzoo.bench.reference` and :mod:`ganzoo.bench.versus`: the seed notes' loop and ``--vs-reference``;
- :mod:`ganzoo.bench.report` and :mod:`ganzoo.bench.runner`: table, JSON, ``--compare``; one function per
  mode (throughput, vs_reference, to_quality);
- :mod:`ganzoo.bench.procs`: 1- vs N-process throughput under torchrun (``--procs``).
"""
