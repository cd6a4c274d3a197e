//! Fuzz target: any bytes through the spec parser and every study's
//! validation must give Ok or a one-line Error, never a panic.
#![no_main]
use libfuzzer_sys::fuzz_target;
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        for quick in [false, true] {
            if let Ok(spec) = overfit::spec::parse(Path::new("fuzz.toml"), text, quick) {
                if let Err(e) = overfit::studies::validate(&spec) {
                    assert!(!e.to_string().contains('\n'), "multi-line error: {e}");
                }
            }
        }
    }
});
