//! Fuzzing the spec parser inside the test suite (the cargo-fuzz targets in
//! fuzz/ run longer; see the README): random text and random mutations of
//! the shipped specs go through parsing and validation, which must return
//! Ok or a one-line error, never panic.

use std::path::Path;

use proptest::prelude::*;

fn specs() -> Vec<String> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("experiments");
    let mut v: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    v.sort();
    v.into_iter()
        .map(|p| std::fs::read_to_string(p).unwrap())
        .collect()
}

fn check(text: &str) -> Result<(), TestCaseError> {
    for quick in [false, true] {
        if let Ok(spec) = overfit::spec::parse(Path::new("fuzz.toml"), text, quick) {
            if let Err(e) = overfit::studies::validate(&spec) {
                prop_assert!(!e.to_string().contains('\n'), "multi-line error: {e}");
                prop_assert_eq!(e.exit_code(), 2);
            }
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn random_text_never_panics(text in "\\PC{0,200}") {
        check(&text)?;
    }

    /// Byte-level edits of real specs: deletions, insertions and replaced values.
    #[test]
    fn mutated_specs_never_panic(which in any::<prop::sample::Index>(), edits in prop::collection::vec((any::<prop::sample::Index>(), 0u8..4, "[-0-9a-z_.=\\[\\]\"{}, \n]{0,6}"), 1..6)) {
        let all = specs();
        let mut text = all[which.index(all.len())].clone();
        for (at, kind, piece) in edits {
            let mut cut = at.index(text.len().max(1)).min(text.len());
            while !text.is_char_boundary(cut) { cut -= 1; }
            match kind {
                0 => { text.insert_str(cut, &piece); }
                1 => { let end = (cut + piece.len()).min(text.len()); if text.is_char_boundary(end) { text.replace_range(cut..end, ""); } }
                2 => { let end = (cut + piece.len()).min(text.len()); if text.is_char_boundary(end) { text.replace_range(cut..end, &piece); } }
                _ => {
                    // Replace a number with an extreme one.
                    let extreme = ["0", "-1", "1e308", "nan", "inf", "18446744073709551615", "1e-320"][piece.len() % 7];
                    if let Some(pos) = text[cut..].find(|c: char| c.is_ascii_digit()) {
                        let start = cut + pos;
                        let end = text[start..].find(|c: char| !(c.is_ascii_digit() || c == '.' || c == 'e' || c == '-')).map_or(text.len(), |e| start + e);
                        text.replace_range(start..end, extreme);
                    }
                }
            }
        }
        check(&text)?;
    }
}
