"""The scripted demo (`lianxin demo`): a stage of simulators, the run, its report and evidence."""
