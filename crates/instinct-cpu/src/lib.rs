//! The CPU executor: a compiled plan, the per-sample interpreter and predict_parallel
