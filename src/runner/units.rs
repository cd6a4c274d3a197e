//! The unit store: every finished job of a sweep, cached on disk.

use std::fs;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::fsio::{remove_stale_temps, write_atomic};

/// The per-unit cache that makes sweeps resumable and shardable: the result
/// of job i of sweep `label` lives in DIR/.units/<label>/<i>.toml, written
/// atomically when the job finishes. TOML keeps NaN and inf exactly, and
/// floats round-trip bit for bit, so a resumed or merged run assembles the
/// same bytes as an uninterrupted one.
pub struct UnitStore {
    root: PathBuf,
}

#[derive(Serialize, Deserialize)]
struct UnitFile<T> {
    result: T,
}

/// A resolved spec without its comment lines (which name the path it came from).
fn spec_identity(text: &str) -> String {
    text.lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .collect::<Vec<_>>()
        .join("\n")
}

impl UnitStore {
    pub fn new(out: &Path) -> Self {
        UnitStore {
            root: out.join(".units"),
        }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    fn sweep_dir(&self, label: &str) -> PathBuf {
        let safe: String = label
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        self.root.join(safe)
    }

    pub fn path(&self, label: &str, index: usize) -> PathBuf {
        self.sweep_dir(label).join(format!("{index:06}.toml"))
    }

    /// Where an unfinished unit keeps its mid-run state (a long training's
    /// last checkpoint epoch); removed when the unit is saved. Not a unit:
    /// `absorb` leaves it behind.
    pub fn state_path(&self, label: &str, index: usize) -> PathBuf {
        self.sweep_dir(label)
            .join(format!("{index:06}.state.safetensors"))
    }

    /// Start (or continue, with `resume`) a run of the spec whose resolved text is given.
    /// A fresh run discards any earlier units; resuming a different spec is an error.
    pub fn open(&self, resolved_spec: &str, resume: bool) -> Result<()> {
        let spec_path = self.root.join("spec.toml");
        let same = fs::read_to_string(&spec_path)
            .map(|old| spec_identity(&old) == spec_identity(resolved_spec))
            .unwrap_or(false);
        if resume && spec_path.exists() && !same {
            return Err(Error::bad(format!(
                "--resume: {} holds units of a different spec; run without --resume to start over",
                self.root.display()
            )));
        }
        if !resume && self.root.exists() {
            fs::remove_dir_all(&self.root).map_err(|e| Error::io(&self.root, e))?;
        }
        fs::create_dir_all(&self.root).map_err(|e| Error::io(&self.root, e))?;
        remove_stale_temps(&self.root);
        if let Ok(entries) = fs::read_dir(&self.root) {
            entries
                .flatten()
                .filter(|e| e.path().is_dir())
                .for_each(|e| remove_stale_temps(&e.path()));
        }
        write_atomic(&spec_path, resolved_spec.as_bytes())
    }

    pub fn load<T: serde::de::DeserializeOwned>(
        &self,
        label: &str,
        index: usize,
    ) -> Result<Option<T>> {
        let path = self.path(label, index);
        match fs::read_to_string(&path) {
            Ok(text) => toml::from_str::<UnitFile<T>>(&text)
                .map(|u| Some(u.result))
                .map_err(|e| {
                    Error::bad(format!(
                        "{}: corrupt unit ({})",
                        path.display(),
                        e.message()
                    ))
                }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(Error::io(&path, e)),
        }
    }

    pub fn save<T: Serialize>(&self, label: &str, index: usize, result: &T) -> Result<()> {
        let dir = self.sweep_dir(label);
        fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
        let text = toml::to_string(&UnitFile { result })
            .map_err(|e| Error::bad(format!("unit {label}/{index}: cannot serialise ({e})")))?;
        write_atomic(&self.path(label, index), text.as_bytes())?;
        let _ = fs::remove_file(self.state_path(label, index));
        Ok(())
    }

    /// Remove the cache once the run's final files are written.
    pub fn close(&self) {
        let _ = fs::remove_dir_all(&self.root);
    }

    /// Copy every unit of `other` into this store (used by `overfit merge`).
    pub fn absorb(&self, other: &UnitStore) -> Result<usize> {
        let mut copied = 0;
        let entries = fs::read_dir(&other.root)
            .map_err(|e| Error::bad(format!("{}: {e}", other.root.display())))?;
        for sweep in entries.flatten().filter(|e| e.path().is_dir()) {
            let target = self.root.join(sweep.file_name());
            fs::create_dir_all(&target).map_err(|e| Error::io(&target, e))?;
            for unit in fs::read_dir(sweep.path())
                .map_err(|e| Error::io(&sweep.path(), e))?
                .flatten()
                .filter(|u| u.path().extension().is_some_and(|x| x == "toml"))
            {
                let bytes = fs::read(unit.path()).map_err(|e| Error::io(&unit.path(), e))?;
                // Check here, so a bad unit is named by its shard's file, not the copy.
                let parsed = std::str::from_utf8(&bytes)
                    .ok()
                    .and_then(|t| t.parse::<toml::Table>().ok());
                if parsed.is_none_or(|t| !t.contains_key("result")) {
                    return Err(Error::bad(format!(
                        "{}: corrupt unit (not a unit's TOML)",
                        unit.path().display()
                    )));
                }
                write_atomic(&target.join(unit.file_name()), &bytes)?;
                copied += 1;
            }
        }
        Ok(copied)
    }
}
