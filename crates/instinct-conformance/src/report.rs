//! Running every case through every subject, known gaps as data, and the result table.

use crate::case::Case;
use crate::case::CaseError;
use crate::subject::Subject;
use crate::tolerance::ErrorStats;
use crate::tolerance::Tolerance;
use instinct::Model;
use serde::Deserialize;
use std::path::Path;

/// A case a backend is known to fail, with the reason. Listed in
/// `fixtures/conformance/known-gaps.json`; a listed gap that starts passing is an error, so the
/// list stays true.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct KnownGap {
    /// Case name.
    pub case: String,
    /// Subject name.
    pub backend: String,
    /// Why it fails.
    pub reason: String,
}

/// Reads the known-gaps list (a JSON array of `{case, backend, reason}`).
pub fn load_known_gaps(path: &Path) -> Result<Vec<KnownGap>, CaseError> {
    let text = std::fs::read_to_string(path).map_err(|source| CaseError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    serde_json::from_str(&text).map_err(|e| CaseError::Invalid {
        path: path.to_path_buf(),
        message: e.to_string(),
    })
}

/// What happened to one case on one backend.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// Within tolerance.
    Pass(ErrorStats),
    /// Outside tolerance.
    Fail(ErrorStats),
    /// The backend or the model load failed.
    Error(String),
    /// Failed, as the known-gaps list says it does.
    KnownGap(String),
    /// Listed as a known gap but passed: the list is out of date.
    StaleGap,
    /// The backend runs only some kinds of model (the many-model backend: DOT chains), and
    /// this is not one of them.
    NotApplicable,
    /// A check-only backend (shader validation) accepted the model; what it checked.
    Checked(String),
}

impl Outcome {
    /// Whether this outcome fails the conformance run.
    pub fn is_failure(&self) -> bool {
        matches!(
            self,
            Outcome::Fail(_) | Outcome::Error(_) | Outcome::StaleGap
        )
    }
}

/// One cell of the table.
#[derive(Debug, Clone)]
pub struct Row {
    /// Case name.
    pub case: String,
    /// Subject name.
    pub backend: String,
    /// Result.
    pub outcome: Outcome,
}

/// The outcome of a conformance run.
#[derive(Debug, Clone)]
pub struct Report {
    /// One row per case and backend.
    pub rows: Vec<Row>,
    /// The tolerance used.
    pub tolerance: Tolerance,
}

/// Runs every case through every subject and compares with the case's expected outputs.
pub fn run(
    cases: &[Case],
    subjects: &[Box<dyn Subject>],
    gaps: &[KnownGap],
    tolerance: Tolerance,
) -> Report {
    let mut rows = Vec::new();
    for case in cases {
        let model = Model::from_info(case.info.clone());
        for subject in subjects {
            let gap = gaps
                .iter()
                .find(|g| g.case == case.name && g.backend == subject.name());
            let raw = match &model {
                Ok(model) if !subject.applies(model) => Outcome::NotApplicable,
                Ok(model) if subject.check_only() => match subject.check(model) {
                    Ok(what) => Outcome::Checked(what),
                    Err(e) => Outcome::Error(e),
                },
                Ok(model) => match subject.run(model, &case.expected.inputs) {
                    Ok(actual) => {
                        let tolerance = subject.tolerance().unwrap_or(tolerance);
                        let stats = ErrorStats::compare(&actual, &case.expected.outputs, tolerance);
                        if stats.passed() {
                            Outcome::Pass(stats)
                        } else {
                            Outcome::Fail(stats)
                        }
                    }
                    Err(e) => Outcome::Error(e),
                },
                Err(e) => Outcome::Error(format!("model does not load: {e}")),
            };
            let outcome = match (gap, raw) {
                (Some(_), Outcome::Pass(_) | Outcome::Checked(_)) => Outcome::StaleGap,
                (Some(g), _) => Outcome::KnownGap(g.reason.clone()),
                (None, raw) => raw,
            };
            rows.push(Row {
                case: case.name.clone(),
                backend: subject.name().to_string(),
                outcome,
            });
        }
    }
    Report { rows, tolerance }
}

impl Report {
    /// The failing rows.
    pub fn failures(&self) -> Vec<&Row> {
        self.rows
            .iter()
            .filter(|r| r.outcome.is_failure())
            .collect()
    }

    /// A case × backend table of max abs / max rel errors.
    pub fn table(&self) -> String {
        let mut backends: Vec<&str> = Vec::new();
        let mut cases: Vec<&str> = Vec::new();
        for r in &self.rows {
            if !backends.contains(&r.backend.as_str()) {
                backends.push(&r.backend);
            }
            if !cases.contains(&r.case.as_str()) {
                cases.push(&r.case);
            }
        }
        let width = cases.iter().map(|c| c.len()).max().unwrap_or(4).max(4);
        let mut out = format!("{:width$}", "case");
        for b in &backends {
            out += &format!("  {b:>22}");
        }
        out += "\n";
        for c in &cases {
            out += &format!("{c:width$}");
            for b in &backends {
                let cell = self
                    .rows
                    .iter()
                    .find(|r| r.case == *c && r.backend == *b)
                    .map_or("-".to_string(), |r| cell(&r.outcome));
                out += &format!("  {cell:>22}");
            }
            out += "\n";
        }
        out += &format!(
            "cells: max abs / max rel error against the oracle; tolerance {} (gpu, gpu-stepped: abs 1e-4 + rel 1e-4; int8_quantized: {}); wgsl-naga: shaders naga validated\n",
            self.tolerance,
            crate::subject::INT8_TOLERANCE
        );
        for r in &self.rows {
            match &r.outcome {
                Outcome::KnownGap(reason) => {
                    out += &format!("known gap {} / {}: {reason}\n", r.case, r.backend)
                }
                Outcome::Error(e) => out += &format!("error {} / {}: {e}\n", r.case, r.backend),
                Outcome::StaleGap => {
                    out += &format!(
                        "stale gap {} / {}: it passes now; remove it from known-gaps.json\n",
                        r.case, r.backend
                    )
                }
                _ => {}
            }
        }
        out
    }
}

fn cell(outcome: &Outcome) -> String {
    match outcome {
        Outcome::Pass(s) => format!("{:.1e} / {:.1e}", s.max_abs, s.max_rel),
        Outcome::Fail(s) => format!("FAIL {:.1e}/{:.1e}", s.max_abs, s.max_rel),
        Outcome::Error(_) => "ERROR".into(),
        Outcome::KnownGap(_) => "known gap".into(),
        Outcome::StaleGap => "STALE GAP".into(),
        Outcome::NotApplicable => "n/a".into(),
        Outcome::Checked(what) => what.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::case::Expected;
    use crate::subject::InterpreterSubject;
    use instinct::{Activation, ModelBuilder};

    /// A backend that is always off by one.
    struct OffByOne;
    impl Subject for OffByOne {
        fn name(&self) -> &'static str {
            "off_by_one"
        }
        fn run(&self, model: &Model, inputs: &[Vec<f32>]) -> Result<Vec<Vec<f64>>, String> {
            let rows = InterpreterSubject.run(model, inputs)?;
            Ok(rows
                .into_iter()
                .map(|r| r.into_iter().map(|v| v + 1.0).collect())
                .collect())
        }
    }

    fn case() -> Case {
        // y = relu(2x - 1)
        let info = ModelBuilder::with_feature_size(1)
            .dense(vec![vec![2.0]], vec![-1.0], Some(Activation::Relu))
            .build()
            .unwrap();
        Case {
            name: "double".into(),
            dir: "unused".into(),
            info,
            expected: Expected {
                oracle: "arithmetic by hand".into(),
                inputs: vec![vec![3.0], vec![0.0]],
                outputs: vec![vec![5.0], vec![0.0]],
            },
        }
    }

    fn gap(backend: &str) -> KnownGap {
        KnownGap {
            case: "double".into(),
            backend: backend.into(),
            reason: "testing".into(),
        }
    }

    fn outcomes(gaps: &[KnownGap]) -> Vec<Outcome> {
        let subjects: Vec<Box<dyn Subject>> =
            vec![Box::new(InterpreterSubject), Box::new(OffByOne)];
        run(&[case()], &subjects, gaps, Tolerance::CLOSE)
            .rows
            .into_iter()
            .map(|r| r.outcome)
            .collect()
    }

    #[test]
    fn failures_fail_and_known_gaps_are_reported_as_such() {
        let o = outcomes(&[]);
        assert!(matches!(o[0], Outcome::Pass(_)));
        assert!(matches!(o[1], Outcome::Fail(s) if s.violations == 2));
        let o = outcomes(&[gap("off_by_one")]);
        assert_eq!(o[1], Outcome::KnownGap("testing".into()));
        assert!(!o[1].is_failure());
    }

    #[test]
    fn a_gap_that_passes_is_stale_and_fails_the_run() {
        let o = outcomes(&[gap("interpreter")]);
        assert_eq!(o[0], Outcome::StaleGap);
        assert!(o[0].is_failure());
    }
}
