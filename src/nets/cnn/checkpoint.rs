//! Checkpoints in the safetensors format with PyTorch state_dict names and
//! shapes, so `model.load_state_dict(safetensors.torch.load_file(path))`
//! works on the same architecture in PyTorch.
//!
//! File layout: an 8-byte little-endian u64 N, then N bytes of JSON
//! {"name": {"dtype": "F32", "shape": [...], "data_offsets": [begin, end]}, ...,
//!  "__metadata__": {"key": "value", ...}} (padded with spaces to a multiple of
//! 8 bytes), then the raw little-endian tensor bytes; offsets count from the
//! start of that data section. Conv weights are converted between PyTorch's
//! [c_out, c_in, k, k] and the engine's [c_out, k, k, c_in].

use std::collections::BTreeMap;
use std::path::Path;

use super::model::{Model, ParamInfo};
use crate::error::{Error, Result};

/// A named f32 tensor in PyTorch layout.
#[derive(Clone, Debug, PartialEq)]
pub struct Tensor {
    pub name: String,
    pub shape: Vec<usize>,
    pub data: Vec<f32>,
}

/// Serialise tensors (in the given order) and string metadata.
pub fn to_bytes(tensors: &[Tensor], metadata: &BTreeMap<String, String>) -> Vec<u8> {
    let mut header = serde_json::Map::new();
    if !metadata.is_empty() {
        header.insert("__metadata__".into(), serde_json::json!(metadata));
    }
    let mut offset = 0usize;
    for t in tensors {
        let len = t.data.len() * 4;
        header.insert(
            t.name.clone(),
            serde_json::json!({"dtype": "F32", "shape": t.shape, "data_offsets": [offset, offset + len]}),
        );
        offset += len;
    }
    let mut json = serde_json::to_string(&header)
        .expect("header serialises")
        .into_bytes();
    while !json.len().is_multiple_of(8) {
        json.push(b' ');
    }
    let mut out = Vec::with_capacity(8 + json.len() + offset);
    out.extend_from_slice(&(json.len() as u64).to_le_bytes());
    out.extend_from_slice(&json);
    for t in tensors {
        for v in &t.data {
            out.extend_from_slice(&v.to_le_bytes());
        }
    }
    out
}

/// Parse a safetensors file's bytes (F32 tensors only); `path` names it in errors.
pub fn from_bytes(path: &Path, bytes: &[u8]) -> Result<(Vec<Tensor>, BTreeMap<String, String>)> {
    let bad = |msg: String| Error::bad(format!("{}: {msg}", path.display()));
    if bytes.len() < 8 {
        return Err(bad(format!(
            "{} bytes: too short for a safetensors header",
            bytes.len()
        )));
    }
    let n = u64::from_le_bytes(bytes[..8].try_into().expect("8 bytes")) as usize;
    if n > bytes.len() - 8 {
        return Err(bad(format!(
            "header length {n} runs past the end of the file ({} bytes)",
            bytes.len()
        )));
    }
    let header: serde_json::Map<String, serde_json::Value> =
        serde_json::from_slice(&bytes[8..8 + n])
            .map_err(|e| bad(format!("header is not a JSON object ({e})")))?;
    let data = &bytes[8 + n..];
    let mut tensors = Vec::new();
    let mut metadata = BTreeMap::new();
    for (name, v) in &header {
        if name == "__metadata__" {
            if let Some(m) = v.as_object() {
                for (k, s) in m {
                    metadata.insert(k.clone(), s.as_str().unwrap_or_default().to_string());
                }
            }
            continue;
        }
        let dtype = v.get("dtype").and_then(|d| d.as_str()).unwrap_or("?");
        if dtype != "F32" {
            return Err(bad(format!(
                "tensor {name}: dtype {dtype}, only F32 is supported"
            )));
        }
        let shape: Vec<usize> = v
            .get("shape")
            .and_then(|s| s.as_array())
            .and_then(|a| a.iter().map(|d| d.as_u64().map(|d| d as usize)).collect())
            .ok_or_else(|| bad(format!("tensor {name}: bad shape")))?;
        let offs: Vec<usize> = v
            .get("data_offsets")
            .and_then(|s| s.as_array())
            .and_then(|a| a.iter().map(|d| d.as_u64().map(|d| d as usize)).collect())
            .filter(|o: &Vec<usize>| o.len() == 2)
            .ok_or_else(|| bad(format!("tensor {name}: bad data_offsets")))?;
        let count: usize = shape.iter().product();
        if offs[1] < offs[0] || offs[1] > data.len() || offs[1] - offs[0] != 4 * count {
            return Err(bad(format!(
                "tensor {name}: data_offsets {offs:?} do not hold {count} f32 values within the {}-byte data section",
                data.len()
            )));
        }
        let values = data[offs[0]..offs[1]]
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes(c.try_into().expect("4 bytes")))
            .collect();
        tensors.push(Tensor {
            name: name.clone(),
            shape,
            data: values,
        });
    }
    Ok((tensors, metadata))
}

/// Read a safetensors file.
pub fn read(path: &Path) -> Result<(Vec<Tensor>, BTreeMap<String, String>)> {
    let bytes = crate::fsio::read_regular(path, "a safetensors checkpoint")?;
    from_bytes(path, &bytes)
}

/// [c_out, c_in, k, k] (PyTorch) -> [c_out, k, k, c_in] (engine).
pub fn conv_from_torch(w: &[f32], c_out: usize, c_in: usize, k: usize) -> Vec<f32> {
    let mut out = vec![0.0; w.len()];
    for co in 0..c_out {
        for ci in 0..c_in {
            for ky in 0..k {
                for kx in 0..k {
                    out[((co * k + ky) * k + kx) * c_in + ci] =
                        w[((co * c_in + ci) * k + ky) * k + kx];
                }
            }
        }
    }
    out
}

/// [c_out, k, k, c_in] (engine) -> [c_out, c_in, k, k] (PyTorch).
pub fn conv_to_torch(w: &[f32], c_out: usize, c_in: usize, k: usize) -> Vec<f32> {
    let mut out = vec![0.0; w.len()];
    for co in 0..c_out {
        for ci in 0..c_in {
            for ky in 0..k {
                for kx in 0..k {
                    out[((co * c_in + ci) * k + ky) * k + kx] =
                        w[((co * k + ky) * k + kx) * c_in + ci];
                }
            }
        }
    }
    out
}

fn to_torch(info: &ParamInfo, values: &[f32]) -> Vec<f32> {
    match info.conv {
        Some((co, ci, k)) => conv_to_torch(values, co, ci, k),
        None => values.to_vec(),
    }
}

/// The model's state_dict in PyTorch layout.
pub fn state_dict(model: &Model) -> Vec<Tensor> {
    model
        .param_infos()
        .iter()
        .map(|info| Tensor {
            name: info.name.clone(),
            shape: info.shape.clone(),
            data: to_torch(info, &model.params[info.range.clone()]),
        })
        .collect()
}

/// Check that `tensors` are exactly the model's state_dict names and shapes.
pub fn check_matches(model: &Model, tensors: &[Tensor], path: &Path) -> Result<()> {
    let bad = |msg: String| Error::bad(format!("{}: {msg}", path.display()));
    for info in model.param_infos() {
        let t = tensors
            .iter()
            .find(|t| t.name == info.name)
            .ok_or_else(|| {
                bad(format!(
                    "no tensor {} (the architecture needs it)",
                    info.name
                ))
            })?;
        if t.shape != info.shape {
            return Err(bad(format!(
                "tensor {} has shape {:?}, the architecture needs {:?}",
                info.name, t.shape, info.shape
            )));
        }
    }
    if let Some(extra) = tensors
        .iter()
        .find(|t| !model.param_infos().iter().any(|i| i.name == t.name))
    {
        return Err(bad(format!(
            "tensor {} is not a parameter of this architecture",
            extra.name
        )));
    }
    Ok(())
}

/// Set the model's parameters from a state_dict (names and shapes checked).
pub fn load_state_dict(model: &mut Model, tensors: &[Tensor], path: &Path) -> Result<()> {
    check_matches(model, tensors, path)?;
    let infos = model.param_infos().to_vec();
    for info in &infos {
        let t = tensors
            .iter()
            .find(|t| t.name == info.name)
            .expect("checked");
        let values = match info.conv {
            Some((co, ci, k)) => conv_from_torch(&t.data, co, ci, k),
            None => t.data.clone(),
        };
        model.params[info.range.clone()].copy_from_slice(&values);
    }
    Ok(())
}

/// Write the model to `path` atomically (temporary file + rename).
pub fn save(model: &Model, path: &Path, metadata: &BTreeMap<String, String>) -> Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    }
    crate::fsio::write_atomic(path, &to_bytes(&state_dict(model), metadata))
}

/// Load a checkpoint into the model.
pub fn load(model: &mut Model, path: &Path) -> Result<BTreeMap<String, String>> {
    let (tensors, meta) = read(path)?;
    load_state_dict(model, &tensors, path)?;
    Ok(meta)
}
