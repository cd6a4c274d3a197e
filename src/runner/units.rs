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
    /// Whether this process has put its binary in DIR/.units/binaries.
    noted: std::sync::Mutex<bool>,
}

/// The folder of the store where a study writes files that belong to its
/// result (checkpoints; `RunContext::outputs_dir`), beside the sweeps'.
pub const OUTPUTS: &str = "outputs";

/// The file of the store that lists the builds of its units (`binaries`).
const BINARIES: &str = "binaries";

/// The file of the store that lists what else set its units' last bits
/// (`machine_id`): the BLAS core, the kernels' instruction set, the device.
const MACHINES: &str = "machines";

/// The file of the store that names the data its units read beyond the
/// spec (`Plan::data_identity`: the CIFAR images, by a hash of what was
/// loaded), so a `--resume` or a merge on other data is refused.
const DATA: &str = "data";

/// How `binaries` lists the build of units kept from before it recorded them.
pub const UNKNOWN_BUILD: &str = "unknown (units written before builds were recorded)";

/// This binary, as `binaries` lists it: its commit, and for a build from a
/// work tree with changes, " (dirty, changes <hash>)" with a hash of those
/// changes (build.rs), so that two dirty builds of one commit differ.
pub fn binary_id() -> &'static str {
    env!("OVERFIT_BUILD_ID")
}

/// How `machines` lists the machine of units kept from before it recorded them.
pub const UNKNOWN_MACHINE: &str = "unknown (units written before machines were recorded)";

/// The device this process trains on when it is not the CPU (`note_device`).
static DEVICE: std::sync::Mutex<Option<String>> = std::sync::Mutex::new(None);

/// Say that this process's units train on `device` (a GPU, by name), for
/// `machine_id`; the CPU is the default and needs no note.
pub fn note_device(device: &str) {
    *DEVICE.lock().unwrap_or_else(|e| e.into_inner()) = Some(device.to_string());
}

/// What besides the build sets the last bits of this process's units, as
/// `machines` lists it: the BLAS library and the core it runs (the f32 CNN's
/// and, in principle, every gemm's sums round by the core's kernel), the
/// instruction set of the crate's own kernels (conv1's weight gradient sums
/// across its lanes), and the device when it is not the CPU. A `--resume` or
/// `merge` that assembles units of two of these (a cluster of AMD and Intel
/// nodes, a requeued task on another node) warns, as for two builds: the
/// result may differ in its last bits from any uninterrupted run.
pub fn machine_id() -> String {
    let m = crate::blas::Machine::current();
    let device = DEVICE.lock().unwrap_or_else(|e| e.into_inner()).clone();
    format!(
        "{} core {}, kernels {}, device {}",
        m.blas,
        m.blas_core,
        m.kernels,
        device.as_deref().unwrap_or("cpu")
    )
}

/// The store folder of the sweep labelled `label`: the label with every
/// character but ASCII letters, digits, `-` and `_` replaced by `_`.
fn folder_name(label: &str) -> String {
    label
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// Refuse sweep labels that would share a folder of the store: two labels
/// with one `folder_name` (their units would overwrite each other, and a
/// merge would hand one sweep's units to the other), or a label whose
/// folder is the store's own (`OUTPUTS`, whose files would go into the
/// result, or a list file: `BINARIES`, `MACHINES`, `DATA`), or empty.
/// Studies label sweeps with the spec's `name` beside fixed labels, so the
/// error names the spec's key `name` (through `bad_name`) when the name is
/// at fault.
pub(super) fn check_labels(
    labels: &[&str],
    name: &str,
    bad_name: impl Fn(String) -> Error,
) -> Result<()> {
    let name_folder = folder_name(name);
    for (i, label) in labels.iter().enumerate() {
        let folder = folder_name(label);
        let clash = if folder.is_empty()
            || [OUTPUTS, BINARIES, MACHINES, DATA].contains(&folder.as_str())
        {
            Some(format!("the unit store's own `{folder}`"))
        } else {
            labels[..i]
                .iter()
                .find(|l| folder_name(l) == folder)
                .map(|l| format!("`{folder}`, the unit-store folder of the study's sweep {l:?}"))
        };
        let Some(clash) = clash else { continue };
        let msg = format!("{label:?} would put a sweep's units in {clash}");
        return Err(if folder == name_folder {
            bad_name(format!("{msg}; choose another name"))
        } else {
            Error::bad(format!("a study bug: {msg}"))
        });
    }
    Ok(())
}

#[derive(Serialize, Deserialize)]
struct UnitFile<T> {
    result: T,
}

/// A resolved spec without its comment lines (which name the path it came
/// from): what `--resume` (`open`) and `merge` compare. One rule for both:
/// TOML comments may be indented.
pub(super) fn spec_identity(text: &str) -> String {
    text.lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Where two resolved specs differ, for the refusals of `--resume` and
/// `merge`: " (first difference: KEY = A in `first`, B in `second`)" for
/// the first dotted key, in key order, whose value differs or that only one
/// has (an array is one value); empty when either does not parse or no
/// value differs (a comment-only difference).
pub(super) fn spec_difference(first: (&str, &str), second: (&str, &str)) -> String {
    fn flatten(prefix: &str, table: &toml::Table, into: &mut Vec<(String, String)>) {
        for (key, value) in table {
            let key = if prefix.is_empty() {
                key.clone()
            } else {
                format!("{prefix}.{key}")
            };
            match value {
                toml::Value::Table(inner) => flatten(&key, inner, into),
                other => into.push((key, other.to_string())),
            }
        }
    }
    let flat = |text: &str| {
        let table: toml::Table = text.parse().ok()?;
        let mut pairs = Vec::new();
        flatten("", &table, &mut pairs);
        Some(
            pairs
                .into_iter()
                .collect::<std::collections::BTreeMap<_, _>>(),
        )
    };
    let (Some(a), Some(b)) = (flat(first.1), flat(second.1)) else {
        return String::new();
    };
    let keys: std::collections::BTreeSet<&String> = a.keys().chain(b.keys()).collect();
    let absent = "(absent)".to_string();
    let Some(key) = keys.into_iter().find(|k| a.get(*k) != b.get(*k)) else {
        return String::new();
    };
    format!(
        " (first difference: {key} = {} in {}, {} in {})",
        a.get(key).unwrap_or(&absent),
        first.0,
        b.get(key).unwrap_or(&absent),
        second.0
    )
}

/// The resolved spec a merge writes into its output's unit store, and then runs.
pub(super) const MERGED_SPEC: &str = "merged-spec.toml";

/// How `UnitStore::open` starts: a fresh run (earlier units discarded),
/// a `--resume`, or a merge's run of the units it gathered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Opening {
    Fresh,
    Resumed,
    Merged,
}

impl UnitStore {
    pub fn new(out: &Path) -> Self {
        UnitStore {
            root: out.join(".units"),
            noted: std::sync::Mutex::new(false),
        }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    fn binaries_path(&self) -> PathBuf {
        self.root.join(BINARIES)
    }

    /// DIR/.units/outputs (`OUTPUTS`).
    pub fn outputs_dir(&self) -> PathBuf {
        self.root.join(OUTPUTS)
    }

    /// The binaries (`binary_id`) that computed the units here, in the
    /// order they first saved one (`UNKNOWN_BUILD` for units kept from
    /// before builds were recorded).
    pub fn binaries(&self) -> Vec<String> {
        read_list(&self.binaries_path())
    }

    /// The machines (`machine_id`) that computed the units here, in the
    /// order they first saved one (`UNKNOWN_MACHINE` for units kept from
    /// before machines were recorded).
    pub fn machines(&self) -> Vec<String> {
        read_list(&self.root.join(MACHINES))
    }

    /// The machines here other than this process's, when any (summary.json's
    /// `provenance.unit_machines` then lists every machine here).
    pub fn other_machines(&self) -> Vec<String> {
        let this = machine_id();
        self.machines().into_iter().filter(|m| *m != this).collect()
    }

    /// The builds here other than this binary, when any: a `--resume` or
    /// `merge` that assembles their units (summary.json's
    /// `provenance.unit_binaries` then lists every build here).
    pub fn other_builds(&self) -> Vec<String> {
        self.binaries()
            .into_iter()
            .filter(|b| b != binary_id())
            .collect()
    }

    /// The data the units here read (`DATA`), when a study named it.
    pub fn data(&self) -> Option<String> {
        let text = fs::read_to_string(self.root.join(DATA)).ok()?;
        Some(text.trim_end().to_string())
    }

    /// Check that this run reads the data the kept units read, and record
    /// it: a `--resume` or merge whose units read other data (another copy
    /// of CIFAR at `--data`, or other files at the same path) is bad input
    /// naming both, since the result would mix them. `who` begins the
    /// message (`--resume`, `merge`).
    pub fn check_data(&self, identity: &str, who: &str) -> Result<()> {
        match self.data() {
            Some(kept) if kept != identity => Err(Error::bad(format!(
                "{who}: the units in {} read other data ({kept}) than this run ({identity}); point --data at the data they read, or delete {} to start over",
                self.root.display(),
                self.root.display()
            ))),
            Some(_) => Ok(()),
            None => self.record_data(identity),
        }
    }

    fn record_data(&self, identity: &str) -> Result<()> {
        write_atomic(&self.root.join(DATA), format!("{identity}\n").as_bytes())
    }

    fn add_binaries(&self, new: &[String]) -> Result<()> {
        add_to_list(&self.binaries_path(), new)
    }

    fn add_machines(&self, new: &[String]) -> Result<()> {
        add_to_list(&self.root.join(MACHINES), new)
    }

    fn sweep_dir(&self, label: &str) -> PathBuf {
        self.root.join(folder_name(label))
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

    /// The work an interrupted run left here: its finished units and the
    /// mid-run states of unfinished ones (0 when there is no store).
    pub fn kept_work(&self) -> usize {
        let Ok(sweeps) = fs::read_dir(&self.root) else {
            return 0;
        };
        sweeps
            .flatten()
            .filter(|e| e.path().is_dir())
            .filter_map(|e| fs::read_dir(e.path()).ok())
            .flat_map(|units| units.flatten())
            .filter(|u| {
                let name = u.file_name().to_string_lossy().to_string();
                !name.starts_with('.')
                    && (name.ends_with(".toml") || name.ends_with(".state.safetensors"))
            })
            .count()
    }

    /// Start (or continue, with `resume`) a run of the spec whose resolved text is given.
    /// A fresh run discards any earlier units (`execute` refuses to start one
    /// over an interrupted run's work unless told to resume); resuming a
    /// different spec is an error. `Opening::Merged` is a merge's run of the
    /// units it gathered: there a different spec means the shards' resolved
    /// spec does not resolve to itself again (edited by hand?).
    pub fn open(&self, resolved_spec: &str, how: Opening) -> Result<()> {
        let spec_path = self.root.join("spec.toml");
        let same = fs::read_to_string(&spec_path)
            .map(|old| spec_identity(&old) == spec_identity(resolved_spec))
            .unwrap_or(false);
        let resume = how != Opening::Fresh;
        if resume && spec_path.exists() && !same {
            let root = self.root.display();
            return Err(Error::bad(match how {
                Opening::Merged => format!(
                    "merge: the shards' spec.toml, resolved again, is a different spec ({root}/spec.toml against the resolution of {}); were the shards' spec.toml edited?",
                    self.root.join(MERGED_SPEC).display()
                ),
                _ => format!(
                    "--resume: {root} holds units of a different spec{}; run with what they were run with, or delete {root} to start over",
                    spec_difference(
                        ("the units' spec", &fs::read_to_string(&spec_path).unwrap_or_default()),
                        ("this run's", resolved_spec)
                    )
                ),
            }));
        }
        if !resume {
            self.remove_root()?;
        }
        fs::create_dir_all(&self.root).map_err(|e| Error::io(&self.root, e))?;
        if resume && self.kept_work() > 0 {
            // Units kept from before builds (machines) were recorded: theirs is unknown.
            if self.binaries().is_empty() {
                self.add_binaries(&[UNKNOWN_BUILD.to_string()])?;
            }
            if self.machines().is_empty() {
                self.add_machines(&[UNKNOWN_MACHINE.to_string()])?;
            }
        }
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
        self.list_this_process()?;
        write_atomic(&self.path(label, index), text.as_bytes())?;
        let _ = fs::remove_file(self.state_path(label, index));
        Ok(())
    }

    /// List this build and machine here (once per store value): called
    /// before a unit's result or mid-run state lands, so a process killed
    /// between the two leaves no work of an unlisted one.
    pub fn list_this_process(&self) -> Result<()> {
        let mut noted = self.noted.lock().unwrap_or_else(|e| e.into_inner());
        if !*noted {
            self.add_binaries(&[binary_id().to_string()])?;
            self.add_machines(&[machine_id()])?;
            *noted = true;
        }
        Ok(())
    }

    /// Remove the store in a step a kill cannot split: renamed aside to a
    /// hidden `.units.tmp-removing<pid>` (a name every run ignores), then
    /// deleted. Deleted in place, a kill midway left part of it, which the
    /// next run or merge took for an interrupted run's units (a merge's
    /// own, once its merged spec was gone) and refused. Leftovers of a
    /// killed removal are deleted here too.
    fn remove_root(&self) -> Result<()> {
        const REMOVING: &str = ".units.tmp-removing";
        let parent = self.root.parent().unwrap_or(Path::new("."));
        let aside = parent.join(format!("{REMOVING}{}", std::process::id()));
        if self.root.exists() {
            fs::rename(&self.root, &aside).map_err(|e| Error::io(&self.root, e))?;
        }
        for entry in fs::read_dir(parent).into_iter().flatten().flatten() {
            let name = entry.file_name().to_string_lossy().to_string();
            if name.starts_with(REMOVING) && entry.path().is_dir() {
                fs::remove_dir_all(entry.path()).map_err(|e| Error::io(&entry.path(), e))?;
            }
        }
        Ok(())
    }

    /// Remove the cache once the run's final files are written.
    pub fn close(&self) {
        let _ = self.remove_root();
    }

    /// Copy every unit of `other` into this store, and the files its study
    /// wrote for the result (`outputs_dir`, the CNN checkpoints), which the
    /// merged result would otherwise lack (used by `overfit merge`).
    pub fn absorb(&self, other: &UnitStore) -> Result<usize> {
        let mut copied = 0;
        let entries = fs::read_dir(&other.root)
            .map_err(|e| Error::bad(format!("{}: {e}", other.root.display())))?;
        for sweep in entries.flatten().filter(|e| e.path().is_dir()) {
            if sweep.file_name() == OUTPUTS {
                copy_tree(&sweep.path(), &self.outputs_dir())?;
                continue;
            }
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
                let dst = target.join(unit.file_name());
                match fs::read(&dst) {
                    Ok(old) if old == bytes => continue,
                    Ok(_) => {
                        return Err(Error::bad(format!(
                            "merge: {} differs from the unit of that index another shard gave ({}); the shards are not of one run",
                            unit.path().display(),
                            dst.display()
                        )))
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                    Err(e) => return Err(Error::io(&dst, e)),
                }
                write_atomic(&dst, &bytes)?;
                copied += 1;
            }
        }
        if let Some(theirs) = other.data() {
            match self.data() {
                Some(ours) if ours != theirs => {
                    return Err(Error::bad(format!(
                        "merge: {} read other data ({theirs}) than the shards before it ({ours})",
                        other.root.display()
                    )))
                }
                Some(_) => {}
                None => self.record_data(&theirs)?,
            }
        }
        self.add_binaries(&other.binaries())?;
        self.add_machines(&other.machines())?;
        Ok(copied)
    }
}

/// The non-empty lines of a store's list file (`binaries`, `machines`);
/// none when it does not exist.
fn read_list(path: &Path) -> Vec<String> {
    fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect()
}

/// Append to a store's list file the entries of `new` it lacks, in order.
fn add_to_list(path: &Path, new: &[String]) -> Result<()> {
    let mut all = read_list(path);
    let before = all.len();
    for b in new {
        if !all.contains(b) {
            all.push(b.clone());
        }
    }
    if all.len() == before {
        return Ok(());
    }
    let text: String = all.iter().map(|b| format!("{b}\n")).collect();
    write_atomic(path, text.as_bytes())
}

/// Whether a store entry is hidden (`.name`): a writer's temporary file,
/// never part of a result.
fn is_hidden(entry: &fs::DirEntry) -> bool {
    entry.file_name().to_string_lossy().starts_with('.')
}

/// Call `each(src, dst)` for every file `src` below `from` (hidden ones
/// left out), `dst` being its place below `to`, creating the folders below
/// `to` on the way: the one walk behind `copy_tree` (merge) and the
/// runner's `link_tree` (a finished run's outputs).
pub(super) fn for_each_file(
    from: &Path,
    to: &Path,
    each: &mut impl FnMut(&Path, &Path) -> Result<()>,
) -> Result<()> {
    fs::create_dir_all(to).map_err(|e| Error::io(to, e))?;
    let entries = fs::read_dir(from).map_err(|e| Error::io(from, e))?;
    for e in entries.flatten().filter(|e| !is_hidden(e)) {
        let (src, dst) = (e.path(), to.join(e.file_name()));
        if src.is_dir() {
            for_each_file(&src, &dst, each)?;
        } else {
            each(&src, &dst)?;
        }
    }
    Ok(())
}

/// Copy every file below `from` (less hidden ones) to the same place below
/// `to`. A file already there with the same bytes is kept (shards of one run
/// write each output once, so equal bytes are the same output); one with
/// other bytes is refused, naming both, since either copy would silently
/// lose the other.
fn copy_tree(from: &Path, to: &Path) -> Result<()> {
    for_each_file(from, to, &mut |src, dst| {
        let bytes = fs::read(src).map_err(|err| Error::io(src, err))?;
        match fs::read(dst) {
            Ok(old) if old == bytes => return Ok(()),
            Ok(_) => {
                return Err(Error::bad(format!(
                    "merge: {} differs from the file of that name another shard gave ({}); the shards are not of one run",
                    src.display(),
                    dst.display()
                )))
            }
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => {}
            Err(err) => return Err(Error::io(dst, err)),
        }
        write_atomic(dst, &bytes)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Closing removes the store and a killed removal's leftover beside
    /// it; a fresh opening does the same before it starts.
    #[test]
    fn removal_goes_through_a_hidden_name_and_clears_leftovers() {
        let out = tempfile::tempdir().unwrap();
        let store = UnitStore::new(out.path());
        let leftover = out.path().join(".units.tmp-removing1");
        std::fs::create_dir_all(leftover.join("sweep")).unwrap();
        store.open("a = 1\n", Opening::Fresh).unwrap();
        store.save("sweep", 0, &1.0f64).unwrap();
        assert!(!leftover.exists());
        std::fs::create_dir_all(leftover.join("sweep")).unwrap();
        store.close();
        let left: Vec<_> = std::fs::read_dir(out.path()).unwrap().flatten().collect();
        assert!(left.is_empty(), "{left:?}");
    }

    fn check(labels: &[&str], name: &str) -> std::result::Result<(), String> {
        check_labels(labels, name, |m| Error::bad(format!("key `name`: {m}")))
            .map_err(|e| e.to_string())
    }

    /// A unit is listed with this process's build and machine; a merge
    /// keeps a unit two shards gave with the same bytes once, refuses one
    /// whose copies differ, naming both, and lists every shard's machines.
    #[test]
    fn absorb_refuses_differing_copies_of_a_unit_and_lists_machines() {
        let tmp = tempfile::tempdir().unwrap();
        let store = |name: &str| UnitStore::new(&tmp.path().join(name));
        let (a, b, c, merged) = (store("a"), store("b"), store("c"), store("m"));
        for s in [&a, &b, &c, &merged] {
            s.open("name = \"x\"\n", Opening::Fresh).unwrap();
        }
        a.save("sweep", 0, &1.5f64).unwrap();
        b.save("sweep", 0, &1.5f64).unwrap();
        b.save("sweep", 1, &2.5f64).unwrap();
        c.save("sweep", 1, &-2.5f64).unwrap();
        assert_eq!(a.binaries(), vec![binary_id().to_string()]);
        assert_eq!(a.machines(), vec![machine_id()]);
        assert!(a.other_machines().is_empty());
        let other = "OpenBLAS-0.3.21 core Haswell, kernels avx2, device cpu".to_string();
        add_to_list(&b.root().join(MACHINES), std::slice::from_ref(&other)).unwrap();

        assert_eq!(merged.absorb(&a).unwrap(), 1);
        assert_eq!(
            merged.absorb(&b).unwrap(),
            1,
            "unit 0 is a's, with the same bytes"
        );
        assert_eq!(merged.load::<f64>("sweep", 1).unwrap(), Some(2.5));
        assert_eq!(merged.machines(), vec![machine_id(), other.clone()]);
        assert_eq!(merged.other_machines(), vec![other]);
        let err = merged.absorb(&c).unwrap_err().to_string();
        assert!(
            err.contains("differs from the unit of that index another shard gave")
                && err.contains(&c.path("sweep", 1).display().to_string()),
            "{err}"
        );
        assert_eq!(merged.load::<f64>("sweep", 1).unwrap(), Some(2.5), "kept");
    }

    /// A spec name beside a study's fixed labels must not share a folder
    /// with one of them or with the store's own entries.
    #[test]
    fn labels_that_share_a_folder_are_refused() {
        assert!(check(&["logistic_gd", "my run"], "my run").is_ok());
        let err = check(&["logistic_gd", "logistic_gd"], "logistic_gd").unwrap_err();
        assert!(
            err.starts_with("key `name`: \"logistic_gd\" would put"),
            "{err}"
        );
        // Equal once sanitised ('.' and ' ' become '_').
        let err = check(&["grokking_map", "grokking.map"], "grokking.map").unwrap_err();
        assert!(err.contains("`grokking_map`"), "{err}");
        for reserved in ["outputs", "binaries", "machines", "data", ""] {
            let err = check(&["fixed", reserved], reserved).unwrap_err();
            assert!(err.contains("the unit store's own"), "{err}");
        }
        let err = check(&["a", "a"], "other").unwrap_err();
        assert!(err.starts_with("a study bug"), "{err}");
    }
}
