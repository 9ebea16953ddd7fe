//! Test support for instinct: conformance cases on disk, the [`Tolerance`] vocabulary, one
//! [`Subject`] per backend, an f64 [`reference`](mod@reference) interpreter and a seeded generator of random
//! valid models. Nothing depends on this crate; its tests and binary check everything else.

mod case;
pub mod random_model;
pub mod reference;
mod report;
mod subject;
mod tolerance;

pub use case::{Case, CaseError, Expected, import_keras_fixtures, load_case, load_cases};
pub use report::{KnownGap, Outcome, Report, Row, load_known_gaps, run};
pub use subject::{
    BatchedSubject, EngineSubject, GpuSteppedSubject, InterpreterSubject, ReferenceF64Subject,
    Subject, TrainForwardSubject, WgslNagaSubject, all_subjects, shaders_validate,
};
pub use tolerance::{ErrorStats, Tolerance, ulp_distance};
