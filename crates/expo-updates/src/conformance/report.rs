//! Findings and the report: text for people, JSON for machines.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use serde_json::{Value, json};

use super::State;
use super::catalog::{self, Check};

/// What became of one check on one subject.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Outcome {
    /// The server did what the rule asks.
    Pass,
    /// It did not.
    Fail,
    /// The check could not run (not selected, no material, budget spent, ...).
    Skip,
}

impl Outcome {
    /// `pass`, `fail` or `skip`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Outcome::Pass => "pass",
            Outcome::Fail => "fail",
            Outcome::Skip => "skip",
        }
    }
}

/// One check applied to one subject (a platform, an asset).
#[derive(Debug, Clone)]
pub struct Finding {
    /// The rule.
    pub check: &'static Check,
    /// What happened.
    pub outcome: Outcome,
    /// What it was applied to (`ios`, `ios asset "bundle"`).
    pub subject: String,
    /// What was seen.
    pub message: String,
}

impl Finding {
    /// A failure of an error-level rule.
    pub fn is_error(&self) -> bool {
        self.outcome == Outcome::Fail && self.check.level.is_error()
    }

    /// A failure of a `SHOULD`.
    pub fn is_warning(&self) -> bool {
        self.outcome == Outcome::Fail && !self.check.level.is_error()
    }
}

/// Everything the suite found.
#[derive(Debug, Clone, Default)]
pub struct Report {
    /// Every finding, in the order checked.
    pub findings: Vec<Finding>,
    /// Requests sent.
    pub requests: usize,
    /// What the server served, to compare with after a publish.
    pub state: State,
}

impl Report {
    pub(crate) fn record(
        &mut self,
        id: &str,
        outcome: Outcome,
        subject: impl Into<String>,
        message: impl Into<String>,
    ) {
        // Ids are this module's own constants; an unknown one is a bug caught by the tests.
        if let Some(check) = catalog::find(id) {
            self.findings.push(Finding {
                check,
                outcome,
                subject: subject.into(),
                message: message.into(),
            });
        }
    }

    /// Failures of `MUST` and client-needs rules.
    pub fn errors(&self) -> usize {
        self.findings.iter().filter(|f| f.is_error()).count()
    }

    /// Failures of `SHOULD` rules.
    pub fn warnings(&self) -> usize {
        self.findings.iter().filter(|f| f.is_warning()).count()
    }

    /// The ids of the checks that failed at least once.
    pub fn failed(&self) -> BTreeSet<&'static str> {
        self.ids(Outcome::Fail)
    }

    /// The ids of the checks that passed at least once.
    pub fn passed(&self) -> BTreeSet<&'static str> {
        self.ids(Outcome::Pass)
    }

    fn ids(&self, outcome: Outcome) -> BTreeSet<&'static str> {
        self.findings
            .iter()
            .filter(|f| f.outcome == outcome)
            .map(|f| f.check.id)
            .collect()
    }

    /// The report for people: failures and skips in full (the same finding on several
    /// subjects once, subjects listed), passes counted.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        let mut lines: Vec<(&Finding, Vec<&str>)> = Vec::new();
        for finding in self.findings.iter().filter(|f| f.outcome != Outcome::Pass) {
            match lines.iter_mut().find(|(f, _)| {
                f.check.id == finding.check.id
                    && f.outcome == finding.outcome
                    && f.message == finding.message
            }) {
                Some((_, subjects)) => subjects.push(&finding.subject),
                None => lines.push((finding, vec![&finding.subject])),
            }
        }
        for (finding, subjects) in lines {
            let label = match finding.outcome {
                Outcome::Fail if finding.check.level.is_error() => "ERROR",
                Outcome::Fail => "WARN ",
                _ => "skip ",
            };
            let _ = writeln!(
                out,
                "{label} {} [{} {}] {}: {}\n      ({}; {})",
                finding.check.id,
                finding.check.group,
                finding.check.level,
                subjects.join(", "),
                finding.message,
                finding.check.source,
                finding.check.summary,
            );
        }
        let passed = self
            .findings
            .iter()
            .filter(|f| f.outcome == Outcome::Pass)
            .count();
        let skipped = self
            .findings
            .iter()
            .filter(|f| f.outcome == Outcome::Skip)
            .count();
        let _ = writeln!(
            out,
            "{passed} passed, {} error(s), {} warning(s), {skipped} skipped, {} request(s)",
            self.errors(),
            self.warnings(),
            self.requests
        );
        out
    }

    /// The report as JSON.
    pub fn to_json(&self) -> Value {
        json!({
            "errors": self.errors(),
            "warnings": self.warnings(),
            "requests": self.requests,
            "findings": self.findings.iter().map(|f| json!({
                "id": f.check.id,
                "group": f.check.group.as_str(),
                "level": f.check.level.as_str(),
                "source": f.check.source,
                "outcome": f.outcome.as_str(),
                "subject": f.subject,
                "message": f.message,
            })).collect::<Vec<_>>(),
            "state": self.state,
        })
    }
}
