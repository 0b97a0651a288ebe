"""The reference tool's CSV layout: probes and results exchanged with it.

- layout: reading and writing the layout itself (columns text, <goal>, source_<goal>,
  delta_<goal>, target_<goal>), with every problem of a file listed by row;
- export: a stored probe written in that layout (`steerdsl export-probe`);
- imports: a results file (the probe's columns plus output_<goal>) loaded into a store as one
  probe and one generation (`steerdsl import-reference`).

No SQL here: what goes into or comes out of the store goes through steerdsl.store's modules.
"""
