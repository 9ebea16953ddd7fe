//! Test support: conformance cases, tolerances, one subject per backend, an f64 reference interpreter
