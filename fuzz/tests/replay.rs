//! Every committed corpus input and every crash the fuzzers found
//! (`fuzz/corpus/<target>/`, `fuzz/regressions/<target>/`) through its
//! target, on every test run: a fixed crash stays fixed, without a fuzzer.
//! The committed corpora are a sample (`fuzz/run.sh --merge`, then at most
//! 150 inputs per target besides the hand-written seeds) so this stays quick.

use std::path::Path;

#[test]
fn every_corpus_input_and_past_crash_passes_its_target() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut replayed = 0;
    for (name, target) in mcpgen_fuzz::TARGETS {
        for kind in ["corpus", "regressions"] {
            let Ok(entries) = std::fs::read_dir(root.join(kind).join(name)) else {
                continue;
            };
            for entry in entries {
                let path = entry.unwrap().path();
                let data = std::fs::read(&path).unwrap();
                let outcome = std::panic::catch_unwind(|| target(&data));
                assert!(outcome.is_ok(), "{name}: {} fails", path.display());
                replayed += 1;
            }
        }
        assert!(
            root.join("corpus").join(name).is_dir(),
            "{name} has no committed corpus"
        );
    }
    assert!(replayed > 0);
    // A crash kept under a name that is no target's would never be replayed.
    for entry in std::fs::read_dir(root.join("regressions")).expect("fuzz/regressions/ exists") {
        let entry = entry.unwrap();
        if entry.file_type().unwrap().is_dir() {
            let name = entry.file_name();
            assert!(
                mcpgen_fuzz::TARGETS.iter().any(|(target, _)| name == *target),
                "fuzz/regressions/{} is no target's",
                name.to_string_lossy()
            );
        }
    }
}
