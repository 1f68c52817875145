"""Acceleration methods a worker really has, the measured table, and the MetaInf selector.

- `methods`: the methods, each with the precision class it preserves (EXACT or LOSSY), and the
  refusal of a LOSSY method on a job whose class forbids it;
- `run`: generation through a route's shards with a chosen method (prompt lookup, prefix
  cache, static KV cache, thread count);
- `weights`: lossy weight methods (bf16, int8 with LLM.int8()-style mixed decomposition);
- `bench`: the task grid measured on this machine (`infera worker bench`) and the table;
- `learner`: task features -> predicted throughput per method (scikit-learn), baselines and
  the leave-one-out evaluation;
- `select`: the worker's ``acceleration`` setting ("plain", "auto", "fixed:<method>") for
  sessions run in process;
- `hop`: the same setting on networked routes, hop by hop (thread count, prefix caching keyed
  on what each hop's prefill received, prompt lookup on one-hop routes).

See docs/metainf.md for the measured tables.
"""
