//! Fuzz target: arbitrary bytes as a CIFAR-10 binary batch file, with the
//! first bytes choosing the class filter and the image limit. The loader
//! must return Ok or a one-line error naming the file, never panic.
#![no_main]
use libfuzzer_sys::fuzz_target;
use overfit::data::cifar::{parse_records, CifarSet};
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    if data.len() < 2 {
        return;
    }
    let n_classes = (data[0] % 11) as usize;
    let classes: Vec<u8> = data[1..].iter().take(n_classes).map(|b| b % 12).collect();
    let limit = data[0] as usize;
    let body = &data[(1 + n_classes).min(data.len())..];
    let mut out = CifarSet::default();
    if let Err(e) = parse_records(Path::new("fuzz.bin"), body, &classes, limit, &mut out) {
        let msg = e.to_string();
        assert!(msg.contains("fuzz.bin") && !msg.contains('\n'), "{msg}");
    } else {
        assert_eq!(out.pixels.len(), out.labels.len() * 3072);
        assert!(out.labels.iter().all(|&l| (l as usize) < classes.len()));
    }
});
