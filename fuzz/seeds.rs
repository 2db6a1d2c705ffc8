//! The seed corpus of a fuzz target, for the tests that replay it in the crates owning the
//! parsers (each includes this file by `#[path]` from its `fuzzing` module).

use std::path::Path;

/// Every seed in `fuzz/corpus/<target>`; fails loudly when the corpus is missing or nearly
/// empty, so a replay test never passes by reading nothing.
pub(crate) fn seeds(target: &str) -> Vec<Vec<u8>> {
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fuzz/corpus")
        .join(target);
    let seeds: Vec<Vec<u8>> = std::fs::read_dir(&corpus)
        .unwrap_or_else(|error| panic!("{}: {error}", corpus.display()))
        .map(|entry| std::fs::read(entry.expect("a corpus entry").path()).expect("a seed"))
        .collect();
    assert!(seeds.len() >= 4, "{target} has only {} seeds", seeds.len());
    seeds
}
