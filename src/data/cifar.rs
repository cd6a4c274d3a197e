//! CIFAR-10 in its binary format: files of records of 1 label byte (the
//! class id 0..9) followed by 3072 pixel bytes, 1024 red, 1024 green, 1024
//! blue, each plane row-major 32 x 32. Training files are
//! data_batch_1.bin .. data_batch_5.bin (those present, in order), the test
//! file test_batch.bin.
//!
//! The loader keeps the records of chosen classes, relabels them 0..k-1 in
//! the order the classes are listed, scales pixels to [-1, 1] exactly as
//! PyTorch's ToTensor + Normalize(0.5, 0.5) does ((v / 255 - 0.5) / 0.5 in
//! f32) and stops after an optional number of kept records (the files are
//! in a fixed shuffled order, so the first n are a fixed subset). Images
//! stay in the file's (and PyTorch's) channel-major order.
//! Bad files are bad input (exit 2): the message names the file and the
//! byte offset of the first bad record.

use std::path::{Path, PathBuf};

use rand::RngExt;

use crate::data::label_noise::{flip_binary, FlipRule};
use crate::error::{Error, Result};
use crate::rng::Rng;

/// Pixel bytes per image (3 x 32 x 32).
pub const IMAGE_BYTES: usize = 3072;
/// Bytes per record: the label and the image.
pub const RECORD_BYTES: usize = 1 + IMAGE_BYTES;
/// Classes of CIFAR-10.
pub const CLASSES: usize = 10;

/// A labelled image set: `pixels` holds n images of 3072 floats in [-1, 1].
#[derive(Clone, Debug, Default, PartialEq)]
pub struct CifarSet {
    pub pixels: Vec<f32>,
    /// Labels relabelled to 0..k-1.
    pub labels: Vec<u8>,
}

impl CifarSet {
    pub fn len(&self) -> usize {
        self.labels.len()
    }
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }
}

/// Which split to read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Split {
    Train,
    Test,
}

/// The files of a split in `dir` (training: data_batch_1.bin, ..., the
/// first k of data_batch_1..5.bin, numbered without a gap). A name that is
/// present is listed whatever it is (a broken link, a link loop, a
/// directory), so that `load` refuses it instead of silently using the
/// next file; a gap (data_batch_2.bin present without data_batch_1.bin) is
/// refused here for the same reason.
pub fn split_files(dir: &Path, split: Split) -> Result<Vec<PathBuf>> {
    if !dir.is_dir() {
        let what = match dir.exists() {
            true => "is not a folder: the CIFAR-10 data is a folder",
            false => "CIFAR-10 folder not found",
        };
        return Err(Error::bad(format!(
            "{}: {what} (expected data_batch_*.bin and test_batch.bin in the binary format; give it with --data DIR or the spec's data.dir)",
            dir.display()
        )));
    }
    // symlink_metadata: a broken link or a loop is present too.
    let present = |p: &PathBuf| p.symlink_metadata().is_ok();
    let names: Vec<PathBuf> = match split {
        Split::Train => (1..=5)
            .map(|i| dir.join(format!("data_batch_{i}.bin")))
            .collect(),
        Split::Test => vec![dir.join("test_batch.bin")],
    };
    let files: Vec<PathBuf> = names.iter().take_while(|p| present(p)).cloned().collect();
    if let Some(later) = names[files.len()..].iter().find(|p| present(p)) {
        return Err(Error::bad(format!(
            "{}: present, but {} is not: the batches must be numbered from 1 without a gap",
            later.display(),
            names[files.len()].display()
        )));
    }
    if files.is_empty() {
        let want = match split {
            Split::Train => "data_batch_1.bin .. data_batch_5.bin",
            Split::Test => "test_batch.bin",
        };
        return Err(Error::bad(format!(
            "{}: no {want} in this folder",
            dir.display()
        )));
    }
    Ok(files)
}

/// Check `classes` (original ids): non-empty, each < 10, no repeats.
pub fn check_classes(classes: &[u8]) -> std::result::Result<(), String> {
    if classes.is_empty() {
        return Err("the class filter is empty: list at least one class id 0..9".into());
    }
    for (i, &c) in classes.iter().enumerate() {
        if c as usize >= CLASSES {
            return Err(format!("class {c} is outside 0..9"));
        }
        if classes[..i].contains(&c) {
            return Err(format!("class {c} is listed twice"));
        }
    }
    Ok(())
}

/// Append the records of `bytes` (the contents of `path`) whose class is in
/// `classes` to `out`, until `out` holds `limit` images. Every record's
/// label is checked, kept or not.
pub fn parse_records(
    path: &Path,
    bytes: &[u8],
    classes: &[u8],
    limit: usize,
    out: &mut CifarSet,
) -> Result<()> {
    check_classes(classes).map_err(|m| Error::bad(format!("{}: {m}", path.display())))?;
    if bytes.is_empty() {
        return Err(Error::bad(format!(
            "{}: empty file (no {RECORD_BYTES}-byte records)",
            path.display()
        )));
    }
    let whole = bytes.len() / RECORD_BYTES * RECORD_BYTES;
    if whole != bytes.len() {
        return Err(Error::bad(format!(
            "{}: {} bytes is not a whole number of {RECORD_BYTES}-byte records: the record at byte offset {whole} is truncated ({} of {RECORD_BYTES} bytes)",
            path.display(),
            bytes.len(),
            bytes.len() - whole
        )));
    }
    for (i, rec) in bytes.chunks_exact(RECORD_BYTES).enumerate() {
        if rec[0] as usize >= CLASSES {
            return Err(Error::bad(format!(
                "{}: byte offset {} (record {i}): label {} is outside 0..9",
                path.display(),
                i * RECORD_BYTES,
                rec[0]
            )));
        }
    }
    for rec in bytes.chunks_exact(RECORD_BYTES) {
        if out.len() >= limit {
            break;
        }
        if let Some(k) = classes.iter().position(|&c| c == rec[0]) {
            out.labels.push(k as u8);
            out.pixels
                .extend(rec[1..].iter().map(|&v| (v as f32 / 255.0 - 0.5) / 0.5));
        }
    }
    Ok(())
}

/// Load a split from `dir`: the records of `classes` (relabelled by their
/// position in the list), at most `limit` of them (all when None). Every
/// listed file is read and every record's label checked, also those past
/// `limit`: a bad file is refused, never skipped (it would otherwise pass
/// unnoticed while earlier files hold enough images, and fail a run that
/// asks for more).
pub fn load(dir: &Path, split: Split, classes: &[u8], limit: Option<usize>) -> Result<CifarSet> {
    let files = split_files(dir, split)?;
    let limit = limit.unwrap_or(usize::MAX);
    let mut out = CifarSet::default();
    for f in &files {
        let bytes = crate::fsio::read_regular(f, "a CIFAR-10 batch file")?;
        parse_records(f, &bytes, classes, limit, &mut out)?;
    }
    if out.is_empty() {
        let names: Vec<String> = files
            .iter()
            .filter_map(|f| f.file_name().map(|n| n.to_string_lossy().into_owned()))
            .collect();
        return Err(Error::bad(format!(
            "{}: no record of classes {classes:?} in {} (the filter selects nothing)",
            dir.display(),
            names.join(", ")
        )));
    }
    Ok(out)
}

/// Label noise as Nakkiran et al. (2019): each training label is replaced,
/// with probability eta (`FlipRule::Bernoulli`) or for exactly round(eta n)
/// examples (`FlipRule::Exact`), by a class drawn uniformly among the
/// `classes - 1` WRONG classes. Drawn once per run. Returns (noisy labels,
/// which were changed); the clean labels are the input, kept by the caller.
pub fn noisy_labels(
    clean: &[u8],
    classes: usize,
    eta: f64,
    rule: FlipRule,
    rng: &mut Rng,
) -> (Vec<u8>, Vec<bool>) {
    assert!(
        classes >= 2 || eta == 0.0,
        "label noise needs at least two classes"
    );
    let (_, flipped) = flip_binary(&vec![1.0; clean.len()], eta, rule, rng);
    let noisy = clean
        .iter()
        .zip(&flipped)
        .map(|(&y, &f)| {
            if !f {
                return y;
            }
            let r = rng.random_range(0..classes as u8 - 1);
            if r >= y {
                r + 1
            } else {
                r
            }
        })
        .collect();
    (noisy, flipped)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Records with labels `labels`; the pixel bytes of record i are all (i % 256).
    fn records(labels: &[u8]) -> Vec<u8> {
        let mut b = Vec::new();
        for (i, &l) in labels.iter().enumerate() {
            b.push(l);
            b.extend(std::iter::repeat_n((i % 256) as u8, IMAGE_BYTES));
        }
        b
    }

    #[test]
    fn filters_relabels_scales_and_limits() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("data_batch_1.bin"),
            records(&[1, 0, 8, 6, 7, 1]),
        )
        .unwrap();
        std::fs::write(
            dir.path().join("data_batch_2.bin"),
            records(&[8, 9, 255 - 250]),
        )
        .unwrap();
        std::fs::write(dir.path().join("test_batch.bin"), records(&[7, 7])).unwrap();
        let classes = [1, 6, 7, 8];
        let s = load(dir.path(), Split::Train, &classes, None).unwrap();
        assert_eq!(s.labels, vec![0, 3, 1, 2, 0, 3]);
        assert_eq!(s.pixels.len(), 6 * IMAGE_BYTES);
        // Record 2 of file 1 has pixel byte 2: (2/255 - 0.5)/0.5.
        assert_eq!(s.pixels[IMAGE_BYTES], (2.0f32 / 255.0 - 0.5) / 0.5);
        let lim = load(dir.path(), Split::Train, &classes, Some(3)).unwrap();
        assert_eq!(lim.labels, vec![0, 3, 1]);
        let t = load(dir.path(), Split::Test, &classes, None).unwrap();
        assert_eq!(t.labels, vec![2, 2]);
        // Extremes map to -1 and +1.
        let mut out = CifarSet::default();
        let mut bytes = vec![1u8];
        bytes.extend([0u8, 255].iter().cycle().take(IMAGE_BYTES));
        parse_records(Path::new("x"), &bytes, &[1], 10, &mut out).unwrap();
        assert_eq!((out.pixels[0], out.pixels[1]), (-1.0, 1.0));
    }

    #[test]
    fn malformed_files_name_the_file_and_byte_offset() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("data_batch_1.bin");
        let mut b = records(&[1, 2, 3]);
        b.truncate(b.len() - 100);
        std::fs::write(&p, &b).unwrap();
        let e = load(dir.path(), Split::Train, &[1], None).unwrap_err();
        let msg = e.to_string();
        assert!(
            msg.contains("data_batch_1.bin") && msg.contains("byte offset 6146"),
            "{msg}"
        );
        assert_eq!(e.exit_code(), 2);

        std::fs::write(&p, records(&[1, 12, 3])).unwrap();
        let msg = load(dir.path(), Split::Train, &[1], None)
            .unwrap_err()
            .to_string();
        assert!(
            msg.contains("byte offset 3073") && msg.contains("label 12"),
            "{msg}"
        );

        std::fs::write(&p, records(&[1, 2, 3])).unwrap();
        let msg = load(dir.path(), Split::Train, &[9], None)
            .unwrap_err()
            .to_string();
        assert!(msg.contains("selects nothing"), "{msg}");
        let msg = load(dir.path(), Split::Train, &[], None)
            .unwrap_err()
            .to_string();
        assert!(msg.contains("filter is empty"), "{msg}");
        let msg = load(dir.path(), Split::Test, &[1], None)
            .unwrap_err()
            .to_string();
        assert!(msg.contains("test_batch.bin"), "{msg}");
        let msg = load(&dir.path().join("nope"), Split::Train, &[1], None)
            .unwrap_err()
            .to_string();
        assert!(msg.contains("nope") && msg.contains("not found"), "{msg}");
        std::fs::write(&p, b"").unwrap();
        assert!(load(dir.path(), Split::Train, &[1], None)
            .unwrap_err()
            .to_string()
            .contains("empty file"));
        for m in [&[1u8, 1][..], &[10][..]] {
            assert!(check_classes(m).is_err());
        }
    }

    #[test]
    fn label_noise_moves_labels_to_wrong_classes_uniformly() {
        let mut rng = crate::rng::stream(4, 0, "t");
        let n = 40000;
        let clean: Vec<u8> = (0..n).map(|i| (i % 4) as u8).collect();
        let (noisy, flipped) = noisy_labels(&clean, 4, 0.2, FlipRule::Bernoulli, &mut rng);
        let k = flipped.iter().filter(|&&f| f).count() as f64;
        let sd = (n as f64 * 0.2 * 0.8).sqrt();
        assert!((k - 0.2 * n as f64).abs() < 4.0 * sd, "{k}");
        let mut counts = [[0usize; 4]; 4];
        for ((&c, &y), &f) in clean.iter().zip(&noisy).zip(&flipped) {
            assert_eq!(f, c != y, "a flipped label always changes");
            counts[c as usize][y as usize] += 1;
        }
        // Each wrong class gets ~1/3 of a class's flips.
        for (c, row) in counts.iter().enumerate() {
            let flips: usize = (0..4).filter(|&j| j != c).map(|j| row[j]).sum();
            for (j, &v) in row.iter().enumerate().filter(|&(j, _)| j != c) {
                let want = flips as f64 / 3.0;
                assert!(
                    (v as f64 - want).abs() < 5.0 * want.sqrt(),
                    "{c}->{j}: {v} vs {want}"
                );
            }
        }
        let (exact, f) = noisy_labels(&clean, 4, 0.1, FlipRule::Exact, &mut rng);
        assert_eq!(f.iter().filter(|&&x| x).count(), 4000);
        assert_eq!(
            exact.iter().zip(&clean).filter(|(a, b)| a != b).count(),
            4000
        );
    }
}
