//! [`Report`]: collects the validator's diagnostics, without repeats and capped per kind.

use crate::diagnostics::Diagnostic;
use crate::diagnostics::DiagnosticKind as K;
use std::collections::{HashMap, HashSet};

/// How many diagnostics of one kind are listed; the rest are counted in one `MoreProblems`, so a
/// hostile file cannot make the report itself huge.
pub(crate) const MAX_PER_KIND: usize = 50;

/// Collects diagnostics, dropping exact repeats (a weight slot shared by two instructions with
/// the same wrong shape is reported once) and capping each kind at [`MAX_PER_KIND`].
pub(crate) struct Report<'a> {
    out: &'a mut Vec<Diagnostic>,
    seen: HashSet<(String, String)>,
    per_kind: HashMap<String, usize>,
}

impl<'a> Report<'a> {
    /// A report appending to `out`.
    pub(crate) fn new(out: &'a mut Vec<Diagnostic>) -> Report<'a> {
        Report {
            out,
            seen: HashSet::new(),
            per_kind: HashMap::new(),
        }
    }

    pub(crate) fn push(&mut self, path: impl Into<String>, kind: K) {
        let count = self.per_kind.entry(kind.name()).or_insert(0);
        if *count >= MAX_PER_KIND {
            *count += 1;
            return;
        }
        let path = path.into();
        if self.seen.insert((path.clone(), kind.to_string())) {
            *count += 1;
            self.out.push(Diagnostic { path, kind });
        }
    }

    /// Appends one `MoreProblems` per kind that went over the cap.
    pub(crate) fn finish(self) {
        let mut over: Vec<(&String, usize)> = self
            .per_kind
            .iter()
            .filter(|(_, n)| **n > MAX_PER_KIND)
            .map(|(k, n)| (k, n - MAX_PER_KIND))
            .collect();
        over.sort();
        for (kind, count) in over {
            self.out.push(Diagnostic {
                path: String::new(),
                kind: K::MoreProblems {
                    of: kind.clone(),
                    count,
                },
            });
        }
    }
}
