//! Every fuzz seed (`fuzz/corpus/<target>/`) and every input that once crashed a
//! target (`fuzz/regressions/<target>/`) replayed through its harness, so a
//! crash stays a failing test until it is fixed.
#![expect(clippy::unwrap_used, reason = "test helpers fail loudly")]

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};

use mws_core::testing::fuzz::TARGETS;

/// The repository's `fuzz/` directory.
fn fuzz_dir() -> PathBuf {
    let core = Path::new(env!("CARGO_MANIFEST_DIR"));
    core.parent().unwrap_or(core).join("fuzz")
}

/// The files of `fuzz/<kind>/<target>/`, sorted; none when the directory is absent.
fn inputs(kind: &str, target: &str) -> Vec<PathBuf> {
    let dir = fuzz_dir().join(kind).join(target);
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    files
}

/// Runs every input of `kind` through its target; fails naming each that panicked.
fn replay(kind: &str) -> usize {
    let mut failed = Vec::new();
    let mut count = 0;
    for (target, harness) in TARGETS {
        for path in inputs(kind, target) {
            let data = std::fs::read(&path).unwrap();
            count += 1;
            if catch_unwind(AssertUnwindSafe(|| harness(&data))).is_err() {
                failed.push(path.display().to_string());
            }
        }
    }
    assert!(failed.is_empty(), "these inputs panic: {failed:#?}");
    count
}

#[test]
fn seed_corpora_run_clean() {
    let seeds = replay("corpus");
    // Every target has seeds; an empty corpus means the files went missing.
    for (target, _) in TARGETS {
        assert!(
            !inputs("corpus", target).is_empty(),
            "fuzz/corpus/{target}/ has no seeds"
        );
    }
    assert!(seeds > 0);
}

#[test]
fn regressions_stay_fixed() {
    replay("regressions");
}
