//! PyTorch checkpoints (`torch.save` zip format): the pickled object tree and the raw tensor
//! storages it points to. Reads a PyTorch Lightning checkpoint (weights under `state_dict`) or a
//! bare state dict, without Python.
//!
//! Why not `pytorch-reader` (burn-store's reader, 0.22.1 and 0.23.0-pre.1): it refuses the
//! official Lightning layout at open time. `hyper_parameters` holds an `AttributeDict`,
//! pickled as `NEWOBJ` + `SETITEMS`; the reader turns the unknown class into an opaque object
//! and then fails with `UnexpectedOpCode(SetItems)`, before any top-level key applies. Every
//! tensor case we need (f32, f16, strided, shared storage, lazy reads) it does read exactly.

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufReader, Read};
use std::path::Path;

use crate::Failure;
use crate::pickle::{self, TensorRef, Value};

/// Element type of a PyTorch storage.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Elem {
    /// float32.
    F32,
    /// float16.
    F16,
    /// bfloat16.
    BF16,
    /// float64.
    F64,
    /// Integer or boolean storages (not model weights; skipped).
    Other(usize),
}

impl Elem {
    fn from_class(class: &str) -> Result<Self, Failure> {
        Ok(match class {
            "FloatStorage" => Self::F32,
            "HalfStorage" => Self::F16,
            "BFloat16Storage" => Self::BF16,
            "DoubleStorage" => Self::F64,
            "LongStorage" => Self::Other(8),
            "IntStorage" => Self::Other(4),
            "ShortStorage" => Self::Other(2),
            "CharStorage" | "ByteStorage" | "BoolStorage" => Self::Other(1),
            other => return Err(Failure(format!("unsupported storage type `{other}`"))),
        })
    }

    /// Bytes per element.
    pub fn size(self) -> usize {
        match self {
            Self::F32 => 4,
            Self::F16 | Self::BF16 => 2,
            Self::F64 => 8,
            Self::Other(n) => n,
        }
    }

    /// Whether this is a floating-point type.
    pub fn is_float(self) -> bool {
        !matches!(self, Self::Other(_))
    }
}

/// A tensor of the state dict, not read yet.
#[derive(Debug, Clone)]
pub struct Entry {
    /// Key as stored (with any `net.` prefix).
    pub key: String,
    /// Element type.
    pub elem: Elem,
    /// Where the data lives.
    pub tensor: TensorRef,
}

/// An opened checkpoint.
pub struct Checkpoint {
    zip: zip::ZipArchive<BufReader<File>>,
    prefix: String,
    /// The state-dict tensors, in file order.
    pub entries: Vec<Entry>,
    /// Top-level keys of the pickled object (e.g. `epoch`, `state_dict`, `optimizer_states`).
    pub top_level: Vec<String>,
}

impl Checkpoint {
    /// Open a checkpoint and index its state dict.
    pub fn open(path: &Path) -> Result<Self, Failure> {
        let name = path.display();
        let file = File::open(path).map_err(|e| Failure(format!("cannot read {name}: {e}")))?;
        let mut zip = zip::ZipArchive::new(BufReader::new(file)).map_err(|e| {
            Failure(format!(
                "{name} is not a PyTorch zip checkpoint ({e}); legacy pre-1.6 checkpoints are \
                 not supported: re-save them with a recent torch.save"
            ))
        })?;
        let pkl = zip
            .file_names()
            .filter_map(|n| n.ok().map(|n| n.into_owned()))
            .find(|n| n == "data.pkl" || (n.ends_with("/data.pkl") && n.matches('/').count() == 1))
            .ok_or_else(|| Failure(format!("{name}: no data.pkl in the archive")))?;
        let prefix = pkl.trim_end_matches("data.pkl").to_string();
        if let Ok(mut f) = zip.by_name(&format!("{prefix}byteorder")) {
            let mut s = String::new();
            f.read_to_string(&mut s).ok();
            if s.trim() != "little" {
                return Err(Failure(format!(
                    "{name}: big-endian checkpoints are not supported"
                )));
            }
        }
        let mut bytes = Vec::new();
        zip.by_name(&pkl)
            .and_then(|mut f| Ok(f.read_to_end(&mut bytes)?))
            .map_err(|e| Failure(format!("{name}: cannot read {pkl}: {e}")))?;
        let root = pickle::load(&bytes).map_err(|e| Failure(format!("{name}: {e}")))?;
        let top_level = root
            .dict_entries()
            .unwrap_or_default()
            .iter()
            .filter_map(|(k, _)| k.as_str().map(str::to_string))
            .collect();
        let state = root
            .get("state_dict")
            .or_else(|| root.get("model"))
            .unwrap_or(root);
        let items = state.dict_entries().ok_or_else(|| {
            Failure(format!(
                "{name}: no state dict (expected a Lightning checkpoint with `state_dict`, or a \
                 saved state dict)"
            ))
        })?;
        let mut entries = Vec::new();
        for (k, v) in items {
            if let (Value::Str(key), Value::Tensor(t)) = (k, v) {
                let elem = Elem::from_class(&t.storage.class)
                    .map_err(|e| Failure(format!("{name}: tensor `{key}`: {}", e.0)))?;
                entries.push(Entry {
                    key,
                    elem,
                    tensor: t,
                });
            }
        }
        if entries.is_empty() {
            return Err(Failure(format!("{name}: the state dict holds no tensors")));
        }
        Ok(Self {
            zip,
            prefix,
            entries,
            top_level,
        })
    }

    /// Read a storage's raw bytes.
    pub fn storage(&mut self, key: &str) -> Result<Vec<u8>, Failure> {
        let name = format!("{}data/{key}", self.prefix);
        let mut f = self
            .zip
            .by_name(&name)
            .map_err(|e| Failure(format!("storage {name}: {e}")))?;
        let mut bytes = Vec::with_capacity(f.size() as usize);
        f.read_to_end(&mut bytes)
            .map_err(|e| Failure(format!("storage {name}: {e}")))?;
        Ok(bytes)
    }
}

/// The elements of a tensor view (row-major), as f64, from its storage bytes.
pub fn gather(entry: &Entry, storage: &[u8]) -> Result<Vec<f64>, Failure> {
    let t = &entry.tensor;
    let es = entry.elem.size();
    let numel: usize = t.shape.iter().product();
    let bad = || {
        Failure(format!(
            "tensor `{}` reaches outside its storage `{}`",
            entry.key, t.storage.key
        ))
    };
    if storage.len() < t.storage.numel * es {
        return Err(bad());
    }
    let read = |i: usize| -> f64 {
        let b = &storage[i * es..(i + 1) * es];
        match entry.elem {
            Elem::F32 => f32::from_le_bytes(b.try_into().expect("4 bytes")) as f64,
            Elem::F16 => half::f16::from_le_bytes([b[0], b[1]]).to_f64(),
            Elem::BF16 => half::bf16::from_le_bytes([b[0], b[1]]).to_f64(),
            Elem::F64 => f64::from_le_bytes(b.try_into().expect("8 bytes")),
            Elem::Other(_) => 0.0,
        }
    };
    if numel == 0 {
        return Ok(Vec::new());
    }
    // Largest element index reached, checked before reading.
    let last = t.offset
        + t.shape
            .iter()
            .zip(&t.stride)
            .map(|(&n, &s)| (n - 1) * s)
            .sum::<usize>();
    if last >= t.storage.numel {
        return Err(bad());
    }
    let contiguous = t
        .shape
        .iter()
        .zip(&t.stride)
        .rev()
        .try_fold(1usize, |expect, (&n, &s)| {
            (n == 1 || s == expect).then_some(expect * n)
        })
        .is_some();
    if contiguous {
        return Ok((t.offset..t.offset + numel).map(read).collect());
    }
    let mut out = Vec::with_capacity(numel);
    let mut idx = vec![0usize; t.shape.len()];
    for _ in 0..numel {
        let off = t.offset + idx.iter().zip(&t.stride).map(|(i, s)| i * s).sum::<usize>();
        out.push(read(off));
        for d in (0..idx.len()).rev() {
            idx[d] += 1;
            if idx[d] < t.shape[d] {
                break;
            }
            idx[d] = 0;
        }
    }
    Ok(out)
}

/// Group entries by storage so each storage is read once.
pub fn by_storage(entries: &[Entry]) -> Vec<(String, Vec<usize>)> {
    let mut order: Vec<(String, Vec<usize>)> = Vec::new();
    let mut index: HashMap<String, usize> = HashMap::new();
    for (i, e) in entries.iter().enumerate() {
        let k = &e.tensor.storage.key;
        match index.get(k) {
            Some(&j) => order[j].1.push(i),
            None => {
                index.insert(k.clone(), order.len());
                order.push((k.clone(), vec![i]));
            }
        }
    }
    order
}
